import { activeKernels } from './native';
import type { NormDescription } from './op';
import { instanceNormOp } from './ops/instance-norm';
import {
  RunningStatsModule,
  type RunningStatsModuleOptions,
  type RunningStatsStateDict,
} from './running-stats';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import type { Layout } from './tensor';
import { checkTensorLength, invalid, numelOf, readOptions } from './validate';

const run = compileOp(instanceNormOp);
const runAsync = compileOp(instanceNormOp, true);

/**
 * Options of {@link instanceNorm} and {@link instanceNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, instanceNorm } = require('normkit');
 * const runningMean = new Float32Array(1);
 * const runningVar = new Float32Array(1).fill(1);
 * const x = tensor([1, 3, 10, 30], [2, 1, 2]);
 * instanceNorm(x, { runningMean, runningVar, momentum: 1 }); // running := the batch mean of the instances
 * const z = instanceNorm(x, { runningMean, runningVar, useInputStats: false, eps: 0 });
 * console.log(Array.from(runningMean), Array.from(z.data, (v) => v.toFixed(4)).join(' ')); // prints: [ 11 ] -0.9950 -0.7960 -0.0995 1.8906
 * ```
 */
export interface InstanceNormOptions {
  /**
   * Per-channel running mean, C values: updated in place with `useInputStats`, read without.
   *
   * @defaultValue `undefined` (or `null`): none; required without `useInputStats`
   */
  runningMean?: Float32Array | null;
  /**
   * Per-channel running variance, C values: updated in place (with the batch mean of the
   * unbiased per-instance variances) with `useInputStats`, read without.
   *
   * @defaultValue `undefined` (or `null`): none; required without `useInputStats`
   */
  runningVar?: Float32Array | null;
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
   * Normalize each instance with its own statistics (`true`), or with the running statistics
   * (`false`).
   *
   * @defaultValue `true`
   */
  useInputStats?: boolean;
  /**
   * `running = (1 - momentum) * running + momentum * meanOverBatch`: a finite number.
   *
   * @defaultValue `0.1`
   */
  momentum?: number;
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
 * Instance normalization, as `torch.nn.functional.instance_norm`: each sample's channel is
 * normalized with the mean and biased variance of its own spatial positions,
 * `(x - mean[n, c]) / sqrt(var[n, c] + eps) * weight[c] + bias[c]`; with `useInputStats` and
 * running statistics given, those are updated as PyTorch does.
 *
 * @param input - The logical `(N, C, ...spatial)` tensor, rank 2 or more.
 * @param options - Running statistics, parameters, `useInputStats`, `momentum`, `eps`, `layout`,
 *   `out`: {@link InstanceNormOptions}.
 * @returns A tensor of `input.shape`, in `input`'s layout, whose data is `out` when given.
 * @throws {@link TypeError} when `input` is not a tensor (`data` a `Float32Array`, `shape` an
 * array of numbers), an argument or option has the wrong type (`layout` not a string), or an option is
 * unknown.
 * @throws {@link RangeError} when a dimension of `input.shape` is not a non-negative integer,
 * `input.data` does not hold `prod(input.shape)` values, the rank is below 2,
 * `useInputStats` with one spatial position (as PyTorch's ValueError), no running statistics
 * without `useInputStats`, `momentum` is not finite, the running statistics overlap the other
 * arrays,
 * `layout` is another string, an array option has the wrong length, `eps` is negative or not
 * finite, or `out` overlaps another
 * array of the call (other than being `input.data` itself, in place). Nothing is written then.
 *
 * @example
 * ```js
 * const { tensor, instanceNorm } = require('normkit');
 * // (N, C, L) = (2, 1, 4): each sample's channel is normalized on its own.
 * const y = instanceNorm(tensor([1, 2, 3, 4, 10, 20, 30, 40], [2, 1, 4]));
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -0.4472 0.4472 1.3416 -1.3416 -0.4472 0.4472 1.3416
 * ```
 */
export function instanceNorm(input: Tensor, options?: InstanceNormOptions): Tensor {
  return run(activeKernels, input, options) as Tensor;
}

/**
 * The async twin of {@link instanceNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link instanceNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, instanceNormAsync } = require('normkit');
 * instanceNormAsync(tensor([1, 3, 10, 30], [2, 1, 2])).then((y) => {
 *   console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.0000 1.0000 -1.0000 1.0000
 * });
 * ```
 */
export function instanceNormAsync(
  input: Tensor,
  options?: InstanceNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, options) as Promise<Tensor>;
}

/**
 * What {@link instanceNorm} computes for an input shape, without computing it: one mean/variance pair per
 * sample and channel, each over `prod(spatial)` values, parameters of shape `[C]`.
 *
 * @param shape - The logical `(N, C, ...spatial)` input shape, rank 2 or more.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer or the rank is below 2.
 *
 * @example
 * ```js
 * const { describeInstanceNorm } = require('normkit');
 * console.log(describeInstanceNorm([32, 64, 56, 56])); // prints: { statistics: 2048, valuesPerStatistic: 3136, paramShape: [ 64 ] }
 * ```
 */
export function describeInstanceNorm(shape: readonly number[]): NormDescription {
  return describeOp(instanceNormOp, [shape]);
}

/**
 * Constructor options of the InstanceNorm classes: `torch.nn.InstanceNorm2d`'s keyword
 * arguments.
 *
 * @example
 * ```js
 * const { InstanceNorm2d } = require('normkit');
 * const norm = new InstanceNorm2d(3, { affine: true, trackRunningStats: true, momentum: 0.01 });
 * console.log(norm.weight.length, norm.runningVar.length, norm.momentum); // prints: 3 3 0.01
 * ```
 */
export interface InstanceNormModuleOptions extends RunningStatsModuleOptions {
  /**
   * The running statistics' factor, a finite number; `null` is 0, as PyTorch passes it (the
   * running statistics never move).
   *
   * @defaultValue `0.1`
   */
  momentum?: number | null;
  /**
   * Whether the module has a learnable per-channel `weight` (ones) and `bias` (zeros).
   *
   * @defaultValue `false`, as PyTorch
   */
  affine?: boolean;
  /**
   * Whether the module keeps running statistics and uses them in eval.
   *
   * @defaultValue `false`, as PyTorch
   */
  trackRunningStats?: boolean;
}

/**
 * The state of an InstanceNorm module under PyTorch's `state_dict` keys: see
 * {@link RunningStatsStateDict} (`{}` by default: no `affine`, no `trackRunningStats`).
 *
 * @example
 * ```js
 * const { InstanceNorm1d } = require('normkit');
 * console.log(new InstanceNorm1d(2).stateDict()); // prints: {}
 * console.log(Object.keys(new InstanceNorm1d(2, { trackRunningStats: true }).stateDict()).join(', ')); // prints: running_mean, running_var, num_batches_tracked
 * ```
 */
export type InstanceNormStateDict = RunningStatsStateDict;

/**
 * The shared base of {@link InstanceNorm1d}, {@link InstanceNorm2d} and
 * {@link InstanceNorm3d}, as PyTorch's `_InstanceNorm`: each sample's channel normalized on its
 * own, unbatched inputs taken as a batch of one. It is abstract; use it to type or test for any
 * InstanceNorm module.
 *
 * @example
 * ```js
 * const { InstanceNorm1d, InstanceNorm3d, InstanceNormBase } = require('normkit');
 * console.log([new InstanceNorm1d(2), new InstanceNorm3d(2)].every((m) => m instanceof InstanceNormBase)); // prints: true
 * ```
 */
export abstract class InstanceNormBase extends RunningStatsModule {
  /**
   * @param numFeatures - C, the number of channels: a positive integer.
   * @param options - See {@link InstanceNormModuleOptions}.
   * @throws {@link TypeError} when an argument or option has the wrong type, or an option is unknown.
   * @throws {@link RangeError} when a size is not a positive integer, `eps` is negative or not finite, `momentum` is not finite,
   *   or a parameter would exceed 2^30 values.
   */
  constructor(numFeatures: number, options?: InstanceNormModuleOptions) {
    super(numFeatures, options, { affine: false, trackRunningStats: false });
  }

