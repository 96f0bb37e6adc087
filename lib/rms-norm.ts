import { activeKernels } from './native';
import type { NormDescription } from './op';
import { rmsNormOp } from './ops/rms-norm';
import { allocParam, copyState, readStateDict, writeStateDict } from './state-dict';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import { checkBoolean, checkEps, readNormalizedShape, readOptions } from './validate';

const run = compileOp(rmsNormOp);
const runAsync = compileOp(rmsNormOp, true);

/**
 * Options of {@link rmsNorm} and {@link rmsNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, rmsNorm } = require('normkit');
 * const y = rmsNorm(tensor([3, 4], [1, 2]), 2, { weight: new Float32Array([1, 10]), eps: 0 });
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: 0.8485 11.3137
 * ```
 */
export interface RmsNormOptions {
  /**
   * Per-element scale: a `Float32Array` of `prod(normalizedShape)` values.
   *
   * @defaultValue `undefined` (or `null`): a scale of 1
   */
  weight?: Float32Array | null;
  /**
   * Added to the mean square before the square root: a finite number, 0 or more, or `null`
   * for the default.
   *
   * @defaultValue `undefined` (or `null`): `2^-23` (about 1.19e-7), float32's machine epsilon, which
   * PyTorch uses for float32 input when `eps` is None (PyTorch 2.4+)
   */
  eps?: number | null;
  /**
   * Where to write the result: a `Float32Array` of `prod(input.shape)` values. It may be
   * `input.data` itself (in place), but not otherwise overlap the call's arrays.
   *
   * @defaultValue a new array
   */
  out?: Float32Array;
}

/**
 * Root-mean-square normalization over the trailing `normalizedShape` dimensions, as
 * `torch.nn.functional.rms_norm`: each group of `prod(normalizedShape)` values becomes
 * `x / sqrt(mean(x^2) + eps) * weight`, with no centring and no bias.
 *
 * @param input - The tensor to normalize, of any rank.
 * @param normalizedShape - The trailing dimensions of `input.shape` to normalize over: a number, or an
 *   array of at least one dimension.
 * @param options - `weight`, `eps` and `out`: {@link RmsNormOptions}.
 * @returns A tensor of `input.shape`, whose data is `out` when given.
 * @throws {@link TypeError} when `input` is not a tensor (`data` a `Float32Array`, `shape` an
 * array of numbers), an argument or option has the wrong type, or an option is
 * unknown.
 * @throws {@link RangeError} when a dimension of `input.shape` is not a non-negative integer,
 * `input.data` does not hold `prod(input.shape)` values, `normalizedShape` is not the
 * trailing dimensions of `input.shape`,
 * an array option has the wrong length, `eps` is negative or not finite, or `out` overlaps another
 * array of the call (other than being `input.data` itself, in place). Nothing is written then.
 *
 * @example
 * ```js
 * const { tensor, rmsNorm } = require('normkit');
 * const y = rmsNorm(tensor([3, 4, 0, 5], [2, 2]), 2, { eps: 0 }); // each row divided by its root mean square
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: 0.8485 1.1314 0.0000 1.4142
 * ```
 */
export function rmsNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: RmsNormOptions,
): Tensor {
  return run(activeKernels, input, normalizedShape, options) as Tensor;
}

/**
 * The async twin of {@link rmsNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link rmsNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, rmsNormAsync } = require('normkit');
 * rmsNormAsync(tensor([3, 4], [1, 2]), 2, { eps: 0 }).then((y) => {
 *   console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: 0.8485 1.1314
 * });
 * ```
 */
export function rmsNormAsync(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: RmsNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, normalizedShape, options) as Promise<Tensor>;
}

/**
 * What {@link rmsNorm} computes for an input shape, without computing it: the number of mean-square
 * computations, the values each is taken over, and the shape of `weight`.
 *
 * @param shape - The input shape.
 * @param normalizedShape - As in {@link rmsNorm}.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, or `normalizedShape` is not the
 * trailing dimensions of `shape`.
 *
 * @example
 * ```js
 * const { describeRmsNorm } = require('normkit');
 * console.log(describeRmsNorm([8, 128, 4096], 4096)); // prints: { statistics: 1024, valuesPerStatistic: 4096, paramShape: [ 4096 ] }
 * ```
 */
export function describeRmsNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(rmsNormOp, [shape, normalizedShape]);
}

/**
 * Constructor options of {@link RMSNorm}: `torch.nn.RMSNorm`'s keyword arguments.
 *
 * @example
 * ```js
 * const { RMSNorm } = require('normkit');
 * console.log(new RMSNorm(8).eps, new RMSNorm(8, { eps: 1e-6, elementwiseAffine: false }).weight); // prints: null null
 * ```
 */
export interface RMSNormModuleOptions {
  /**
   * Added to the mean square: a finite number, 0 or more, or `null`.
   *
   * @defaultValue `null`: float32's machine epsilon, `2^-23`, as {@link rmsNorm}
   */
  eps?: number | null;
  /**
   * Whether the module has a learnable per-element `weight` (ones).
   *
   * @defaultValue `true`
   */
  elementwiseAffine?: boolean;
}

