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
import { invalid, type Layout, readOptions } from './validate';

const run = compileOp(batchNormOp);
const runAsync = compileOp(batchNormOp, true);

export type { Layout } from './validate';

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Per-channel running mean (C values): read in eval, updated in place in training. */
  runningMean?: Float32Array | null;
  /** Per-channel running variance (C values): read in eval, updated in place (unbiased) in training. */
  runningVar?: Float32Array | null;
  /** Per-channel scale (gamma); omitted means 1. */
  weight?: Float32Array | null;
  /** Per-channel shift (beta); omitted means 0. */
  bias?: Float32Array | null;
  /** Batch statistics (true) or running statistics (false, the default). */
  training?: boolean;
  /** `running = (1 - momentum) * running + momentum * batch`. Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** How `data` is stored: `(N, C, ...spatial)` or `(N, ...spatial, C)`. `shape` is always `(N, C, ...spatial)`. */
  layout?: Layout;
  /** Where to write the result; may be `input.data` (in place). */
  out?: Float32Array;
}

/**
 * Batch normalization over the batch and spatial axes of each channel, as
 * `torch.nn.functional.batch_norm`. `input.shape` is the logical `(N, C, ...spatial)` shape,
 * rank 2 to 5.
 *
 * @example
 * const x = { data: new Float32Array(2 * 3 * 4 * 4).map(Math.random), shape: [2, 3, 4, 4] };
 * const runningMean = new Float32Array(3), runningVar = new Float32Array(3).fill(1);
 * const y = batchNorm(x, { runningMean, runningVar, training: true }); // updates the running stats
 */
export function batchNorm(input: Tensor, options?: BatchNormOptions): Tensor {
  return run(activeKernels, input, options) as Tensor;
}

/**
 * The async twin of {@link batchNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const y = await batchNormAsync({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }, { training: true });
 */
export function batchNormAsync(
  input: Tensor,
  options?: BatchNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, options) as Promise<Tensor>;
}

/**
 * What BatchNorm computes for a logical `(N, C, ...spatial)` shape, without computing it.
 *
 * @example
 * describeBatchNorm([2, 3, 4, 4]); // { statistics: 3, valuesPerStatistic: 32, paramShape: [3] }
 */
export function describeBatchNorm(shape: readonly number[]): NormDescription {
  return describeOp(batchNormOp, [shape]);
}

/** Constructor options of the BatchNorm classes. */
export interface BatchNormModuleOptions extends RunningStatsModuleOptions {
  /** Running-statistics factor; `null` means a cumulative moving average. Default 0.1. */
  momentum?: number | null;
  /** Learnable weight (ones) and bias (zeros). Default true. */
  affine?: boolean;
  /** Keep running statistics and use them in eval. Default true. */
  trackRunningStats?: boolean;
}

/** A BatchNorm module's state under PyTorch's `state_dict` keys. */
export type BatchNormStateDict = RunningStatsStateDict;

/** Shared state and logic of BatchNorm1d, BatchNorm2d and BatchNorm3d (`torch.nn.modules.batchnorm._BatchNorm`). */
export abstract class BatchNormBase extends RunningStatsModule {
  constructor(numFeatures: number, options?: BatchNormModuleOptions) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
  }

  /** The input ranks this class accepts, as PyTorch's `_check_input_dim`. */
  protected abstract readonly ranks: readonly number[];

  /**
   * Normalizes `input` (logical shape `(N, C, ...spatial)`); in training mode updates the running
   * statistics and `numBatchesTracked`. A call that throws changes nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    const [x, opts, counting] = this.prepare(input, options, false);
    const result = batchNorm(x, opts);
    if (counting) this.numBatchesTracked += 1;
    return result;
  }

  /**
   * The async twin of `forward`: the running statistics and `numBatchesTracked` change together
   * when the promise resolves, and not at all when it rejects.
   *
   * @example
   * const y = await new BatchNorm1d(2).forwardAsync({ data: new Float32Array([1, 2, 3, 5]), shape: [2, 2] });
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
 * const bn = new BatchNorm1d(3);
 * bn.forward({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
 */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
}

/**
 * `torch.nn.BatchNorm2d`: input `(N, C, H, W)`.
 *
 * @example
 * const bn = new BatchNorm2d(3).eval();
 * bn.forward({ data: new Float32Array(2 * 3 * 4 * 4), shape: [2, 3, 4, 4] });
 */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
}

/**
 * `torch.nn.BatchNorm3d`: input `(N, C, D, H, W)`.
 *
 * @example
 * const bn = new BatchNorm3d(2, { layout: 'channels_last' });
 * bn.forward({ data: new Float32Array(2 * 2 * 2 * 2 * 2).map(Math.random), shape: [2, 2, 2, 2, 2] });
 */
export class BatchNorm3d extends BatchNormBase {
  protected readonly ranks = [5];
}
