import { activeKernels } from './native';
import type { NormDescription } from './op';
import { layerNormOp } from './ops/layer-norm';
import { allocParam, copyState, readStateDict, writeStateDict } from './state-dict';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import { checkBoolean, checkEps, readNormalizedShape, readOptions } from './validate';

const run = compileOp(layerNormOp);
const runAsync = compileOp(layerNormOp, true);

export type { NormDescription } from './op';

/**
 * Options of {@link layerNorm} and {@link layerNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, layerNorm } = require('normkit');
 * const x = tensor([1, 3, 5, 7], [2, 2]);
 * const options = { weight: new Float32Array([1, 2]), bias: new Float32Array([0, 1]), eps: 0, out: x.data };
 * layerNorm(x, 2, options); // in place
 * console.log(x.data.join(' ')); // prints: -1 3 -1 3
 * ```
 */
export interface LayerNormOptions {
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
   * @defaultValue `1e-5`, as PyTorch
   */
  eps?: number;
  /**
   * Where to write the result: a `Float32Array` of `prod(input.shape)` values. It may be
   * `input.data` itself (in place), but not otherwise overlap the call's arrays.
   *
   * @defaultValue a new array
   */
  out?: Float32Array;
}

/**
 * Layer normalization over the trailing `normalizedShape` dimensions, as
 * `torch.nn.functional.layer_norm`: each group of `prod(normalizedShape)` values becomes
 * `(x - mean) / sqrt(var + eps) * weight + bias`, with the group's mean and biased variance.
 *
 * @param input - The tensor to normalize, of any rank.
 * @param normalizedShape - The trailing dimensions of `input.shape` to normalize over: a number, or an
 *   array of at least one dimension.
 * @param options - Parameters, `eps` and `out`: {@link LayerNormOptions}.
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
 * const { tensor, layerNorm } = require('normkit');
 * const y = layerNorm(tensor([1, 2, 3, 4, 2, 4, 6, 8], [2, 4]), 4); // each row: mean 0, variance 1
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.4472 0.4472 1.3416 -1.3416 -0.4472 0.4472 1.3416
 * ```
 */
export function layerNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: LayerNormOptions,
): Tensor {
  return run(activeKernels, input, normalizedShape, options) as Tensor;
}

/**
 * The async twin of {@link layerNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link layerNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, layerNormAsync } = require('normkit');
 * layerNormAsync(tensor([1, 2, 3, 4], [2, 2]), 2, { signal: AbortSignal.timeout(1000) }).then((y) => {
 *   console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.0000 1.0000 -1.0000 1.0000
 * });
 * ```
 */
export function layerNormAsync(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: LayerNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, normalizedShape, options) as Promise<Tensor>;
}

/**
 * What {@link layerNorm} computes for an input shape, without computing it: the number of mean/variance
 * pairs, the values each is taken over, and the shape of `weight` and `bias`.
 *
 * @param shape - The input shape.
 * @param normalizedShape - As in {@link layerNorm}.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, or `normalizedShape` is not the
 * trailing dimensions of `shape`.
 *
 * @example
 * ```js
 * const { describeLayerNorm } = require('normkit');
 * console.log(describeLayerNorm([8, 128, 768], 768)); // prints: { statistics: 1024, valuesPerStatistic: 768, paramShape: [ 768 ] }
 * ```
 */
export function describeLayerNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(layerNormOp, [shape, normalizedShape]);
}

/**
 * Constructor options of {@link LayerNorm}: `torch.nn.LayerNorm`'s keyword arguments.
 *
 * @example
 * ```js
 * const { LayerNorm } = require('normkit');
 * const ln = new LayerNorm(4, { eps: 1e-6, elementwiseAffine: true, bias: false });
 * console.log(ln.weight.length, ln.bias); // prints: 4 null
 * ```
 */
export interface LayerNormModuleOptions {
  /**
   * Added to the variance before the square root: a finite number, 0 or more.
   *
   * @defaultValue `1e-5`
   */
  eps?: number;
  /**
   * Whether the module has a learnable per-element `weight` (ones) and `bias` (zeros).
   *
   * @defaultValue `true`
   */
  elementwiseAffine?: boolean;
  /**
   * With `elementwiseAffine`, whether the module has a `bias`.
   *
   * @defaultValue `true`
   */
  bias?: boolean;
}

/**
 * The state of a {@link LayerNorm} under PyTorch's `state_dict` keys: which keys depend on the
 * module's options, and each listed key is required, as PyTorch's strict loading requires it:
 * `{ weight, bias }` (the default), `{ weight }` (`bias: false`) or `{}` (no
 * `elementwiseAffine`).
 *
 * @example
 * ```js
 * const { LayerNorm } = require('normkit');
 * console.log(Object.keys(new LayerNorm(4).stateDict())); // prints: [ 'weight', 'bias' ]
 * console.log(Object.keys(new LayerNorm(4, { bias: false }).stateDict())); // prints: [ 'weight' ]
 * new LayerNorm(2).loadStateDict({ weight: new Float32Array([1, 2]), bias: new Float32Array(2) });
 * ```
 */
export type LayerNormStateDict =
  | { weight: Float32Array; bias: Float32Array }
  | { weight: Float32Array; bias?: never }
  | { weight?: never; bias?: never };

