import type { AddNormResult } from './add-layer-norm';
import { activeKernels } from './native';
import type { NormDescription } from './op';
import { addRmsNormOp } from './ops/add-rms-norm';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';

const run = compileOp(addRmsNormOp);
const runAsync = compileOp(addRmsNormOp, true);

/** Options of {@link addRmsNorm}. */
export interface AddRmsNormOptions {
  /** Scale, `prod(normalizedShape)` values; omitted means 1. */
  weight?: Float32Array | null;
  /** Added to the mean square; omitted or null means 2^-23 (float32 epsilon). */
  eps?: number | null;
  /** Where to write the normalized output; may be `input.data` or `residual.data`. */
  out?: Float32Array;
  /** Where to write `input + residual`; may be `input.data` or `residual.data` (in place). */
  sumOut?: Float32Array;
}

/**
 * The residual add and RMSNorm of a transformer block in one pass: `sum = input + residual`,
 * `output = rmsNorm(sum, normalizedShape, { weight, eps })`.
 *
 * @example
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] };
 * const residual = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 4] };
 * const { output, sum } = addRmsNorm(x, residual, 4);
 */
export function addRmsNorm(
  input: Tensor,
  residual: Tensor,
  normalizedShape: number | readonly number[],
  options?: AddRmsNormOptions,
): AddNormResult {
  return run(activeKernels, input, residual, normalizedShape, options) as AddNormResult;
}

/**
 * The async twin of {@link addRmsNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const x = { data: new Float32Array([1, 2]), shape: [1, 2] };
 * const { output, sum } = await addRmsNormAsync(x, x, 2);
 */
export function addRmsNormAsync(
  input: Tensor,
  residual: Tensor,
  normalizedShape: number | readonly number[],
  options?: AddRmsNormOptions & AsyncOptions,
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
 * What {@link addRmsNorm} computes for an input shape (the same as RMSNorm).
 *
 * @example
 * describeAddRmsNorm([2, 3, 4], [4]); // { statistics: 6, valuesPerStatistic: 4, paramShape: [4] }
 */
export function describeAddRmsNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(addRmsNormOp, [shape, normalizedShape]);
}
