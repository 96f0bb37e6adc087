import type { AddNormResult } from './add-layer-norm';
import { activeKernels } from './native';
import type { NormDescription } from './op';
import { addRmsNormOp } from './ops/add-rms-norm';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';

const run = compileOp(addRmsNormOp);
const runAsync = compileOp(addRmsNormOp, true);

/**
 * Options of {@link addRmsNorm} and {@link addRmsNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, addRmsNorm } = require('normkit');
 * const x = tensor([3, 0], [1, 2]);
 * const r = tensor([0, 4], [1, 2]);
 * const { output } = addRmsNorm(x, r, 2, { weight: new Float32Array([2, 2]), eps: 0, out: x.data });
 * console.log(output.data === x.data, x.data.join(' ')); // prints: true 1.6970562934875488 2.262741804122925
 * ```
 */
export interface AddRmsNormOptions {
  /**
   * Per-element scale: a `Float32Array` of `prod(normalizedShape)` values.
   *
   * @defaultValue `undefined` (or `null`): a scale of 1
   */
  weight?: Float32Array | null;
  /**
   * Added to the mean square before the square root: a finite number, 0 or more, or `null`.
   *
   * @defaultValue `undefined` (or `null`): `2^-23`, float32's machine epsilon, as {@link rmsNorm}
   */
  eps?: number | null;
  /**
   * Where to write `output`: a `Float32Array` of `prod(input.shape)` values. It may be
   * `input.data` or `residual.data`, but not `sumOut` or any other memory of the call.
   *
   * @defaultValue a new array
   */
  out?: Float32Array;
  /**
   * Where to write `sum`, `input + residual`: a `Float32Array` of `prod(input.shape)` values. It
   * may be `input.data` or `residual.data` (the residual stream updated in place, as inference
   * engines do), but not `out` or any other memory of the call.
   *
   * @defaultValue a new array
   */
  sumOut?: Float32Array;
}

/**
 * The residual add and RMSNorm of a transformer block in one pass: `sum = input + residual`,
 * rounded to float32, then `output = rmsNorm(sum, normalizedShape, { weight, eps })`. The
 * results are the unfused pair's, with one pass over memory fewer.
 *
 * @param input - The tensor to add, of any rank (a sub-layer's output).
 * @param residual - The residual stream: a tensor of `input.shape`.
 * @param normalizedShape - As in {@link rmsNorm}.
 * @param options - `weight`, `eps`, `out` and `sumOut`: {@link AddRmsNormOptions}.
 * @returns `{ output, sum }`: {@link AddNormResult}.
 * @throws {@link TypeError} when `input` is not a tensor (`data` a `Float32Array`, `shape` an
 * array of numbers), an argument or option has the wrong type, or an option is
 * unknown.
 * @throws {@link RangeError} when a dimension of `input.shape` is not a non-negative integer,
 * `input.data` does not hold `prod(input.shape)` values, `residual.shape` is not
 * `input.shape`, `normalizedShape` is not the trailing dimensions of `input.shape`,
 * an array option has the wrong length, `eps` is negative or not finite, or `out` and `sumOut`
 * are the same array or overlap another array of the call (other than being `input.data` or
 * `residual.data` itself). Nothing is written then.
 *
 * @example
 * ```js
 * const { tensor, addRmsNorm } = require('normkit');
 * // A layer loop: the residual stream updated in place, the output in a reused buffer.
 * const stream = tensor(new Float32Array(2 * 4).fill(1), [2, 4]);
 * const normed = new Float32Array(2 * 4);
 * for (let layer = 0; layer < 3; layer++) {
 *   const block = tensor(new Float32Array(2 * 4).map((_, i) => i + layer), [2, 4]);
 *   addRmsNorm(block, stream, 4, { eps: 1e-6, out: normed, sumOut: stream.data });
 * }
 * console.log(stream.data.join(' ')); // prints: 4 7 10 13 16 19 22 25
 * console.log(Array.from(normed, (v) => v.toFixed(4)).join(' ')); // prints: 0.4377 0.7660 1.0944 1.4227 0.7702 0.9147 1.0591 1.2035
 * ```
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
 * The async twin of {@link addRmsNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link addRmsNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, addRmsNormAsync } = require('normkit');
 * addRmsNormAsync(tensor([1, 2], [1, 2]), tensor([2, 2], [1, 2]), 2, { eps: 0 }).then(({ output, sum }) => {
 *   console.log(sum.data.join(' '), Array.from(output.data, (v) => v.toFixed(4)).join(' ')); // prints: 3 4 0.8485 1.1314
 * });
 * ```
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
 * What {@link addRmsNorm} computes for an input shape, without computing it: the same as
 * {@link describeRmsNorm} of the shape of `input` (and `residual`).
 *
 * @param shape - The shape of `input` and `residual`.
 * @param normalizedShape - As in {@link rmsNorm}.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, or `normalizedShape` is not the
 * trailing dimensions of `shape`.
 *
 * @example
 * ```js
 * const { describeAddRmsNorm } = require('normkit');
 * console.log(describeAddRmsNorm([2, 3, 4], [3, 4])); // prints: { statistics: 2, valuesPerStatistic: 12, paramShape: [ 3, 4 ] }
 * ```
 */
export function describeAddRmsNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(addRmsNormOp, [shape, normalizedShape]);
}