  /** The rank of a batched input; one less is an unbatched input (a batch of one). */
  protected abstract readonly rank: number;

  /**
   * {@link instanceNorm} of `input` with the module's parameters and options.
   * In training mode, or without `trackRunningStats`, each instance's own statistics (updating
   * the running statistics when tracked); in eval mode with `trackRunningStats`, the running
   * statistics. An unbatched input gives an unbatched result.
   *
   * @param input - A tensor of logical shape `(N, C, ...spatial)` of the class's rank, or
   *   unbatched `(C, ...spatial)`; with `affine` or `trackRunningStats`, C is `numFeatures`.
   * @param options - `out`: where to write the result, as the function's `out`.
   * @returns A tensor of `input.shape`.
   * @throws {@link TypeError} / {@link RangeError} as {@link instanceNorm}, and a `RangeError` when the input's
   *   rank or channel count does not fit the module. A call that throws changes nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    const [x, opts, shape] = this.prepare(input, options, false);
    const result = instanceNorm(x, opts);
    return shape ? { data: result.data, shape } : result;
  }

  /**
   * The async twin of {@link InstanceNormBase.forward} (see {@link instanceNormAsync}): the same arguments plus an
   * optional `signal`.
   * The running statistics change when the promise resolves, and not at all when it rejects.
   *
   * @returns A promise of the result; a bad argument rejects it, never throws.
   *
   * @example
   * ```js
   * const { tensor, InstanceNorm1d } = require('normkit');
   * new InstanceNorm1d(2).forwardAsync(tensor([1, 2, 3, 10, 20, 30], [2, 3])).then((y) => console.log(y.shape)); // prints: [ 2, 3 ]
   * ```
   */
  async forwardAsync(
    input: Tensor,
    options?: { out?: Float32Array } & AsyncOptions,
  ): Promise<Tensor> {
    const [x, opts, shape] = this.prepare(input, options, true);
    const result = await instanceNormAsync(x, opts);
    return shape ? { data: result.data, shape } : result;
  }

