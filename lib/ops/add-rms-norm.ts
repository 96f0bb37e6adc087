// Fused residual RMSNorm: sum = input + residual, output = rmsNorm(sum), one pass.
import { defineOp, describeRows, input, output, param, saved, scalar, size } from '../op';
import { addRmsNormForward } from '../reference/rms-norm';
import { checkSameShape, checkTrailingDims } from '../validate';

export const addRmsNormOp = defineOp({
  name: 'addRmsNorm',
  kernel: 'addRmsNormForward',
  cxx: 'add_rms_norm_forward',
  params: [
    { kind: 'tensor', name: 'input' },
    { kind: 'tensor', name: 'residual' },
    { kind: 'normalizedShape' },
    { kind: 'options' },
  ],
  options: {
    weight: { kind: 'array', arg: 'weight' },
    eps: { kind: 'eps', arg: 'eps', default: 2 ** -23, nullable: true },
    out: { kind: 'array', arg: 'out' },
    sumOut: { kind: 'array', arg: 'sumOut' },
  },
  args: [
    input('input', 'input.data', ['rows', 'cols']),
    input('residual', 'residual.data', ['rows', 'cols']),
    size('rows'),
    size('cols'),
    param('weight', ['cols']),
    scalar('eps', 'eps'),
    output('out', ['rows', 'cols'], ['input', 'residual']),
    output('sumOut', ['rows', 'cols'], ['input', 'residual']),
    saved('saveRstd', ['rows']),
  ],
  sizes(s) {
    checkSameShape(s.tensors.residual, s.tensors.input);
    const [rows, cols] = checkTrailingDims(s.tensors.input.shape, s.normalizedShape);
    return { rows, cols };
  },
  describe: describeRows,
  results: { output: 'out', sum: 'sumOut' },
  reference: addRmsNormForward,
  unfused: 'rmsNorm',
  bench: [
    {
      label: 'Add+RMS',
      id: 'addrmsnorm',
      shape: [8192, 768],
      large: true,
      targets: { pairRatio: 1.2 },
    },
  ],
});
