import { activeKernels } from './native';
import type { NormDescription } from './op';
import { batchNormOp } from './ops/batch-norm';
import {
  RunningStatsModule,
  type RunningStatsModuleOptions,
  type RunningStatsStateDict,
} from './running-stats';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import type { Layout } from './tensor';
import { invalid, readOptions } from './validate';

const run = compileOp(batchNormOp);
const runAsync = compileOp(batchNormOp, true);

export type { Layout } from './tensor';

/**
 * Options of {@link batchNorm} and {@link batchNormAsync}.
 *
 * @example
 * ```js
 * const { tensor, batchNorm } = require('normkit');
 * const runningMean = new Float32Array([0, 0]);
 * const runningVar = new Float32Array([1, 1]);
 * const x = tensor([1, 10, 3, 30], [2, 2]);
 * batchNorm(x, { training: true, momentum: 0.5, runningMean, runningVar }); // batch means 2 and 20
 * console.log(runningMean); // prints: Float32Array(2) [ 1, 10 ]
 * ```
 */
export interface BatchNormOptions {
  /**
   * Per-channel running mean, C values: read in eval, updated in place in training.
   *
   * @defaultValue `undefined` (or `null`): none; eval then throws, training updates nothing
   */
  runningMean?: Float32Array | null;
  /**
   * Per-channel running variance, C values: read in eval, updated in place in training with
   * the unbiased batch variance.
   *
   * @defaultValue `undefined` (or `null`): none; required in eval, as `runningMean`
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
   * Normalize with the batch's statistics and update the running ones (`true`), or with the
   * running statistics (`false`).
   *
   * @defaultValue `false`, as `torch.nn.functional.batch_norm`
   */
  training?: boolean;
  /**
   * `running = (1 - momentum) * running + momentum * batch`: a finite number.
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
 * Batch normalization, as `torch.nn.functional.batch_norm`: each channel is normalized over the
 * batch and spatial axes, `(x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]`, with the
 * batch's mean and biased variance in training (updating `runningMean` and `runningVar` when
 * given), or the running statistics in eval.
 *
 * @param input - The logical `(N, C, ...spatial)` tensor, rank 2 to 5.
 * @param options - Running statistics, parameters, mode, `momentum`, `eps`, `layout`, `out`:
 *   {@link BatchNormOptions}.
 * @returns A tensor of `input.shape`, in `input`'s layout, whose data is `out` when given.
 * @throws {@link TypeError} when `input` is not a tensor (`data` a `Float32Array`, `shape` an
 * array of numbers), an argument or option has the wrong type (`layout` not a string), or an option is
 * unknown.
 * @throws {@link RangeError} when a dimension of `input.shape` is not a non-negative integer,
 * `input.data` does not hold `prod(input.shape)` values, the rank is not 2 to 5,
 * training has one value per channel (`N * prod(spatial) === 1`, as PyTorch's ValueError), eval
 * has no `runningMean` or `runningVar`, `momentum` is not finite, the running statistics overlap
 * the input, the parameters or each other,
 * `layout` is another string, an array option has the wrong length, `eps` is negative or not
 * finite, or `out` overlaps another
 * array of the call (other than being `input.data` itself, in place). Nothing is written then.
 *
 * @example
 * ```js
 * const { tensor, batchNorm } = require('normkit');
 * // (N, C) = (4, 2): channel 0 is 1..4, channel 1 is 10..40.
 * const x = tensor([1, 10, 2, 20, 3, 30, 4, 40], [4, 2]);
 * const runningMean = new Float32Array(2);
 * const runningVar = new Float32Array(2).fill(1);
 * const y = batchNorm(x, { runningMean, runningVar, training: true });
 * console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.3416 -1.3416 -0.4472 -0.4472 0.4472 0.4472 1.3416 1.3416
 * console.log(Array.from(runningMean).join(' ')); // prints: 0.25 2.5
 * ```
 */
export function batchNorm(input: Tensor, options?: BatchNormOptions): Tensor {
  return run(activeKernels, input, options) as Tensor;
}

/**
 * The async twin of {@link batchNorm}: the same arguments plus an optional `signal`. The
 * arguments are checked at once; then the kernel runs off the main thread (on the libuv pool).
 * Every array of the call stays referenced, and its buffer untransferable, until the promise
 * settles; do not write into them meanwhile. See docs/api.md, "Async use, threads and worker
 * threads".
 *
 * @returns A promise of what {@link batchNorm} returns.
 * @throws Never synchronously: a bad argument rejects the promise with the `TypeError` or
 * `RangeError` the sync function throws (an unknown option's message also lists `signal`), and an
 * aborted `signal` rejects a call that has not started with a `DOMException` named `AbortError`.
 *
 * @example
 * ```js
 * const { tensor, batchNormAsync } = require('normkit');
 * batchNormAsync(tensor([1, 2, 3, 5], [2, 2]), { training: true }).then((y) => {
 *   console.log(Array.from(y.data, (v) => v.toFixed(4)).join(' ')); // prints: -1.0000 -1.0000 1.0000 1.0000
 * });
 * ```
 */
export function batchNormAsync(
  input: Tensor,
  options?: BatchNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, options) as Promise<Tensor>;
}

