// The fused residual add + norm of a transformer block, as in the README: addLayerNorm and
// addRmsNorm, the residual stream updated in place, and the unfused pair they replace.
'use strict';
const assert = require('node:assert');
const {
  tensor,
  addLayerNorm,
  addRmsNorm,
  describeAddLayerNorm,
  describeAddRmsNorm,
  layerNorm,
  rmsNorm,
} = require('normkit');

const tokens = 4;
const hidden = 8;
const shape = [tokens, hidden];
const wave = (phase) =>
  new Float32Array(tokens * hidden).map((_, i) => Math.sin(0.37 * i + phase) * 2);

console.log(describeAddLayerNorm(shape, hidden)); // { statistics: 4, valuesPerStatistic: 8, paramShape: [ 8 ] }
console.log(describeAddRmsNorm(shape, hidden)); // the same: one statistic per token

// One call: sum = input + residual, output = layerNorm(sum). Both come back.
const input = tensor(wave(0), shape); // e.g. an attention block's output
const residual = tensor(wave(1), shape); // the residual stream
const { output, sum } = addLayerNorm(input, residual, hidden);

// The unfused pair it replaces, with one pass over memory more.
const sumAgain = new Float32Array(tokens * hidden).map((_, i) => input.data[i] + residual.data[i]);
assert.deepStrictEqual(sum.data, sumAgain);
const pair = layerNorm(tensor(sumAgain, shape), hidden);
assert.ok(output.data.every((v, i) => Math.abs(v - pair.data[i]) < 1e-5));

// A block loop as inference engines write it: the residual stream is updated in place
// (sumOut: residual.data) and the normalized output goes to a buffer reused every layer.
const stream = tensor(wave(1), shape);
const normed = new Float32Array(tokens * hidden);
const weight = new Float32Array(hidden).fill(1);
for (let layer = 0; layer < 3; layer++) {
  const blockOutput = tensor(wave(layer), shape); // stands for attention or MLP output
  addRmsNorm(blockOutput, stream, hidden, { weight, eps: 1e-6, out: normed, sumOut: stream.data });
}
console.log('stream[0..3]', Array.from(stream.data.subarray(0, 4), (v) => v.toFixed(4)).join(' '));
const rms = rmsNorm(stream, hidden, { weight, eps: 1e-6 });
assert.ok(normed.every((v, i) => Math.abs(v - rms.data[i]) < 1e-5)); // the last layer's norm

// out and sumOut may each be input.data or residual.data, but not the same array.
assert.throws(
  () => addLayerNorm(input, residual, hidden, { out: residual.data, sumOut: residual.data }),
  { name: 'RangeError' },
);
console.log('add-norm example: ok');
