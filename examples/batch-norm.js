// BatchNorm, as in the README: the function and the classes, training and eval, channels_last,
// and state dicts.
'use strict';
const assert = require('node:assert');
const { tensor, batchNorm, describeBatchNorm, BatchNorm1d, BatchNorm2d } = require('normkit');

const round = (a) => Array.from(a, (v) => Number(v.toFixed(4)));

// A batch of 2 images with 3 channels of 4 x 4 pixels (NCHW); channel c is centred on 2c.
const shape = [2, 3, 4, 4];
const values = Array.from({ length: 96 }, (_, i) => {
  const c = Math.floor(i / 16) % 3;
  return (c + 1) * Math.sin(0.7 * i) + 2 * c;
});
const x = tensor(values, shape);
console.log(describeBatchNorm(shape)); // { statistics: 3, valuesPerStatistic: 32, paramShape: [ 3 ] }

// Training: batch statistics; the running statistics are updated in place
// (running = 0.9 * running + 0.1 * batch, with the unbiased batch variance).
const runningMean = new Float32Array(3);
const runningVar = new Float32Array(3).fill(1);
const y = batchNorm(x, { runningMean, runningVar, training: true, momentum: 0.1 });
console.log('running mean', round(runningMean), 'running var', round(runningVar));

// Eval (the default, training: false): the running statistics, which must be given.
const weight = new Float32Array([1, 0.5, 2]);
const bias = new Float32Array([0, 1, -1]);
const e = batchNorm(x, { runningMean, runningVar, weight, bias });
console.log('eval, first values of channel 1:', round(e.data.subarray(16, 20)));
assert.throws(() => batchNorm(x), { name: 'RangeError' }); // eval without running statistics

// channels_last: the data is stored (N, H, W, C); `shape` stays the logical (N, C, H, W).
const nhwc = new Float32Array(96);
for (let n = 0; n < 2; n++)
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < 16; p++) nhwc[(n * 16 + p) * 3 + c] = x.data[(n * 3 + c) * 16 + p];
const yLast = batchNorm(tensor(nhwc, shape), { training: true, layout: 'channels_last' });
assert.ok(Math.abs(yLast.data[3 * 5 + 1] - y.data[16 + 5]) < 1e-5); // (n 0, c 1, h 1, w 1)

// The classes: BatchNorm2d for (N, C, H, W), BatchNorm1d for (N, C) or (N, C, L), BatchNorm3d
// for (N, C, D, H, W). They start in training mode with weight 1, bias 0, running mean 0, var 1.
const bn = new BatchNorm2d(3);
bn.forward(x); // training: normalizes with batch statistics, updates the running ones
assert.deepStrictEqual(bn.runningMean, runningMean);
assert.strictEqual(bn.numBatchesTracked, 1);
bn.eval(); // now uses the running statistics; bn.train() switches back
const inference = bn.forward(x);
console.log('BatchNorm2d eval, first values:', round(inference.data.subarray(0, 4)));

// State under PyTorch's keys, copied; loadStateDict checks every key and length first.
const state = bn.stateDict();
console.log(Object.keys(state).join(', ')); // weight, bias, running_mean, running_var, num_batches_tracked
const restored = new BatchNorm2d(3).eval();
restored.loadStateDict(state);
assert.deepStrictEqual(restored.forward(x).data, inference.data);

// momentum: null is a cumulative moving average: after k batches the running mean is the
// plain average of the k batch means.
const cma = new BatchNorm1d(2, { momentum: null, affine: false });
cma.forward(tensor([1, 10, 3, 30], [2, 2])); // batch means 2, 20
cma.forward(tensor([5, 50, 7, 70], [2, 2])); // batch means 6, 60
console.log('CMA running mean', round(cma.runningMean)); // [4, 40]

// channels_last modules take the logical shape too.
const bnLast = new BatchNorm2d(3, { layout: 'channels_last' });
assert.deepStrictEqual(bnLast.forward(tensor(nhwc, shape)).data, yLast.data);

// Training needs more than one value per channel, as in PyTorch.
assert.throws(() => new BatchNorm1d(3).forward(tensor([1, 2, 3], [1, 3])), {
  name: 'RangeError',
  message:
    'Expected more than 1 value per channel when training for input.shape, but received [1, 3]',
});
console.log('batch-norm example: ok');
