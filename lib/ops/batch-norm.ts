// BatchNorm: torch.nn.functional.batch_norm on a logical (N, C, ...spatial) shape of rank 2 to 5.
import { defineOp, flag, input, output, param, saved, scalar, size, state } from '../op';
import { batchNormForward } from '../reference/batch-norm';
import { channelSizes, invalid } from '../validate';

const BN_ARRAYS = ['runningMean', 'runningVar', 'weight', 'bias'];

export const batchNormOp = defineOp({
  name: 'batchNorm',
  kernel: 'batchNormForward',
  cxx: 'batch_norm_forward',
  conformance: 'batch_norm',
  params: [{ kind: 'tensor', name: 'input' }, { kind: 'options' }],
  options: {
    runningMean: { kind: 'array', arg: 'runningMean' },
    runningVar: { kind: 'array', arg: 'runningVar' },
    weight: { kind: 'array', arg: 'weight' },
    bias: { kind: 'array', arg: 'bias' },
    training: { kind: 'bool', arg: 'training', default: false },
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
    state('runningMean', ['channels'], 'training'),
    state('runningVar', ['channels'], 'training'),
    flag('training', 'training'),
    scalar('momentum', 'momentum'),
    scalar('eps', 'eps'),
    output('out', ['batch', 'channels', 'spatial'], ['input']),
    saved('saveMean', ['channels']),
    saved('saveRstd', ['channels']),
  ],
  sizes: (s) => channelSizes(s.tensors.input.label, s.tensors.input.shape, 2, 5),
  check(a, s) {
    if (a.training) {
      if ((a.batch as number) * (a.spatial as number) === 1 && (a.channels as number) > 0) {
        throw invalid(
          'range',
          s.tensors.input.label,
          'more than 1 value per channel when training',
          s.tensors.input.shape,
        );
      }
    } else if (!a.runningMean || !a.runningVar) {
      throw invalid(
        'range',
        'runningMean and runningVar',
        'Float32Arrays in eval mode (training: false)',
        null,
      );
    }
  },
  describe: (z) => ({
    statistics: z.channels,
    valuesPerStatistic: z.batch * z.spatial,
    paramShape: [z.channels],
  }),
  results: 'out',
  reference: batchNormForward,
  // [32, 64, 56, 56] is 25.7 MB (in a 32 MiB last-level cache); [512, 64, 56, 56] 392 MiB.
  bench: [
    ...[true, false].flatMap((training) =>
      (['channels_first', 'channels_last'] as const).flatMap((layout) => {
        const label = `BN2d ${training ? 'train' : 'eval'} ${layout === 'channels_last' ? 'NHWC' : 'NCHW'}`;
        const common = { label, options: { training, layout }, arrays: BN_ARRAYS };
        const inCache = training
          ? { copyTime: layout === 'channels_last' ? 1.5 : 1.25 }
          : { copyRatio: 0.85 };
        const limit = training ? (layout === 'channels_last' ? 0.6 : 0.75) : 0.9;
        return [
          { ...common, shape: [32, 64, 56, 56], large: true, targets: inCache },
          { ...common, shape: [8, 256, 14, 14], targets: training ? {} : { copyRatio: 0.85 } },
          { ...common, shape: [512, 64, 56, 56], outOfCache: true, targets: { limitRatio: limit } },
        ];
      }),
    ),
    {
      label: 'BN1d train',
      shape: [65536, 64],
      options: { training: true },
      arrays: BN_ARRAYS,
      large: true,
      targets: { copyRatio: 0.85 },
    },
    // Issue 7's small-call target, validation included.
    {
      label: 'BN eval latency',
      shape: [1, 64, 1, 1],
      arrays: BN_ARRAYS,
      kind: 'latency',
      targets: { latencyUs: 0.6 },
    },
  ],
});
