import { activeKernels } from './native';
import type { NormDescription } from './op';
import { addLayerNormOp } from './ops/add-layer-norm';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';

const run = compileOp(addLayerNormOp);
const runAsync = compileOp(addLayerNormOp, true);

/**
 * Options of {@link addLayerNorm} and {@link addLayerNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, addLayerNorm } = require('normkit');
 * const x = tensor([1, 2], [1, 2]);
 * const stream = tensor([0, 2], [1, 2]);
 * const out = new Float32Array(2);
 * addLayerNorm(x, stream, 2, { weight: new Float32Array([1, 1]), eps: 0, out, sumOut: stream.data });
 * console.log(stream.data.join(' '), out.join(' ')); // prints: 1 4 -1 1
 * ```
 */
export interface AddLayerNormOptions {
  /**
   * Per-element scale (gamma): a `Float32Array` of `prod(normalizedShape)` values.
   *
   * @defaultValue `undefined` (or `null`): a scale of 1
   */
  weight?: Float32Array | null;
  /**
   * Per-element shift (beta): a `Float32Array` of `prod(normalizedShape)` values.
   *
   * @defaultValue `undefined` (or `null`): a shift of 0
   */
  bias?: Float32Array | null;
  /**
   * Added to the variance before the square root: a finite number, 0 or more.
   *
   * @defaultValue `1e-5`
   */
  eps?: number;
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
 * The two results of {@link addLayerNorm} and {@link addRmsNorm}, both of `input.shape`.
 *
 * @example
 * ```js
 * const { tensor, addRmsNorm } = require('normkit');
 * const { output, sum } = addRmsNorm(tensor([1, 1], [1, 2]), tensor([2, 3], [1, 2]), 2, { eps: 0 });
 * console.log(sum.data.join(' '), Array.from(output.data, (v) => v.toFixed(4)).join(' ')); // prints: 3 4 0.8485 1.1314
 * ```
 */
export interface AddNormResult {
  /**
   * The normalization of `sum`: the block's output (in `out` when given).
   */
  output: Tensor;
  /**
   * `input + residual`, rounded to float32: the next residual stream (in `sumOut` when given).
   */
  sum: Tensor;
}

/**
 * The residual add and LayerNorm of a transformer block in one pass: `sum = input + residual`,
 * rounded to float32, then `output = layerNorm(sum, normalizedShape, { weight, bias, eps })`.
 * The results are the unfused pair's, with one pass over memory fewer.
 *
 * @param input - The tensor to add, of any rank (a sub-layer's output).
 * @param residual - The residual stream: a tensor of `input.shape`.
 * @param normalizedShape - As in {@link layerNorm}.
 * @param options - `weight`, `bias`, `eps`, `out` and `sumOut`: {@link AddLayerNormOptions}.
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
 * const { tensor, addLayerNorm } = require('normkit');
 * const x = tensor([1, 2, 3, 4, 0, 0, 0, 0], [2, 4]); // e.g. an attention block's output
 * const residual = tensor([1, 1, 1, 1, 2, 4, 6, 8], [2, 4]);
 * const { output, sum } = addLayerNorm(x, residual, 4);
 * console.log(sum.data.join(' ')); // prints: 2 3 4 5 2 4 6 8
 * console.log(Array.from(output.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.4472 0.4472 1.3416 -1.3416 -0.4472 0.4472 1.3416
 * ```
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
 * The async twin of {@link addLayerNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link addLayerNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, addLayerNormAsync } = require('normkit');
 * addLayerNormAsync(tensor([1, 2], [1, 2]), tensor([1, 1], [1, 2]), 2).then(({ output, sum }) => {
 *   console.log(sum.data.join(' '), Array.from(output.data, (v) => v.toFixed(4)).join(' ')); // prints: 2 3 -1.0000 1.0000
 * });
 * ```
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
 * What {@link addLayerNorm} computes for an input shape, without computing it: the same as
 * {@link describeLayerNorm} of the shape of `input` (and `residual`).
 *
 * @param shape - The shape of `input` and `residual`.
 * @param normalizedShape - As in {@link layerNorm}.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, or `normalizedShape` is not the
 * trailing dimensions of `shape`.
 *
 * @example
 * ```js
 * const { describeAddLayerNorm } = require('normkit');
 * console.log(describeAddLayerNorm([8, 128, 768], 768)); // prints: { statistics: 1024, valuesPerStatistic: 768, paramShape: [ 768 ] }
 * ```
 */
export function describeAddLayerNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(addLayerNormOp, [shape, normalizedShape]);
}
