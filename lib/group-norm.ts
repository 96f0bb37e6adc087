import { activeKernels } from './native';
import type { NormDescription } from './op';
import { groupNormOp } from './ops/group-norm';
import { allocParam, copyState, readStateDict, writeStateDict } from './state-dict';
import type { Layout, Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import {
  checkBoolean,
  checkEps,
  checkLayout,
  checkPositiveInteger,
  invalid,
  readOptions,
  readTensor,
} from './validate';

const run = compileOp(groupNormOp);
const runAsync = compileOp(groupNormOp, true);

/**
 * Options of {@link groupNorm} and {@link groupNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, groupNorm } = require('normkit');
 * const nhwc = tensor(new Float32Array(1 * 2 * 2 * 4).map((_, i) => i), [1, 4, 2, 2]); // stored (N, H, W, C)
 * const y = groupNorm(nhwc, 2, { layout: 'channels_last', eps: 0, bias: new Float32Array([0, 0, 1, 1]) });
 * console.log(y.shape); // prints: [ 1, 4, 2, 2 ]
 * ```
 */
export interface GroupNormOptions {
  /**
   * Per-channel scale (gamma), C values.
   *
   * @defaultValue `undefined` (or `null`): a scale of 1
   */
  weight?: Float32Array | null;
  /**
   * Per-channel shift (beta), C values.
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
   * How `input.data` (and the result) is stored: `'channels_first'`, `(N, C, ...spatial)`, or
   * `'channels_last'`, `(N, ...spatial, C)`. `input.shape` is always the logical
   * `(N, C, ...spatial)` shape.
   *
   * @defaultValue `'channels_first'`
   */
  layout?: Layout;
  /**
   * Where to write the result: a `Float32Array` of `prod(input.shape)` values. It may be
   * `input.data` itself (in place), but not otherwise overlap the call's arrays.
   *
   * @defaultValue a new array
   */
  out?: Float32Array;
}

/**
 * Group normalization, as `torch.nn.functional.group_norm`: the C channels are split into
 * `numGroups` groups of consecutive channels; each sample's group is normalized with its own mean
 * and biased variance (over its channels and spatial positions), then each channel is scaled and
 * shifted, `* weight[c] + bias[c]`. No running statistics: training and inference compute the same.
 *
 * @param input - The logical `(N, C, ...spatial)` tensor, rank 2 or more.
 * @param numGroups - A positive integer that divides C.
 * @param options - Parameters, `eps`, `layout` and `out`: {@link GroupNormOptions}.
 * @returns A tensor of `input.shape`, in `input`'s layout, whose data is `out` when given.
 * @throws {@link TypeError} when `input` is not a tensor (`data` a `Float32Array`, `shape` an
 * array of numbers), an argument or option has the wrong type (`layout` not a string), or an option is
 * unknown.
 * @throws {@link RangeError} when a dimension of `input.shape` is not a non-negative integer,
 * `input.data` does not hold `prod(input.shape)` values, the rank is below 2,
 * `numGroups` is not a positive integer dividing C,
 * `layout` is another string, an array option has the wrong length, `eps` is negative or not
 * finite, or `out` overlaps another
 * array of the call (other than being `input.data` itself, in place). Nothing is written then.
 *
 * @example
 * ```js
 * const { tensor, groupNorm } = require('normkit');
 * // (N, C, L) = (1, 4, 2) in 2 groups: channels 0-1 hold 1..4, channels 2-3 hold 10..40.
 * const y = groupNorm(tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 4, 2]), 2);
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.4472 0.4472 1.3416 -1.3416 -0.4472 0.4472 1.3416
 * ```
 */
export function groupNorm(input: Tensor, numGroups: number, options?: GroupNormOptions): Tensor {
  return run(activeKernels, input, numGroups, options) as Tensor;
}

/**
 * The async twin of {@link groupNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link groupNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, groupNormAsync } = require('normkit');
 * groupNormAsync(tensor([1, 2, 3, 4], [1, 2, 2]), 1).then((y) => {
 *   console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.4472 0.4472 1.3416
 * });
 * ```
 */
export function groupNormAsync(
  input: Tensor,
  numGroups: number,
  options?: GroupNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, numGroups, options) as Promise<Tensor>;
}

