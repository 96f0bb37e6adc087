// LayerNorm: torch.nn.functional.layer_norm over the trailing normalizedShape axes.
import { defineOp, describeRows, input, output, param, saved, scalar, size } from '../op';
import { layerNormForward } from '../reference/layer-norm';
import { checkTrailingDims } from '../validate';

export const layerNormOp = defineOp({
  name: 'layerNorm',
  kernel: 'layerNormForward',
  cxx: 'layer_norm_forward',
  conformance: 'layer_norm',
  params: [{ kind: 'tensor', name: 'input' }, { kind: 'normalizedShape' }, { kind: 'options' }],
  options: {
    weight: { kind: 'array', arg: 'weight' },
    bias: { kind: 'array', arg: 'bias' },
    eps: { kind: 'eps', arg: 'eps', default: 1e-5 },
    out: { kind: 'array', arg: 'out' },
  },
  args: [
    input('input', 'input.data', ['rows', 'cols']),
    size('rows'),
    size('cols'),
    param('weight', ['cols']),
    param('bias', ['cols']),
    scalar('eps', 'eps'),
    output('out', ['rows', 'cols'], ['input']),
    saved('saveMean', ['rows']),
    saved('saveRstd', ['rows']),
  ],
  sizes(s) {
    const [rows, cols] = checkTrailingDims(s.tensors.input.shape, s.normalizedShape);
    return { rows, cols };
  },
  describe: describeRows,
  results: 'out',
  reference: layerNormForward,
  bench: [
    { label: 'LN', shape: [8192, 768], large: true, targets: { copyRatio: 0.85 } },
    { label: 'LN', shape: [2048, 4096], large: true, targets: { copyRatio: 0.85 } },
    { label: 'LN', shape: [512, 1024] },
    { label: 'LN', shape: [64, 128] },
    // Out of cache: 512 MiB inputs.
    { label: 'LN', shape: [174762, 768], outOfCache: true, targets: { limitRatio: 0.85 } },
    { label: 'LN', shape: [32768, 4096], outOfCache: true, targets: { limitRatio: 0.85 } },
    // Issue 7's small-call target, validation included.
    { label: 'LN latency', shape: [1, 768], kind: 'latency', targets: { latencyUs: 0.5 } },
  ],
});
