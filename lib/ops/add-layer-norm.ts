// Fused residual LayerNorm: sum = input + residual, output = layerNorm(sum), one pass.
import { defineOp, describeRows, input, output, param, saved, scalar, size } from '../op';
import { addLayerNormForward } from '../reference/layer-norm';
import { checkSameShape, checkTrailingDims } from '../validate';

export const addLayerNormOp = defineOp({
  name: 'addLayerNorm',
  kernel: 'addLayerNormForward',
  cxx: 'add_layer_norm_forward',
  params: [
    { kind: 'tensor', name: 'input' },
    { kind: 'tensor', name: 'residual' },
    { kind: 'normalizedShape' },
    { kind: 'options' },
  ],
  options: {
    weight: { kind: 'array', arg: 'weight' },
    bias: { kind: 'array', arg: 'bias' },
    eps: { kind: 'eps', arg: 'eps', default: 1e-5 },
    out: { kind: 'array', arg: 'out' },
    sumOut: { kind: 'array', arg: 'sumOut' },
  },
  args: [
    input('input', 'input.data', ['rows', 'cols']),
    input('residual', 'residual.data', ['rows', 'cols']),
    size('rows'),
    size('cols'),
    param('weight', ['cols']),
    param('bias', ['cols']),
    scalar('eps', 'eps'),
    output('out', ['rows', 'cols'], ['input', 'residual']),
    output('sumOut', ['rows', 'cols'], ['input', 'residual']),
    saved('saveMean', ['rows']),
    saved('saveRstd', ['rows']),
  ],
  sizes(s) {
    checkSameShape(s.tensors.residual, s.tensors.input);
    const [rows, cols] = checkTrailingDims(s.tensors.input.shape, s.normalizedShape);
    return { rows, cols };
  },
  describe: describeRows,
  results: { output: 'out', sum: 'sumOut' },
  reference: addLayerNormForward,
  unfused: 'layerNorm',
  bench: [
    {
      label: 'Add+LN',
      id: 'addlayernorm',
      shape: [8192, 768],
      large: true,
      targets: { pairRatio: 1.2 },
    },
  ],
});
