// RMSNorm: torch.nn.functional.rms_norm, y = x / sqrt(mean(x^2) + eps) * weight over the
// trailing normalizedShape axes. eps absent or null is float32's epsilon, 2^-23, as PyTorch 2.4+
// uses for float32 input.
import { defineOp, describeRows, input, output, param, saved, scalar, size } from '../op';
import { rmsNormForward } from '../reference/rms-norm';
import { checkTrailingDims } from '../validate';

export const rmsNormOp = defineOp({
  name: 'rmsNorm',
  kernel: 'rmsNormForward',
  cxx: 'rms_norm_forward',
  conformance: 'rms_norm',
  params: [{ kind: 'tensor', name: 'input' }, { kind: 'normalizedShape' }, { kind: 'options' }],
  options: {
    weight: { kind: 'array', arg: 'weight' },
    eps: { kind: 'eps', arg: 'eps', default: 2 ** -23, nullable: true },
    out: { kind: 'array', arg: 'out' },
  },
  args: [
    input('input', 'input.data', ['rows', 'cols']),
    size('rows'),
    size('cols'),
    param('weight', ['cols']),
    scalar('eps', 'eps'),
    output('out', ['rows', 'cols'], ['input']),
    saved('saveRstd', ['rows']),
  ],
  sizes(s) {
    const [rows, cols] = checkTrailingDims(s.tensors.input.shape, s.normalizedShape);
    return { rows, cols };
  },
  describe: describeRows,
  results: 'out',
  reference: rmsNormForward,
  bench: [
    { label: 'RMS', shape: [8192, 768], large: true, targets: { copyRatio: 0.85 } },
    { label: 'RMS', shape: [2048, 4096], large: true },
    { label: 'RMS', shape: [174762, 768], outOfCache: true, targets: { limitRatio: 0.85 } },
    { label: 'RMS', shape: [32768, 4096], outOfCache: true, targets: { limitRatio: 0.85 } },
  ],
});
