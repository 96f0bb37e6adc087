// The public surface of normkit: re-exports only.
import { referenceBatchNorm } from './batch-norm';
import { referenceLayerNorm } from './layer-norm';
import { addon } from './native';

export type { Tensor } from './tensor';
export { tensor, numel } from './tensor';
export { layerNorm, describeLayerNorm, LayerNorm } from './layer-norm';
export type {
  LayerNormOptions,
  LayerNormModuleOptions,
  LayerNormStateDict,
  NormDescription,
} from './layer-norm';
export {
  batchNorm,
  describeBatchNorm,
  BatchNormBase,
  BatchNorm1d,
  BatchNorm2d,
  BatchNorm3d,
} from './batch-norm';
export type {
  BatchNormOptions,
  BatchNormModuleOptions,
  BatchNormStateDict,
  Layout,
} from './batch-norm';
export { backend } from './native';
export { setNumThreads, getNumThreads } from './threads';

/**
 * The pure TypeScript reference implementation of every op, with the same API as the top-level
 * functions and float64 accumulation; never touches the addon.
 *
 * @example
 * const y = reference.layerNorm({ data: new Float32Array([1, 2, 3]), shape: [3] }, 3);
 */
export const reference = Object.freeze({
  layerNorm: referenceLayerNorm,
  batchNorm: referenceBatchNorm,
});

/** Native diagnostics (null on the reference backend): which SIMD path runs, OpenMP, and the copy baseline the benchmarks use. */
export interface NativeInfo {
  /** `'avx512'` (hand-written AVX-512 kernels), or `'avx2'` / `'baseline'` (the portable kernels' clone): the path the CPU runs. */
  simdPath(): string;
  hasOpenMP(): boolean;
  hardwareThreads(): number;
  /** `y[i] = a * x[i] + b` on the library's threads: the bandwidth yardstick. */
  copyBaseline(x: Float32Array, y: Float32Array, a: number, b: number): void;
}

/**
 * @example
 * if (native) console.log(native.simdPath(), native.hasOpenMP());
 */
export const native: NativeInfo | null = addon
  ? Object.freeze({
      simdPath: () => addon!.simdPath(),
      hasOpenMP: () => addon!.hasOpenMP(),
      hardwareThreads: () => addon!.hardwareThreads(),
      copyBaseline: (x: Float32Array, y: Float32Array, a: number, b: number) =>
        addon!.copyBaseline(x, y, a, b),
    })
  : null;
