// InstanceNorm: torch.nn.functional.instance_norm. Statistics per sample and channel over the
// spatial axes; running statistics, when given, updated with the batch mean of the per-instance
// updates (unbiased variance), as PyTorch does.
import { defineOp, flag, input, output, param, saved, scalar, size, state } from '../op';
import { instanceNormForward } from '../reference/instance-norm';
import { channelSizes, invalid } from '../validate';

export const instanceNormOp = defineOp({
  name: 'instanceNorm',
  kernel: 'instanceNormForward',
  cxx: 'instance_norm_forward',
  conformance: 'instance_norm',
  params: [{ kind: 'tensor', name: 'input' }, { kind: 'options' }],
  options: {
    runningMean: { kind: 'array', arg: 'runningMean' },
    runningVar: { kind: 'array', arg: 'runningVar' },
    weight: { kind: 'array', arg: 'weight' },
    bias: { kind: 'array', arg: 'bias' },
    useInputStats: { kind: 'bool', arg: 'useInputStats', default: true },
    momentum: { kind: 'number', arg: 'momentum', default: 0.1 },
    eps: { kind: 'eps', arg: 'eps', default: 1e-5 },
    layout: { kind: 'layout', arg: 'channelsLast' },
    out: { kind: 'array', arg: 'out' },
  },
  args: [
    input('input', 'input.data', ['batch', 'channels', 'spatial']),
    size('batch'),
    size('channels'),
    size('spatial'),
    flag('channelsLast', 'layout'),
    param('weight', ['channels']),
    param('bias', ['channels']),
    state('runningMean', ['channels'], 'useInputStats'),
    state('runningVar', ['channels'], 'useInputStats'),
    flag('useInputStats', 'useInputStats'),
    scalar('momentum', 'momentum'),
    scalar('eps', 'eps'),
    output('out', ['batch', 'channels', 'spatial'], ['input']),
    saved('saveMean', ['batch', 'channels']),
    saved('saveRstd', ['batch', 'channels']),
  ],
  sizes: (s) => channelSizes(s.tensors.input.label, s.tensors.input.shape, 2, Infinity),
  check(a, s) {
    if (a.useInputStats) {
      if (a.spatial === 1) {
        throw invalid(
          'range',
          s.tensors.input.label,
          'more than 1 spatial value per channel with useInputStats',
          s.tensors.input.shape,
        );
      }
    } else if (!a.runningMean || !a.runningVar) {
      throw invalid(
        'range',
        'runningMean and runningVar',
        'Float32Arrays when useInputStats is false',
        null,
      );
    }
  },
  describe: (z) => ({
    statistics: z.batch * z.channels,
    valuesPerStatistic: z.spatial,
    paramShape: [z.channels],
  }),
  results: 'out',
  reference: instanceNormForward,
  // With affine parameters and no running statistics (InstanceNorm2d({ affine: true })).
  bench: (['channels_first', 'channels_last'] as const).map((layout) => ({
    label: `IN2d ${layout === 'channels_last' ? 'NHWC' : 'NCHW'}`,
    shape: [32, 64, 56, 56],
    options: { layout },
    large: true,
  })),
});
