// The reference backend's kernels: plain TypeScript, float64 accumulation, no addon. Each op's
// descriptor names its reference function; this table is built from the registry.
import type { Kernels } from '../backend';
import { OPS } from '../ops';

export const referenceKernels = Object.freeze(
  Object.fromEntries(Object.values(OPS).map((op) => [op.kernel, op.reference])),
) as unknown as Kernels;