/**
 * What {@link groupNorm} computes for an input shape, without computing it: one mean/variance pair per sample
 * and group, each over `(C / numGroups) * prod(spatial)` values, parameters of shape `[C]`.
 *
 * @param shape - The logical `(N, C, ...spatial)` input shape, rank 2 or more.
 * @param numGroups - As in {@link groupNorm}.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer, the rank is below 2 or
 * `numGroups` does not divide C.
 *
 * @example
 * ```js
 * const { describeGroupNorm } = require('normkit');
 * console.log(describeGroupNorm([32, 64, 56, 56], 32)); // prints: { statistics: 1024, valuesPerStatistic: 6272, paramShape: [ 64 ] }
 * ```
 */
export function describeGroupNorm(shape: readonly number[], numGroups: number): NormDescription {
  return describeOp(groupNormOp, [shape, numGroups]);
}

/**
 * Constructor options of {@link GroupNorm}: `torch.nn.GroupNorm`'s keyword arguments.
 *
 * @example
 * ```js
 * const { GroupNorm } = require('normkit');
 * const gn = new GroupNorm(4, 8, { eps: 1e-6, affine: false, layout: 'channels_last' });
 * console.log(gn.weight, gn.layout); // prints: null channels_last
 * ```
 */
export interface GroupNormModuleOptions {
  /**
   * Added to the variance before the square root: a finite number, 0 or more.
   *
   * @defaultValue `1e-5`
   */
  eps?: number;
  /**
   * Whether the module has a learnable per-channel `weight` (ones) and `bias` (zeros).
   *
   * @defaultValue `true`
   */
  affine?: boolean;
  /**
   * How the inputs' data is stored: `'channels_first'` or `'channels_last'`.
   *
   * @defaultValue `'channels_first'`
   */
  layout?: Layout;
}

/**
 * The state of a {@link GroupNorm} under PyTorch's `state_dict` keys, each listed key required
 * (as PyTorch's strict loading): `{ weight, bias }` (the default) or `{}` (no `affine`).
 *
 * @example
 * ```js
 * const { GroupNorm } = require('normkit');
 * console.log(Object.keys(new GroupNorm(2, 4).stateDict())); // prints: [ 'weight', 'bias' ]
 * console.log(new GroupNorm(2, 4, { affine: false }).stateDict()); // prints: {}
 * ```
 */
export type GroupNormStateDict =
  { weight: Float32Array; bias: Float32Array } | { weight?: never; bias?: never };

/**
 * `torch.nn.GroupNorm`: `numGroups` groups over `numChannels` channels, with a per-channel
 * `weight` (ones) and `bias` (zeros) when `affine`; applies {@link groupNorm} with them.
 *
 * @example
 * ```js
 * const { tensor, GroupNorm } = require('normkit');
 * const gn = new GroupNorm(2, 4);
 * gn.bias.set([0, 0, 1, 1]);
 * const y = gn.forward(tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 4, 2]));
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.4472 0.4472 1.3416 -0.3416 0.5528 1.4472 2.3416
 * ```
 */
export class GroupNorm {
  /**
   * The number of groups.
   */
  readonly numGroups: number;
  /**
   * C, the number of channels, a multiple of `numGroups`.
   */
  readonly numChannels: number;
  /**
   * Added to the variance.
   */
  readonly eps: number;
  /**
   * Whether the module has `weight` and `bias`.
   */
  readonly affine: boolean;
  /**
   * How the inputs' data is stored.
   */
  readonly layout: Layout;
  /**
   * Per-channel scale, initially ones; `null` without `affine`. Its contents may be changed.
   */
  readonly weight: Float32Array | null;
  /**
   * Per-channel shift, initially zeros; `null` without `affine`.
   */
  readonly bias: Float32Array | null;

