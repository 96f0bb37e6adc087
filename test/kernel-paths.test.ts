// Every native kernel path against the reference: the AVX-512 and portable tiers
// (NORMKIT_SIMD) and both store policies (NORMKIT_STREAMING), each in a child process because
// both are read once when the addon loads. Shapes cover unaligned heads, masked tails, channel
// periods of 16 to 64 values and beyond, and threads splitting mid-plane.
import { expect } from 'chai';
import * as normkit from 'normkit';
import { childScript, parseReport, runNode } from './helpers/tensors';

const CHECK = `
function rng(seed) { return () => { seed |= 0; seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
const r = rng(7);
const rand = (n, mean = 0, std = 1) => Float32Array.from({ length: n }, () => mean + std * (r() * 2 - 1));
let worst = 0;
const diff = (a, b) => { for (let i = 0; i < a.length; i++) {
  const d = Math.abs(a[i] - b[i]) / (1e-5 + 1e-5 * Math.abs(b[i])); if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d; } };
const lnShapes = [[5, 1], [3, 17], [7, 100], [4, 129], [2, 4097], [33, 768]];
for (const [rows, cols] of lnShapes) for (const offset of [0, 1e4]) {
  const x = { data: rand(rows * cols, offset, offset ? 0.01 : 1), shape: [rows, cols] };
  const w = rand(cols), b = rand(cols);
  // A view at an odd offset makes the output unaligned, so the streaming head is exercised.
  const out = new Float32Array(rows * cols + 3).subarray(3);
  diff(nk.layerNorm(x, cols, { weight: w, bias: b, out }).data, nk.reference.layerNorm(x, cols, { weight: w, bias: b }).data);
}
const bnShapes = [[4, 3, 5], [3, 16, 7], [2, 32, 9], [5, 48, 3], [2, 64, 11], [3, 80, 2], [6, 13, 1], [2, 256, 9], [9, 5, 130]];
for (const [n, c, s] of bnShapes) for (const layout of ['channels_first', 'channels_last']) for (const training of [true, false]) {
  const x = { data: rand(n * c * s, 3, 2), shape: [n, c, s] };
  const mk = () => ({ runningMean: rand(c), runningVar: Float32Array.from(rand(c), (v) => 1 + Math.abs(v)) });
  const a = mk(), b = { runningMean: a.runningMean.slice(), runningVar: a.runningVar.slice() };
  const w = rand(c), bias = rand(c);
  const out = new Float32Array(x.data.length + 1).subarray(1);
  const y = nk.batchNorm(x, { ...a, weight: w, bias, training, layout, out });
  const z = nk.reference.batchNorm(x, { ...b, weight: w, bias, training, layout });
  diff(y.data, z.data); diff(a.runningMean, b.runningMean); diff(a.runningVar, b.runningVar);
}
result = { worst, simd: nk.native.simdPath() };
`;

describe('kernel paths (child processes)', function () {
  this.timeout(60000);
  before(function () {
    if (normkit.backend !== 'native') this.skip();
  });

  for (const simd of ['', 'generic']) {
    for (const streaming of ['always', 'never']) {
      it(`matches the reference with NORMKIT_SIMD=${simd || '(default)'} NORMKIT_STREAMING=${streaming}`, () => {
        const env = { NORMKIT_SIMD: simd || undefined, NORMKIT_STREAMING: streaming };
        for (const threads of ['1', '2']) {
          const report = parseReport<{ worst: number; simd: string }>(
            runNode(['-e', childScript(CHECK)], { ...env, NORMKIT_NUM_THREADS: threads }),
          );
          if (simd === 'generic') expect(report.result.simd).to.not.equal('avx512');
          // worst is |got - expected| in units of the 1e-5 + 1e-5 * |expected| tolerance.
          expect(report.result.worst, `threads ${threads}`).to.be.at.most(1);
        }
      });
    }
  }
});
