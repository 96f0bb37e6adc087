import { activeKernels } from './native';
import type { NormDescription } from './op';
import { addLayerNormOp } from './ops/add-layer-norm';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';

const run = compileOp(addLayerNormOp);
const runAsync = compileOp(addLayerNormOp, true);

/** Options of {@link addLayerNorm}. */
export interface AddLayerNormOptions {
  /** Scale, `prod(normalizedShape)` values; omitted means 1. */
  weight?: Float32Array | null;
  /** Shift, `prod(normalizedShape)` values; omitted means 0. */
  bias?: Float32Array | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Where to write the normalized output; may be `input.data` or `residual.data`. */
  out?: Float32Array;
  /** Where to write `input + residual`; may be `input.data` or `residual.data` (in place, as inference engines update the residual stream). */
  sumOut?: Float32Array;
}

/** The two results of a fused residual normalization. */
export interface AddNormResult {
  /** The normalization of `sum`. */
  output: Tensor;
  /** `input + residual`, rounded to float32: the next residual stream. */
  sum: Tensor;
}

/**
 * The residual add and LayerNorm of a transformer block in one pass: `sum = input + residual`,
 * `output = layerNorm(sum, normalizedShape, { weight, bias, eps })`. Equal to the unfused pair
 * (within float rounding) with one memory pass fewer.
 *
 * @example
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] };
 * const residual = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 4] };
 * const { output, sum } = addLayerNorm(x, residual, 4, { sumOut: residual.data }); // residual updated in place
 */
export function addLayerNorm(
  input: Tensor,
  residual: Tensor,
  normalizedShape: number | readonly number[],
  options?: AddLayerNormOptions,
): AddNormResult {
  return run(activeKernels, input, residual, normalizedShape, options) as AddNormResult;
}

/**
 * The async twin of {@link addLayerNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const x = { data: new Float32Array([1, 2]), shape: [1, 2] };
 * const { output, sum } = await addLayerNormAsync(x, x, 2);
 */
export function addLayerNormAsync(
  input: Tensor,
  residual: Tensor,
  normalizedShape: number | readonly number[],
  options?: AddLayerNormOptions & AsyncOptions,
): Promise<AddNormResult> {
  return runAsync(
    activeKernels,
    input,
    residual,
    normalizedShape,
    options,
  ) as Promise<AddNormResult>;
}

/**
 * What {@link addLayerNorm} computes for an input shape (the same as LayerNorm).
 *
 * @example
 * describeAddLayerNorm([2, 3, 4], [4]); // { statistics: 6, valuesPerStatistic: 4, paramShape: [4] }
 */
export function describeAddLayerNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(addLayerNormOp, [shape, normalizedShape]);
}
