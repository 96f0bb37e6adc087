// GroupNorm: torch.nn.functional.group_norm. Statistics per sample and group of C / numGroups
// channels over those channels and the spatial axes; per-channel weight and bias.
import { defineOp, flag, input, output, param, saved, scalar, size } from '../op';
import { groupNormForward } from '../reference/group-norm';
import { channelSizes, invalid } from '../validate';

export const groupNormOp = defineOp({
  name: 'groupNorm',
  kernel: 'groupNormForward',
  cxx: 'group_norm_forward',
  conformance: 'group_norm',
  params: [
    { kind: 'tensor', name: 'input' },
    { kind: 'count', name: 'numGroups' },
    { kind: 'options' },
  ],
  options: {
    weight: { kind: 'array', arg: 'weight' },
    bias: { kind: 'array', arg: 'bias' },
    eps: { kind: 'eps', arg: 'eps', default: 1e-5 },
    layout: { kind: 'layout', arg: 'channelsLast' },
    out: { kind: 'array', arg: 'out' },
  },
  args: [
    input('input', 'input.data', ['batch', 'channels', 'spatial']),
    size('batch'),
    size('channels'),
    size('spatial'),
    size('groups'),
    flag('channelsLast', 'layout'),
    param('weight', ['channels']),
    param('bias', ['channels']),
    scalar('eps', 'eps'),
    output('out', ['batch', 'channels', 'spatial'], ['input']),
    saved('saveMean', ['batch', 'groups']),
    saved('saveRstd', ['batch', 'groups']),
  ],
  sizes(s) {
    const t = s.tensors.input;
    const z = channelSizes(t.label, t.shape, 2, Infinity);
    const groups = s.counts.numGroups;
    if (z.channels % groups !== 0) {
      throw invalid(
        'range',
        'numGroups',
        `a divisor of the ${z.channels} channels of ${t.label} [${t.shape.join(', ')}]`,
        groups,
      );
    }
    // One statistic per (sample, group): with zero channels any count divides them, so the
    // product is bounded here (the shape's bound only covers its non-zero dimensions).
    if (z.batch * groups > Number.MAX_SAFE_INTEGER) {
      throw invalid(
        'range',
        'numGroups',
        `at most 2^53 statistics (${z.batch} samples × numGroups) for ${t.label} [${t.shape.join(', ')}]`,
        groups,
      );
    }
    return { ...z, groups };
  },
  describe: (z) => ({
    statistics: z.batch * z.groups,
    valuesPerStatistic: (z.channels / z.groups) * z.spatial,
    paramShape: [z.channels],
  }),
  results: 'out',
  reference: groupNormForward,
  // [32, 64, 56, 56] is 25.7 MB (in a 32 MiB last-level cache); [512, 64, 56, 56] 392 MiB.
  bench: [
    ...(['channels_first', 'channels_last'] as const).flatMap((layout) => {
      const label = `GN G=32 ${layout === 'channels_last' ? 'NHWC' : 'NCHW'}`;
      const common = { label, counts: { numGroups: 32 }, options: { layout } };
      return [
        { ...common, shape: [32, 64, 56, 56], large: true, targets: { copyRatio: 0.85 } },
        { ...common, shape: [512, 64, 56, 56], outOfCache: true, targets: { limitRatio: 0.9 } },
      ];
    }),
  ],
});