/**
 * The state of an {@link RMSNorm} under PyTorch's `state_dict` keys, each listed key required
 * (as PyTorch's strict loading): `{ weight }` (the default) or `{}` (no `elementwiseAffine`).
 *
 * @example
 * ```js
 * const { RMSNorm } = require('normkit');
 * const norm = new RMSNorm(2);
 * norm.loadStateDict({ weight: new Float32Array([0.5, 2]) });
 * console.log(norm.stateDict()); // prints: { weight: Float32Array(2) [ 0.5, 2 ] }
 * ```
 */
export type RMSNormStateDict = { weight: Float32Array } | { weight?: never };

/**
 * `torch.nn.RMSNorm`: owns `weight` (ones) as a `Float32Array` of `prod(normalizedShape)`
 * values, and applies {@link rmsNorm} with it.
 *
 * @example
 * ```js
 * const { tensor, RMSNorm } = require('normkit');
 * const norm = new RMSNorm(4, { eps: 1e-6 });
 * norm.weight.set([1, 1, 2, 2]);
 * const y = norm.forward(tensor([1, 2, 3, 4], [1, 4]));
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: 0.3651 0.7303 2.1909 2.9212
 * console.log(Object.keys(norm.stateDict())); // prints: [ 'weight' ]
 * ```
 */
export class RMSNorm {
  /**
   * The normalized trailing dimensions, as given (a number becomes `[n]`).
   */
  readonly normalizedShape: readonly number[];
  /**
   * Added to the mean square; `null` for float32's machine epsilon, PyTorch's default.
   */
  readonly eps: number | null;
  /**
   * Whether the module has `weight`.
   */
  readonly elementwiseAffine: boolean;
  /**
   * The per-element scale, initially ones; `null` without `elementwiseAffine`.
   */
  readonly weight: Float32Array | null;

  /**
   * @param normalizedShape - The trailing dimensions to normalize over: a positive integer or an
   *   array of them.
   * @param options - See {@link RMSNormModuleOptions}.
   * @throws {@link TypeError} when an argument or option has the wrong type, or an option is unknown.
   * @throws {@link RangeError} when a size is not a positive integer, `eps` is negative or not finite,
   *   or a parameter would exceed 2^30 values.
   */
  constructor(normalizedShape: number | readonly number[], options?: RMSNormModuleOptions) {
    const shape = readNormalizedShape(normalizedShape);
    const o = readOptions('options', options, ['eps', 'elementwiseAffine']);
    this.eps = o.eps === null || o.eps === undefined ? null : checkEps('eps', o.eps);
    this.elementwiseAffine = checkBoolean('elementwiseAffine', o.elementwiseAffine, true);
    const size = shape.reduce((a, b) => a * b, 1);
    this.weight = this.elementwiseAffine ? allocParam('normalizedShape', size, 1) : null;
    this.normalizedShape = Object.freeze(shape);
  }

  /**
   * {@link rmsNorm} of `input` with the module's parameters and options.
   *
   * @param input - A tensor whose trailing dimensions are `normalizedShape`.
   * @param options - `out`: where to write the result, as the function's `out`.
   * @returns A tensor of `input.shape`.
   * @throws {@link TypeError} / {@link RangeError} as {@link rmsNorm}, and a `RangeError` when the input's
   *   rank or channel count does not fit the module. A call that throws changes nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    return rmsNorm(input, this.normalizedShape, this.options(options, false));
  }

  /**
   * The async twin of {@link RMSNorm.forward} (see {@link rmsNormAsync}): the same arguments plus an
   * optional `signal`.
   *
   * @returns A promise of the result; a bad argument rejects it, never throws.
   *
   * @example
   * ```js
   * const { tensor, RMSNorm } = require('normkit');
   * new RMSNorm(2, { eps: 0 }).forwardAsync(tensor([3, 4], [1, 2])).then((y) => console.log(y.data.join(' '))); // prints: 0.8485281467437744 1.1313709020614624
   * ```
   */
  forwardAsync(input: Tensor, options?: { out?: Float32Array } & AsyncOptions): Promise<Tensor> {
    try {
      return rmsNormAsync(input, this.normalizedShape, this.options(options, true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The op's options for this module's state and the call's own options (read once). */
  private options(options: unknown, async: boolean) {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    return {
      weight: this.weight,
      eps: this.eps,
      out: o.out as Float32Array | undefined,
      ...(async ? { signal: o.signal as AbortSignal | undefined } : {}),
    };
  }

  /**
   * Copies of the module's state under PyTorch's keys (see {@link RMSNormStateDict}).
   *
   * @returns A new object of new arrays: changing it does not change the module.
   */
  stateDict(): RMSNormStateDict {
    return copyState([['weight', this.weight]]) as RMSNormStateDict;
  }

  /**
   * Copies state in, strictly as PyTorch's `load_state_dict`: every key the module has must be
   * present, with a `Float32Array` of the right length, and no other key.
   *
   * @param dict - A {@link RMSNormStateDict}, as {@link RMSNorm.stateDict} returns.
   * @throws {@link TypeError} when `dict` is not an object or a value has the wrong type.
   * @throws {@link RangeError} when a key is missing or unknown, or a value has the wrong length or
   *   range. Nothing is changed then.
   */
  loadStateDict(dict: RMSNormStateDict): void {
    const targets = [['weight', this.weight]] as const;
    writeStateDict(readStateDict('dict', dict, targets), targets);
  }
}