/**
 * What {@link batchNorm} computes for an input shape, without computing it: one mean/variance pair per
 * channel, each over `N * prod(spatial)` values, parameters of shape `[C]`.
 *
 * @param shape - The logical `(N, C, ...spatial)` input shape, rank 2 to 5.
 * @returns The number of statistics, the values each is taken over, and the parameters' shape.
 * @throws {@link TypeError} when an argument is not a number array (or number) as expected.
 * @throws {@link RangeError} when a dimension is not a non-negative integer or the rank is not 2 to 5.
 *
 * @example
 * ```js
 * const { describeBatchNorm } = require('normkit');
 * console.log(describeBatchNorm([32, 64, 56, 56])); // prints: { statistics: 64, valuesPerStatistic: 100352, paramShape: [ 64 ] }
 * ```
 */
export function describeBatchNorm(shape: readonly number[]): NormDescription {
  return describeOp(batchNormOp, [shape]);
}

/**
 * Constructor options of the BatchNorm classes: `torch.nn.BatchNorm2d`'s keyword arguments.
 *
 * @example
 * ```js
 * const { BatchNorm2d } = require('normkit');
 * const bn = new BatchNorm2d(16, { momentum: null, affine: false, trackRunningStats: true, layout: 'channels_last' });
 * console.log(bn.weight, bn.runningMean.length, bn.layout); // prints: null 16 channels_last
 * ```
 */
export interface BatchNormModuleOptions extends RunningStatsModuleOptions {
  /**
   * The running statistics' factor, a finite number; `null` for a cumulative moving average
   * (the factor `1 / numBatchesTracked`, so the running statistics average every batch seen).
   *
   * @defaultValue `0.1`
   */
  momentum?: number | null;
  /**
   * Whether the module has a learnable per-channel `weight` (ones) and `bias` (zeros).
   *
   * @defaultValue `true`
   */
  affine?: boolean;
  /**
   * Whether the module keeps running statistics and uses them in eval; without, it always
   * normalizes with the batch's statistics.
   *
   * @defaultValue `true`
   */
  trackRunningStats?: boolean;
}

/**
 * The state of a BatchNorm module under PyTorch's `state_dict` keys: see
 * {@link RunningStatsStateDict}.
 *
 * @example
 * ```js
 * const { BatchNorm1d } = require('normkit');
 * const bn = new BatchNorm1d(2);
 * const dict = bn.stateDict();
 * console.log(Object.keys(dict).join(', ')); // prints: weight, bias, running_mean, running_var, num_batches_tracked
 * new BatchNorm1d(2).loadStateDict(dict); // strict: the same keys and lengths
 * ```
 */
export type BatchNormStateDict = RunningStatsStateDict;

/**
 * The shared base of {@link BatchNorm1d}, {@link BatchNorm2d} and {@link BatchNorm3d}, as
 * PyTorch's `_BatchNorm`: one per-channel normalization over the batch, in training with the
 * batch's statistics (updating the running ones and counting `numBatchesTracked`), in eval with
 * the running statistics. It is abstract; use it to type or test for any BatchNorm module.
 *
 * @example
 * ```js
 * const { BatchNorm1d, BatchNorm2d, BatchNormBase } = require('normkit');
 * console.log([new BatchNorm1d(2), new BatchNorm2d(2)].every((m) => m instanceof BatchNormBase)); // prints: true
 * ```
 */