  /** The op's arguments; the caller's shape when the input is unbatched (else null). */
  private prepare(
    input: unknown,
    options: unknown,
    async: boolean,
  ): [Tensor, InstanceNormOptions & AsyncOptions, number[] | null] {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    const x = this.readInput(input, [this.rank - 1, this.rank]);
    const unbatched = x.shape.length === this.rank - 1;
    const channels = x.shape[unbatched ? 0 : 1];
    // PyTorch requires the channel count where something depends on it (it only warns otherwise).
    if (channels !== this.numFeatures && (this.affine || this.trackRunningStats)) {
      throw invalid(
        'range',
        unbatched ? 'input.shape[0]' : 'input.shape[1]',
        `${this.numFeatures} channels (numFeatures)`,
        channels,
      );
    }
    const useInputStats = this.training || !this.trackRunningStats;
    const shape = x.shape as number[];
    if (unbatched) {
      // Checked here on the caller's shape, so messages never show the batch of one added below.
      checkTensorLength('input', x.data, shape);
      if (useInputStats && numelOf(shape.slice(1)) === 1) {
        throw invalid(
          'range',
          'input.shape',
          'more than 1 spatial value per channel with useInputStats',
          shape,
        );
      }
    }
    const opts: InstanceNormOptions & AsyncOptions = {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      useInputStats,
      momentum: this.momentum ?? 0,
      eps: this.eps,
      layout: this.layout,
      out: o.out as Float32Array | undefined,
    };
    if (async) opts.signal = o.signal as AbortSignal | undefined;
    return [unbatched ? { data: x.data, shape: [1, ...shape] } : x, opts, unbatched ? shape : null];
  }
}

/**
 * `torch.nn.InstanceNorm1d`: input `(N, C, L)`, or unbatched `(C, L)`.
 *
 * @example
 * ```js
 * const { tensor, InstanceNorm1d } = require('normkit');
 * const seq = new InstanceNorm1d(2); // no parameters, no running statistics
 * const y = seq.forward(tensor([1, 2, 3, 10, 20, 30], [2, 3])); // unbatched (C, L)
 * console.log(y.shape, Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: [ 2, 3 ] -1.2247 0.0000 1.2247 -1.2247 0.0000 1.2247
 * ```
 */
export class InstanceNorm1d extends InstanceNormBase {
  protected readonly rank = 3;
}

/**
 * `torch.nn.InstanceNorm2d`: input `(N, C, H, W)`, or unbatched `(C, H, W)`.
 *
 * @example
 * ```js
 * const { tensor, InstanceNorm2d } = require('normkit');
 * const norm = new InstanceNorm2d(3, { affine: true, trackRunningStats: true });
 * const x = tensor(new Float32Array(2 * 3 * 4 * 4).map(Math.cos), [2, 3, 4, 4]);
 * norm.forward(x); // training: instance statistics, running statistics updated
 * console.log(norm.eval().forward(x).shape, Object.keys(norm.stateDict()).length); // prints: [ 2, 3, 4, 4 ] 5
 * ```
 */
export class InstanceNorm2d extends InstanceNormBase {
  protected readonly rank = 4;
}

/**
 * `torch.nn.InstanceNorm3d`: input `(N, C, D, H, W)`, or unbatched `(C, D, H, W)`.
 *
 * @example
 * ```js
 * const { tensor, InstanceNorm3d } = require('normkit');
 * const norm = new InstanceNorm3d(2, { layout: 'channels_last' }); // data stored (N, D, H, W, C)
 * console.log(norm.forward(tensor(new Float32Array(32).map(Math.sin), [2, 2, 2, 2, 2])).shape); // prints: [ 2, 2, 2, 2, 2 ]
 * ```
 */
export class InstanceNorm3d extends InstanceNormBase {
  protected readonly rank = 5;
}
