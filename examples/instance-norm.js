// InstanceNorm, as in the README: the function, running statistics, and the classes.
'use strict';
const assert = require('node:assert');
const {
  tensor,
  instanceNorm,
  describeInstanceNorm,
  InstanceNorm1d,
  InstanceNorm2d,
  InstanceNorm3d,
  InstanceNormBase,
  RunningStatsModule,
} = require('normkit');

const round = (a) => Array.from(a, (v) => Number(v.toFixed(4)));

// 2 samples of 3 channels with 4 values each, (N, C, L): every (sample, channel) row of 4 is
// normalized on its own.
const x = tensor(
  [1, 2, 3, 4, 0, 0, 4, 4, 2, 4, 6, 8, 5, 6, 7, 8, 1, 1, 1, 5, 0, 10, 20, 30],
  [2, 3, 4],
);
console.log(describeInstanceNorm(x.shape)); // { statistics: 6, valuesPerStatistic: 4, paramShape: [ 3 ] }
const y = instanceNorm(x);
console.log('sample 0, channel 0:', round(y.data.subarray(0, 4))); // [ -1.3416, -0.4472, 0.4472, 1.3416 ]

// Running statistics, when given, are updated as PyTorch does: each channel moves towards the
// mean over the batch of its per-instance means (and unbiased variances).
const runningMean = new Float32Array(3);
const runningVar = new Float32Array(3).fill(1);
instanceNorm(x, { runningMean, runningVar, momentum: 0.1 });
console.log('running mean', round(runningMean)); // [ 0.45, 0.2, 1 ]: 0.1 * the means of (2.5, 6.5), (2, 2), (5, 15)

// useInputStats: false normalizes with the running statistics instead (as an InstanceNorm
// module in eval mode with trackRunningStats).
const z = instanceNorm(x, { runningMean, runningVar, useInputStats: false });
assert.deepStrictEqual(z.shape, x.shape);

// The classes: InstanceNorm1d (N, C, L), InstanceNorm2d (N, C, H, W), InstanceNorm3d
// (N, C, D, H, W); each also takes an unbatched input without N. As in PyTorch, affine and
// trackRunningStats default to false.
const norm = new InstanceNorm1d(3);
assert.deepStrictEqual(norm.forward(x).data, y.data);
const unbatched = norm.forward(tensor(x.data.subarray(0, 12), [3, 4])); // (C, L)
assert.deepStrictEqual(unbatched.shape, [3, 4]);
assert.deepStrictEqual(unbatched.data, y.data.subarray(0, 12));

// With trackRunningStats: training updates the running statistics, eval uses them.
const tracked = new InstanceNorm2d(3, { affine: true, trackRunningStats: true });
const images = tensor(
  new Float32Array(2 * 3 * 4 * 4).map((_, i) => Math.cos(i)),
  [2, 3, 4, 4],
);
tracked.forward(images); // training (the initial mode)
tracked.eval().forward(images); // the running statistics
console.log(Object.keys(tracked.stateDict()).join(', ')); // weight, bias, running_mean, running_var, num_batches_tracked
const copy = new InstanceNorm2d(3, { affine: true, trackRunningStats: true });
copy.loadStateDict(tracked.stateDict());
assert.deepStrictEqual(copy.runningMean, tracked.runningMean);

// channels_last, and the shared bases (PyTorch's _InstanceNorm and _NormBase).
const volumes = new InstanceNorm3d(2, { layout: 'channels_last' }); // data (N, D, H, W, C)
volumes.forward(tensor(new Float32Array(2 * 2 * 2 * 2 * 2).map(Math.sin), [2, 2, 2, 2, 2]));
assert.ok(volumes instanceof InstanceNormBase && volumes instanceof RunningStatsModule);

// Each instance needs more than one value to normalize.
assert.throws(() => instanceNorm(tensor([1, 2, 3], [1, 3, 1])), { name: 'RangeError' });
console.log('instance-norm example: ok');
