// LayerNorm, as in the README: the function, the class, and their options.
'use strict';
const assert = require('node:assert');
const { tensor, layerNorm, describeLayerNorm, LayerNorm } = require('normkit');

// A batch of 2 sequences of 3 tokens with 4 features each.
const x = tensor(
  Array.from({ length: 24 }, (_, i) => (i * 7) % 11),
  [2, 3, 4],
);

// What it computes: one mean/variance per token (2 * 3), over its 4 features.
console.log(describeLayerNorm(x.shape, [4])); // { statistics: 6, valuesPerStatistic: 4, paramShape: [ 4 ] }

// The function: normalizedShape is a number or the trailing dimensions as an array.
const y = layerNorm(x, 4);
console.log('row 0:', Array.from(y.data.subarray(0, 4), (v) => v.toFixed(4)).join(' '));

// Per-feature scale and shift, and a larger eps.
const weight = new Float32Array([1, 2, 1, 2]);
const bias = new Float32Array([0, 0, 1, 1]);
const z = layerNorm(x, [4], { weight, bias, eps: 1e-3 });
console.log(
  'row 0 with weight, bias:',
  Array.from(z.data.subarray(0, 4), (v) => v.toFixed(4)).join(' '),
);

// Normalizing over the last two axes: one statistic per sequence, over 3 * 4 values.
console.log(describeLayerNorm(x.shape, [3, 4])); // { statistics: 2, valuesPerStatistic: 12, paramShape: [ 3, 4 ] }
layerNorm(x, [3, 4]);

// Writing into a buffer of your own, or in place over the input.
const out = new Float32Array(24);
layerNorm(x, [4], { out });
const copy = tensor(x.data.slice(), x.shape);
layerNorm(copy, [4], { out: copy.data });
assert.deepStrictEqual(copy.data, out);

// The class, torch.nn.LayerNorm: weight (ones) and bias (zeros) it owns.
const ln = new LayerNorm([4], { eps: 1e-5 });
assert.deepStrictEqual(ln.forward(x).data, y.data);
ln.weight.set([1, 2, 1, 2]);
ln.bias.set([0, 0, 1, 1]);
const state = ln.stateDict(); // { weight: Float32Array(4), bias: Float32Array(4) }, copies
const other = new LayerNorm(4);
other.loadStateDict(state);
assert.deepStrictEqual(other.forward(x).data, layerNorm(x, [4], { weight, bias }).data);

// Without learnable parameters: stateDict() is {}.
const plain = new LayerNorm(4, { elementwiseAffine: false });
assert.deepStrictEqual(plain.stateDict(), {});
assert.deepStrictEqual(plain.forward(x).data, y.data);

// Wrong arguments throw before anything is written.
assert.throws(() => layerNorm(x, [3]), {
  name: 'RangeError',
  message:
    'Expected the trailing dimensions of input shape [2, 3, 4] for normalizedShape, but received [3]',
});
console.log('layer-norm example: ok');
