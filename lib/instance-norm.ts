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
import { checkTensorLength, invalid, type Layout, numelOf, readOptions } from './validate';

const run = compileOp(instanceNormOp);
const runAsync = compileOp(instanceNormOp, true);

/** Options of {@link instanceNorm}. */
export interface InstanceNormOptions {
  /** Per-channel running mean (C values): read without `useInputStats`, else updated in place. */
  runningMean?: Float32Array | null;
  /** Per-channel running variance (C values): read without `useInputStats`, else updated in place (unbiased). */
  runningVar?: Float32Array | null;
  /** Per-channel scale; omitted means 1. */
  weight?: Float32Array | null;
  /** Per-channel shift; omitted means 0. */
  bias?: Float32Array | null;
  /** Each instance's own statistics (true, the default) or the running ones (false). */
  useInputStats?: boolean;
  /** `running = (1 - momentum) * running + momentum * batchMeanOfInstances`. Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** How `data` is stored: `(N, C, ...spatial)` (default) or `(N, ...spatial, C)`. */
  layout?: Layout;
  /** Where to write the result; may be `input.data` (in place). */
  out?: Float32Array;
}

/**
 * Instance normalization, as `torch.nn.functional.instance_norm`: each sample's channel is
 * normalized over its spatial axes (logical shape `(N, C, ...spatial)`). With running statistics
 * and `useInputStats`, each is updated with the batch mean of the per-instance statistics
 * (unbiased variance), as PyTorch does; with `useInputStats: false` they normalize instead.
 *
 * @example
 * const x = { data: new Float32Array(2 * 3 * 4).map((_, i) => (i * 7) % 5), shape: [2, 3, 4] };
 * const y = instanceNorm(x); // every (sample, channel) row of 4 values: mean 0, variance ~1
 */
export function instanceNorm(input: Tensor, options?: InstanceNormOptions): Tensor {
  return run(activeKernels, input, options) as Tensor;
}

/**
 * The async twin of {@link instanceNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const y = await instanceNormAsync({ data: new Float32Array(12).map(Math.random), shape: [1, 3, 4] });
 */
export function instanceNormAsync(
  input: Tensor,
  options?: InstanceNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, options) as Promise<Tensor>;
}

/**
 * What InstanceNorm computes for a logical `(N, C, ...spatial)` shape, without computing it.
 *
 * @example
 * describeInstanceNorm([2, 3, 4, 4]); // { statistics: 6, valuesPerStatistic: 16, paramShape: [3] }
 */
export function describeInstanceNorm(shape: readonly number[]): NormDescription {
  return describeOp(instanceNormOp, [shape]);
}

/** Constructor options of the InstanceNorm classes. */
export interface InstanceNormModuleOptions extends RunningStatsModuleOptions {
  /** Running-statistics factor (null is 0, as PyTorch). Default 0.1. */
  momentum?: number | null;
  /** Learnable weight (ones) and bias (zeros). Default false. */
  affine?: boolean;
  /** Keep running statistics and use them in eval. Default false. */
  trackRunningStats?: boolean;
}

/** An InstanceNorm module's state under PyTorch's `state_dict` keys. */
export type InstanceNormStateDict = RunningStatsStateDict;

/** Shared logic of InstanceNorm1d, InstanceNorm2d and InstanceNorm3d (`torch.nn.modules.instancenorm._InstanceNorm`). */
export abstract class InstanceNormBase extends RunningStatsModule {
  constructor(numFeatures: number, options?: InstanceNormModuleOptions) {
    super(numFeatures, options, { affine: false, trackRunningStats: false });
  }

  /** The rank of a batched input; one less is an unbatched input (a batch of one). */
  protected abstract readonly rank: number;

  /**
   * Normalizes `input`: batched `(N, C, ...spatial)` or unbatched `(C, ...spatial)`. In training
   * mode with `trackRunningStats` the running statistics are updated. A call that throws changes
   * nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    const [x, opts, shape] = this.prepare(input, options, false);
    const result = instanceNorm(x, opts);
    return shape ? { data: result.data, shape } : result;
  }

  /**
   * The async twin of `forward`; running statistics change when the promise resolves.
   *
   * @example
   * const y = await new InstanceNorm1d(2).forwardAsync({ data: new Float32Array(8).map(Math.random), shape: [1, 2, 4] });
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
 * `torch.nn.InstanceNorm1d`: input `(N, C, L)` or `(C, L)`.
 *
 * @example
 * const norm = new InstanceNorm1d(3);
 * norm.forward({ data: new Float32Array(2 * 3 * 5).map(Math.random), shape: [2, 3, 5] });
 */
export class InstanceNorm1d extends InstanceNormBase {
  protected readonly rank = 3;
}

/**
 * `torch.nn.InstanceNorm2d`: input `(N, C, H, W)` or `(C, H, W)`.
 *
 * @example
 * const norm = new InstanceNorm2d(3, { affine: true, trackRunningStats: true });
 * norm.forward({ data: new Float32Array(2 * 3 * 4 * 4).map(Math.random), shape: [2, 3, 4, 4] });
 */
export class InstanceNorm2d extends InstanceNormBase {
  protected readonly rank = 4;
}

/**
 * `torch.nn.InstanceNorm3d`: input `(N, C, D, H, W)` or `(C, D, H, W)`.
 *
 * @example
 * const norm = new InstanceNorm3d(2).eval();
 * norm.forward({ data: new Float32Array(2 * 2 * 2 * 2 * 2).map(Math.random), shape: [2, 2, 2, 2, 2] });
 */
export class InstanceNorm3d extends InstanceNormBase {
  protected readonly rank = 5;
}