export abstract class BatchNormBase extends RunningStatsModule {
  /**
   * @param numFeatures - C, the number of channels: a positive integer.
   * @param options - See {@link BatchNormModuleOptions}.
   * @throws {@link TypeError} when an argument or option has the wrong type, or an option is unknown.
   * @throws {@link RangeError} when a size is not a positive integer, `eps` is negative or not finite, `momentum` is not finite,
   *   or a parameter would exceed 2^30 values.
   */
  constructor(numFeatures: number, options?: BatchNormModuleOptions) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
  }

  /** The input ranks this class accepts, as PyTorch's `_check_input_dim`. */
  protected abstract readonly ranks: readonly number[];

  /**
   * {@link batchNorm} of `input` with the module's parameters and options.
   * In training mode (and always without `trackRunningStats`) it uses the batch's statistics; in
   * training with `trackRunningStats` it also updates `runningMean` and `runningVar` in place and
   * increments `numBatchesTracked`. In eval mode it uses the running statistics.
   *
   * @param input - A tensor of logical shape `(N, numFeatures, ...spatial)` of the class's rank.
   * @param options - `out`: where to write the result, as the function's `out`.
   * @returns A tensor of `input.shape`.
   * @throws {@link TypeError} / {@link RangeError} as {@link batchNorm}, and a `RangeError` when the input's
   *   rank or channel count does not fit the module. A call that throws changes nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    const [x, opts, counting] = this.prepare(input, options, false);
    const result = batchNorm(x, opts);
    if (counting) this.numBatchesTracked += 1;
    return result;
  }

  /**
   * The async twin of {@link BatchNormBase.forward} (see {@link batchNormAsync}): the same arguments plus an
   * optional `signal`.
   * The running statistics and `numBatchesTracked` change together when the promise resolves, and
   * not at all when it rejects; concurrent training calls run in the order they were made.
   *
   * @returns A promise of the result; a bad argument rejects it, never throws.
   *
   * @example
   * ```js
   * const { tensor, BatchNorm1d } = require('normkit');
   * const bn = new BatchNorm1d(2);
   * bn.forwardAsync(tensor([1, 2, 3, 5], [2, 2])).then(() => console.log(bn.numBatchesTracked, Array.from(bn.runningMean).join(' '))); // prints: 1 0.20000000298023224 0.3499999940395355
   * ```
   */
  async forwardAsync(
    input: Tensor,
    options?: { out?: Float32Array } & AsyncOptions,
  ): Promise<Tensor> {
    const [x, opts, counting] = this.prepare(input, options, true);
    if (!counting) return batchNormAsync(x, opts);
    // Training calls that count run one after another, each with the factor and statistics the
    // previous one left (the cumulative average depends on numBatchesTracked): concurrent
    // forwardAsync calls leave what the same forward calls in a row leave.
    const run = async () => {
      if (this.momentum === null) opts.momentum = 1 / (this.numBatchesTracked + 1);
      const result = await batchNormAsync(x, opts);
      this.numBatchesTracked += 1;
      return result;
    };
    const next = this.pending.then(run, run);
    this.pending = next.catch(() => undefined);
    return next;
  }

  /** The last counting forwardAsync in flight (settled, never rejecting). */
  private pending: Promise<unknown> = Promise.resolve();

  private prepare(
    input: unknown,
    options: unknown,
    async: boolean,
  ): [Tensor, BatchNormOptions & AsyncOptions, boolean] {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    const x = this.readInput(input, this.ranks);
    if (x.shape[1] !== this.numFeatures) {
      throw invalid(
        'range',
        'input.shape[1]',
        `${this.numFeatures} channels (numFeatures)`,
        x.shape[1],
      );
    }
    const counting = this.training && this.trackRunningStats;
    const tracked = this.numBatchesTracked;
    if (!Number.isSafeInteger(tracked) || tracked < 0) {
      throw invalid('range', 'numBatchesTracked', 'a non-negative integer', tracked);
    }
    const factor =
      counting && this.momentum === null ? 1 / (this.numBatchesTracked + 1) : (this.momentum ?? 0);
    const opts: BatchNormOptions & AsyncOptions = {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      training: this.training || !this.trackRunningStats,
      momentum: factor,
      eps: this.eps,
      layout: this.layout,
      out: o.out as Float32Array | undefined,
    };
    if (async) opts.signal = o.signal as AbortSignal | undefined;
    return [x, opts, counting];
  }
}

/**
 * `torch.nn.BatchNorm1d`: input `(N, C)` or `(N, C, L)`.
 *
 * @example
 * ```js
 * const { tensor, BatchNorm1d } = require('normkit');
 * const cma = new BatchNorm1d(2, { momentum: null, affine: false }); // a cumulative average
 * cma.forward(tensor([1, 10, 3, 30], [2, 2])); // batch means 2, 20
 * cma.forward(tensor([5, 50, 7, 70], [2, 2])); // batch means 6, 60
 * console.log(cma.runningMean); // prints: Float32Array(2) [ 4, 40 ]
 * ```
 */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
}

/**
 * `torch.nn.BatchNorm2d`: input `(N, C, H, W)`.
 *
 * @example
 * ```js
 * const { tensor, BatchNorm2d } = require('normkit');
 * const bn = new BatchNorm2d(3);
 * const x = tensor(new Float32Array(2 * 3 * 4 * 4).map(Math.sin), [2, 3, 4, 4]);
 * bn.forward(x); // training: batch statistics, running statistics updated
 * const y = bn.eval().forward(x); // eval: the running statistics
 * console.log(bn.numBatchesTracked, y.shape); // prints: 1 [ 2, 3, 4, 4 ]
 * console.log(Object.keys(bn.stateDict()).join(', ')); // prints: weight, bias, running_mean, running_var, num_batches_tracked
 * ```
 */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
}

/**
 * `torch.nn.BatchNorm3d`: input `(N, C, D, H, W)`.
 *
 * @example
 * ```js
 * const { tensor, BatchNorm3d } = require('normkit');
 * const bn = new BatchNorm3d(2, { layout: 'channels_last' }); // data stored (N, D, H, W, C)
 * const y = bn.forward(tensor(new Float32Array(2 * 2 * 2 * 2 * 2).map(Math.cos), [2, 2, 2, 2, 2]));
 * console.log(y.shape); // prints: [ 2, 2, 2, 2, 2 ]
 * ```
 */
export class BatchNorm3d extends BatchNormBase {
  protected readonly ranks = [5];
}
