// ES module entry: the CommonJS build's exports under their own names.
import normkit from '../dist/index.js';

export const {
  tensor,
  numel,
  layerNorm,
  describeLayerNorm,
  LayerNorm,
  batchNorm,
  describeBatchNorm,
  BatchNormBase,
  BatchNorm1d,
  BatchNorm2d,
  BatchNorm3d,
  backend,
  setNumThreads,
  getNumThreads,
  reference,
  native,
} = normkit;
export default normkit;
