// The reference backend's kernels: plain TypeScript, float64 accumulation, no addon.
import type { Kernels } from '../backend';
import { batchNormForward } from './batch-norm';
import { layerNormForward } from './layer-norm';

export const referenceKernels: Kernels = { layerNormForward, batchNormForward };