  /**
   * @param numGroups - The number of groups: a positive integer.
   * @param numChannels - C: a positive multiple of `numGroups`.
   * @param options - See {@link GroupNormModuleOptions}.
   * @throws {@link TypeError} when an argument or option has the wrong type, or an option is unknown.
   * @throws {@link RangeError} when a size is not a positive integer, `eps` is negative or not finite, `numChannels` is not a
   *   multiple of `numGroups`,
   *   or a parameter would exceed 2^30 values.
   */
  constructor(numGroups: number, numChannels: number, options?: GroupNormModuleOptions) {
    this.numGroups = checkPositiveInteger('numGroups', numGroups);
    this.numChannels = checkPositiveInteger('numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw invalid('range', 'numChannels', `a multiple of numGroups (${numGroups})`, numChannels);
    }
    const o = readOptions('options', options, ['eps', 'affine', 'layout']);
    this.eps = checkEps('eps', o.eps);
    this.affine = checkBoolean('affine', o.affine, true);
    this.layout = checkLayout(o.layout);
    this.weight = this.affine ? allocParam('numChannels', numChannels, 1) : null;
    this.bias = this.affine ? allocParam('numChannels', numChannels, 0) : null;
  }

  /**
   * {@link groupNorm} of `input` with the module's parameters and options.
   *
   * @param input - A tensor of logical shape `(N, numChannels, ...spatial)`.
   * @param options - `out`: where to write the result, as the function's `out`.
   * @returns A tensor of `input.shape`.
   * @throws {@link TypeError} / {@link RangeError} as {@link groupNorm}, and a `RangeError` when the input's
   *   rank or channel count does not fit the module. A call that throws changes nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    return groupNorm(this.input(input), this.numGroups, this.options(options, false));
  }

  /**
   * The async twin of {@link GroupNorm.forward} (see {@link groupNormAsync}): the same arguments plus an
   * optional `signal`.
   *
   * @returns A promise of the result; a bad argument rejects it, never throws.
   *
   * @example
   * ```js
   * const { tensor, GroupNorm } = require('normkit');
   * new GroupNorm(1, 2).forwardAsync(tensor([1, 2, 3, 4], [1, 2, 2])).then((y) => console.log(y.shape)); // prints: [ 1, 2, 2 ]
   * ```
   */
  forwardAsync(input: Tensor, options?: { out?: Float32Array } & AsyncOptions): Promise<Tensor> {
    try {
      return groupNormAsync(this.input(input), this.numGroups, this.options(options, true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Reads `input` once; with parameters, its channel count must be `numChannels`. */
  private input(input: unknown): Tensor {
    const x = readTensor('input', input);
    // With parameters the channel count must be numChannels; without, a multiple of numGroups
    // (as PyTorch, which only needs the groups to divide it), named here on the module's input.
    const c = x.shape[1];
    if (x.shape.length >= 2 && (this.affine ? c !== this.numChannels : c % this.numGroups !== 0)) {
      const want = this.affine
        ? `${this.numChannels} channels (numChannels)`
        : `a multiple of numGroups (${this.numGroups}) channels`;
      throw invalid('range', 'input.shape[1]', want, c);
    }
    return { data: x.data, shape: x.shape };
  }

  /** The op's options for this module's state and the call's own options (read once). */
  private options(options: unknown, async: boolean) {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    return {
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
      layout: this.layout,
      out: o.out as Float32Array | undefined,
      ...(async ? { signal: o.signal as AbortSignal | undefined } : {}),
    };
  }

  /**
   * Copies of the module's state under PyTorch's keys (see {@link GroupNormStateDict}).
   *
   * @returns A new object of new arrays: changing it does not change the module.
   */
  stateDict(): GroupNormStateDict {
    return copyState(this.targets()) as GroupNormStateDict;
  }

  /**
   * Copies state in, strictly as PyTorch's `load_state_dict`: every key the module has must be
   * present, with a `Float32Array` of the right length, and no other key.
   *
   * @param dict - A {@link GroupNormStateDict}, as {@link GroupNorm.stateDict} returns.
   * @throws {@link TypeError} when `dict` is not an object or a value has the wrong type.
   * @throws {@link RangeError} when a key is missing or unknown, or a value has the wrong length or
   *   range. Nothing is changed then.
   */
  loadStateDict(dict: GroupNormStateDict): void {
    writeStateDict(readStateDict('dict', dict, this.targets()), this.targets());
  }

  private targets() {
    return [
      ['weight', this.weight],
      ['bias', this.bias],
    ] as const;
  }
}
