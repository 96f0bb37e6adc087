// GroupNorm, as in the README: the function, the class, both layouts, and how it relates to
// LayerNorm and InstanceNorm.
'use strict';
const assert = require('node:assert');
const {
  tensor,
  groupNorm,
  describeGroupNorm,
  GroupNorm,
  layerNorm,
  instanceNorm,
} = require('normkit');

const close = (a, b) => a.every((v, i) => Math.abs(v - b[i]) < 1e-5);

// 2 images of 6 channels, 4 x 4 pixels (NCHW), normalized in 3 groups of 2 channels.
const shape = [2, 6, 4, 4];
const x = tensor(
  Array.from({ length: 2 * 6 * 16 }, (_, i) => Math.sin(0.3 * i) * (1 + (i % 7))),
  shape,
);
console.log(describeGroupNorm(shape, 3)); // { statistics: 6, valuesPerStatistic: 32, paramShape: [ 6 ] }
const y = groupNorm(x, 3);

// Each (image, group) block of 2 * 16 values now has mean 0 and variance ~1.
const block = y.data.subarray(32, 64); // image 0, group 1 (channels 2 and 3)
const mean = block.reduce((a, v) => a + v, 0) / block.length;
const variance = block.reduce((a, v) => a + (v - mean) ** 2, 0) / block.length;
assert.ok(Math.abs(mean) < 1e-6);
console.log(`group variance ${variance.toFixed(4)}`); // group variance 1.0000

// Per-channel weight and bias (C values), eps, and an output buffer of your own.
const weight = new Float32Array([1, 2, 1, 2, 1, 2]);
const bias = new Float32Array([0, 0, 1, 1, -1, -1]);
const out = new Float32Array(x.data.length);
groupNorm(x, 3, { weight, bias, eps: 1e-6, out });

// One group is LayerNorm over (C, H, W) (without the per-channel affine); one group per
// channel is InstanceNorm.
assert.ok(close(groupNorm(x, 1).data, layerNorm(x, [6, 4, 4]).data));
assert.ok(close(groupNorm(x, 6).data, instanceNorm(x).data));

// channels_last: the data is stored (N, H, W, C); `shape` stays the logical (N, C, H, W).
const nhwc = new Float32Array(x.data.length);
for (let n = 0; n < 2; n++)
  for (let c = 0; c < 6; c++)
    for (let p = 0; p < 16; p++) nhwc[(n * 16 + p) * 6 + c] = x.data[(n * 6 + c) * 16 + p];
const yLast = groupNorm(tensor(nhwc, shape), 3, { layout: 'channels_last' });
assert.ok(Math.abs(yLast.data[5 * 6 + 2] - y.data[2 * 16 + 5]) < 1e-5); // (n 0, c 2, pixel 5)

// The class, torch.nn.GroupNorm(numGroups, numChannels): weight ones, bias zeros.
const gn = new GroupNorm(3, 6);
assert.ok(close(gn.forward(x).data, y.data));
gn.weight.set(weight);
gn.bias.set(bias);
const restored = new GroupNorm(3, 6, { eps: 1e-6 });
restored.loadStateDict(gn.stateDict()); // { weight, bias }
assert.ok(close(restored.forward(x).data, out));

// The channels must split evenly into the groups.
assert.throws(() => groupNorm(x, 4), {
  name: 'RangeError',
  message:
    'Expected a divisor of the 6 channels of input.shape [2, 6, 4, 4] for numGroups, but received 4',
});
console.log('group-norm example: ok');
