const { tensor, layerNorm, rmsNorm, batchNorm, groupNorm, setNumThreads } = require('normkit');

// Median time of `runs` calls of fn, in ms.
function median(fn, runs = 31) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[runs >> 1];
}

const cases = [
  ['LN [8192, 768]', [8192, 768], (x, out) => layerNorm(x, 768, { out })],
  ['RMS [8192, 768]', [8192, 768], (x, out) => rmsNorm(x, 768, { out })],
  ['BN2d eval NCHW [32, 64, 56, 56]', [32, 64, 56, 56], (x, out) => batchNorm(x, { runningMean: new Float32Array(64), runningVar: new Float32Array(64).fill(1), out })],
  ['GN G=32 NCHW [32, 64, 56, 56]', [32, 64, 56, 56], (x, out) => groupNorm(x, 32, { out })],
];
for (const threads of [1, 2]) {
  setNumThreads(threads);
  for (const [name, shape, op] of cases) {
    const x = tensor(new Float32Array(shape.reduce((a, b) => a * b)).map(Math.sin), shape);
    const out = new Float32Array(x.data.length);
    const withOut = median(() => op(x, out));
    const allocating = median(() => op(x, undefined));
    console.log(`${name} | ${threads} | ${withOut.toFixed(2)} ms | ${allocating.toFixed(2)} ms`);
  }
}