/**
 * `torch.nn.LayerNorm`: owns `weight` (ones) and `bias` (zeros) as `Float32Array`s of
 * `prod(normalizedShape)` values, and applies {@link layerNorm} with them.
 *
 * @example
 * ```js
 * const { tensor, LayerNorm } = require('normkit');
 * const ln = new LayerNorm([4]);
 * ln.weight.set([1, 2, 1, 2]); // parameters are plain Float32Arrays, changed in place
 * const y = ln.forward(tensor([1, 2, 3, 4], [1, 4]));
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.8944 0.4472 2.6833
 * const copy = new LayerNorm(4);
 * copy.loadStateDict(ln.stateDict());
 * console.log(copy.weight); // prints: Float32Array(4) [ 1, 2, 1, 2 ]
 * ```
 */
export class LayerNorm {
  /**
   * The normalized trailing dimensions, as given (a number becomes `[n]`).
   */
  readonly normalizedShape: readonly number[];
  /**
   * Added to the variance.
   */
  readonly eps: number;
  /**
   * Whether the module has `weight` (and `bias`).
   */
  readonly elementwiseAffine: boolean;
  /**
   * The per-element scale, initially ones; `null` without `elementwiseAffine`.
   */
  readonly weight: Float32Array | null;
  /**
   * The per-element shift, initially zeros; `null` without `elementwiseAffine` or with
   * `bias: false`.
   */
  readonly bias: Float32Array | null;

  /**
   * @param normalizedShape - The trailing dimensions to normalize over: a positive integer or an
   *   array of them.
   * @param options - See {@link LayerNormModuleOptions}.
   * @throws {@link TypeError} when an argument or option has the wrong type, or an option is unknown.
   * @throws {@link RangeError} when a dimension is not a positive integer, `eps` is negative or not
   *   finite, or the parameters would exceed 2^30 values.
   */
  constructor(normalizedShape: number | readonly number[], options?: LayerNormModuleOptions) {
    const shape = readNormalizedShape(normalizedShape);
    const o = readOptions('options', options, ['eps', 'elementwiseAffine', 'bias']);
    this.eps = checkEps('eps', o.eps);
    this.elementwiseAffine = checkBoolean('elementwiseAffine', o.elementwiseAffine, true);
    const withBias = checkBoolean('bias', o.bias, true);
    const size = shape.reduce((a, b) => a * b, 1);
    this.weight = this.elementwiseAffine ? allocParam('normalizedShape', size, 1) : null;
    this.bias = this.elementwiseAffine && withBias ? allocParam('normalizedShape', size, 0) : null;
    this.normalizedShape = Object.freeze(shape);
  }

  /**
   * {@link layerNorm} of `input` with the module's `weight`, `bias` and `eps`.
   *
   * @param input - A tensor whose trailing dimensions are `normalizedShape`.
   * @param options - `out`: where to write the result, as the function's `out`.
   * @returns A tensor of `input.shape`.
   * @throws {@link TypeError} / {@link RangeError} as {@link layerNorm}.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    return layerNorm(input, this.normalizedShape, this.options(options, false));
  }

  /**
   * The async twin of {@link LayerNorm.forward} (see {@link layerNormAsync}): the same
   * arguments plus an optional `signal`.
   *
   * @returns A promise of the result; a bad argument rejects it, never throws.
   *
   * @example
   * ```js
   * const { tensor, LayerNorm } = require('normkit');
   * new LayerNorm(2).forwardAsync(tensor([1, 3], [1, 2])).then((y) => console.log(y.data.join(' '))); // prints: -0.9999949932098389 0.9999949932098389
   * ```
   */
  forwardAsync(input: Tensor, options?: { out?: Float32Array } & AsyncOptions): Promise<Tensor> {
    try {
      return layerNormAsync(input, this.normalizedShape, this.options(options, true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The op's options for this module's state and the call's own options (read once). */
  private options(options: unknown, async: boolean) {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    return {
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
      out: o.out as Float32Array | undefined,
      ...(async ? { signal: o.signal as AbortSignal | undefined } : {}),
    };
  }

  /**
   * Copies of the parameters under PyTorch's keys (see {@link LayerNormStateDict}).
   *
   * @returns A new object of new arrays: changing it does not change the module.
   */
  stateDict(): LayerNormStateDict {
    return copyState(this.state()) as LayerNormStateDict;
  }

  /**
   * Copies parameters in, strictly as PyTorch's `load_state_dict`: every key the module has
   * must be present, with a `Float32Array` of the right length, and no other key.
   *
   * @param dict - A {@link LayerNormStateDict}, as {@link LayerNorm.stateDict} returns.
   * @throws {@link TypeError} when `dict` is not an object or a value is not a `Float32Array`.
   * @throws {@link RangeError} when a key is missing or unknown, or an array has the wrong length.
   *   Nothing is changed then.
   */
  loadStateDict(dict: LayerNormStateDict): void {
    writeStateDict(readStateDict('dict', dict, this.state()), this.state());
  }

  private state() {
    return [
      ['weight', this.weight],
      ['bias', this.bias],
    ] as const;
  }
}
