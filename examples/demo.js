// npm start: the two worked examples of the README on the active backend (native where the addon
// is built), with what each op computes and its output, checked against the reference backend;
// then one line for each of the other ops.
'use strict';
const normkit = require('normkit');
const { tensor, layerNorm, describeLayerNorm, batchNorm, describeBatchNorm, reference } = normkit;

const fmt = (v) => v.toFixed(4).padStart(8);
const row = (values) => Array.from(values, fmt).join(' ');
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function describe(d) {
  console.log(
    `  ${d.statistics} mean/variance computations of ${d.valuesPerStatistic} values each;` +
      ` parameter shape [${d.paramShape.join(', ')}]`,
  );
}

function compare(diff) {
  if (normkit.backend === 'js') return; // the reference backend is what it would be compared with
  console.log(`  max |native - reference| = ${diff.toExponential(1)}`);
}

console.log(
  `normkit: backend ${normkit.backend}, SIMD path ${normkit.native?.simdPath() ?? 'none'},` +
    ` ${normkit.getNumThreads()} thread(s)`,
);

// LayerNorm over the last axis of a (2, 3, 4) tensor: every row of 4 values gets mean 0 and
// variance 1.
{
  const shape = [2, 3, 4];
  const values = Array.from({ length: 24 }, (_, i) => (i * 7) % 11);
  const x = tensor(values, shape);
  console.log('\nLayerNorm: input (2, 3, 4), normalizedShape [4]');
  describe(describeLayerNorm(shape, [4]));
  const y = layerNorm(x, [4]);
  console.log(`  ${'input rows'.padEnd(35)}   output rows`);
  for (let r = 0; r < 6; r++) {
    const slice = (t) => t.subarray(r * 4, r * 4 + 4);
    console.log(`  ${row(slice(x.data))}   ${row(slice(y.data))}`);
  }
  compare(maxDiff(y.data, reference.layerNorm(x, [4]).data));
}

// BatchNorm in training over a (2, 3, 4, 4) NCHW tensor: each of the 3 channels is normalized
// with the mean and biased variance of its 2 * 4 * 4 = 32 values, and the running statistics
// move 10% of the way to the batch's (unbiased) ones.
{
  const shape = [2, 3, 4, 4];
  // Channel c holds values of amplitude c + 1 around 2c.
  const values = Array.from({ length: 96 }, (_, i) => {
    const c = Math.floor(i / 16) % 3;
    return (c + 1) * Math.sin(0.7 * i) + 2 * c;
  });
  const x = tensor(values, shape);
  const runningMean = new Float32Array(3);
  const runningVar = new Float32Array(3).fill(1);
  console.log('\nBatchNorm (training): input (2, 3, 4, 4) NCHW, running mean 0, running var 1');
  describe(describeBatchNorm(shape));
  const refMean = runningMean.slice();
  const refVar = runningVar.slice();
  const y = batchNorm(x, { runningMean, runningVar, training: true });
  console.log('  output, channels side by side (each row: h = 0..3, w = 0..3):');
  for (let n = 0; n < 2; n++) {
    const labels = [0, 1, 2].map((c) => `channel ${c}`.padStart(21).padEnd(35));
    console.log(`  n = ${n}  ${labels.join('   ')}`.trimEnd());
    for (let h = 0; h < 4; h++) {
      const at = (c) => ((n * 3 + c) * 4 + h) * 4; // (n, c, h, 0) in NCHW order
      const parts = [0, 1, 2].map((c) => row(y.data.subarray(at(c), at(c) + 4)));
      console.log(`  h = ${h}  ${parts.join('   ')}`);
    }
  }
  console.log(`  running mean ${row(runningMean)}`);
  console.log(`  running var  ${row(runningVar)}`);
  const r = reference.batchNorm(x, { runningMean: refMean, runningVar: refVar, training: true });
  const diff = Math.max(
    maxDiff(y.data, r.data),
    maxDiff(runningMean, refMean),
    maxDiff(runningVar, refVar),
  );
  compare(diff);
}

// The other ops on a (2, 3, 4) input, one line each: what each computes, checked against the
// reference. Each has its own example: examples/rms-norm.js, group-norm.js, instance-norm.js,
// add-norm.js.
{
  const shape = [2, 3, 4];
  const x = tensor(
    Array.from({ length: 24 }, (_, i) => (i * 7) % 11),
    shape,
  );
  const residual = tensor(
    Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    shape,
  );
  const ops = [
    ['rmsNorm', [x, [4]], normkit.describeRmsNorm(shape, [4])],
    ['groupNorm', [x, 1], normkit.describeGroupNorm(shape, 1)], // one group of all 3 channels
    ['instanceNorm', [x], normkit.describeInstanceNorm(shape)],
    ['addLayerNorm', [x, residual, [4]], normkit.describeAddLayerNorm(shape, [4])],
    ['addRmsNorm', [x, residual, [4]], normkit.describeAddRmsNorm(shape, [4])],
  ];
  console.log('\nThe other ops on an input (2, 3, 4):');
  for (const [name, args, d] of ops) {
    const what = `${d.statistics} statistics of ${d.valuesPerStatistic} values`;
    const output = (r) => r.output?.data ?? r.data;
    const diff = maxDiff(output(normkit[name](...args)), output(reference[name](...args)));
    const check =
      normkit.backend === 'js' ? '' : `; max |native - reference| = ${diff.toExponential(1)}`;
    console.log(`  ${name.padEnd(13)} ${what}${check}`);
  }
  console.log('  (examples/rms-norm.js, group-norm.js, instance-norm.js, add-norm.js)');
}
