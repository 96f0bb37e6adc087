// RMSNorm, as in the README: the function, the class, and the default eps.
'use strict';
const assert = require('node:assert');
const { tensor, rmsNorm, describeRmsNorm, RMSNorm, reference } = require('normkit');

const fmt = (a) => Array.from(a, (v) => v.toFixed(4)).join(' ');

// 2 tokens of 4 features: each row is divided by its root mean square (no centring, no bias).
const x = tensor([1, 2, 3, 4, -2, 0, 2, 4], [2, 4]);
console.log(describeRmsNorm(x.shape, 4)); // { statistics: 2, valuesPerStatistic: 4, paramShape: [ 4 ] }
const y = rmsNorm(x, 4);
console.log('rows:', fmt(y.data)); // rows: 0.3651 0.7303 1.0954 1.4606 -0.8165 0.0000 0.8165 1.6330

// The same in float64: x / sqrt(mean(x^2) + eps), with PyTorch's default eps for float32 input
// (2^-23, float32's machine epsilon; pass eps: 1e-6 to match a model trained with that).
const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 2 ** -23);
assert.ok(Math.abs(y.data[3] - 4 / rms) < 1e-6);
assert.deepStrictEqual(rmsNorm(x, 4, { eps: null }).data, y.data); // null is the default too

// A per-feature weight and an eps of your own, written into a buffer you own (or in place).
const weight = new Float32Array([1, 1, 0.5, 0.5]);
const out = new Float32Array(8);
rmsNorm(x, [4], { weight, eps: 1e-6, out });
console.log('weighted:', fmt(out)); // weighted: 0.3651 0.7303 0.5477 0.7303 -0.8165 0.0000 0.4082 0.8165
const inPlace = tensor(x.data.slice(), x.shape);
rmsNorm(inPlace, 4, { weight, eps: 1e-6, out: inPlace.data });
assert.deepStrictEqual(inPlace.data, out);

// The class, torch.nn.RMSNorm: it owns its weight (ones); eps null means the default.
const norm = new RMSNorm([4]);
assert.deepStrictEqual(norm.forward(x).data, y.data);
norm.weight.set(weight);
const copy = new RMSNorm(4, { eps: 1e-6 });
copy.loadStateDict(norm.stateDict()); // { weight }, copied both ways
assert.deepStrictEqual(copy.weight, weight);
assert.deepStrictEqual(new RMSNorm(4, { elementwiseAffine: false }).stateDict(), {});

// The active backend and the float64 reference agree to float32 rounding.
const big = tensor(
  new Float32Array(64 * 768).map((_, i) => Math.sin(i)),
  [64, 768],
);
const fast = rmsNorm(big, 768).data;
const exact = reference.rmsNorm(big, 768).data;
assert.ok(fast.every((v, i) => Math.abs(v - exact[i]) < 1e-5));
console.log('rms-norm example: ok');
