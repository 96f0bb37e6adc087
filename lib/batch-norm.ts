import type { Kernels } from './backend';
import type { NormDescription } from './layer-norm';
import { activeKernels } from './native';
import { referenceKernels } from './reference';
import { loadParams } from './state-dict';
import { allocFloat32, type Tensor } from './tensor';
import {
  checkBatchNormShape,
  checkBoolean,
  checkEps,
  checkLayout,
  checkOptions,
  checkPositiveInteger,
  checkShape,
  checkTensor,
  invalid,
  type Layout,
  validateBatchNorm,
} from './validate';

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

function run(kernels: Kernels, input: Tensor, options?: BatchNormOptions): Tensor {
  const p = validateBatchNorm(input, options);
  const out = p.out ?? allocFloat32(p.input.length);
  kernels.batchNormForward(
    p.input,
    p.batch,
    p.channels,
    p.spatial,
    p.channelsLast,
    p.weight,
    p.bias,
    p.runningMean,
    p.runningVar,
    p.training,
    p.momentum,
    p.eps,
    out,
  );
  return { data: out, shape: p.shape.slice() };
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
  return run(activeKernels, input, options);
}

/** {@link batchNorm} on the pure TypeScript reference backend. */
export function referenceBatchNorm(input: Tensor, options?: BatchNormOptions): Tensor {
  return run(referenceKernels, input, options);
}

/**
 * What BatchNorm computes for a logical `(N, C, ...spatial)` shape, without computing it.
 *
 * @example
 * describeBatchNorm([2, 3, 4, 4]); // { statistics: 3, valuesPerStatistic: 32, paramShape: [3] }
 */
export function describeBatchNorm(shape: readonly number[]): NormDescription {
  checkShape('shape', shape);
  checkBatchNormShape('shape', shape);
  let values = shape[0];
  for (let i = 2; i < shape.length; i++) values *= shape[i];
  return { statistics: shape[1], valuesPerStatistic: values, paramShape: [shape[1]] };
}

/** Constructor options of the BatchNorm classes. */
export interface BatchNormModuleOptions {
  eps?: number;
  /** Running-statistics factor; `null` means a cumulative moving average. Default 0.1. */
  momentum?: number | null;
  /** Learnable weight (ones) and bias (zeros). Default true. */
  affine?: boolean;
  /** Keep running statistics and use them in eval. Default true. */
  trackRunningStats?: boolean;
  layout?: Layout;
}

/** A BatchNorm module's state under PyTorch's `state_dict` keys. */
export interface BatchNormStateDict {
  weight?: Float32Array;
  bias?: Float32Array;
  running_mean?: Float32Array;
  running_var?: Float32Array;
  num_batches_tracked?: number;
}

const MODULE_OPTIONS = ['eps', 'momentum', 'affine', 'trackRunningStats', 'layout'] as const;

/** Shared state and logic of BatchNorm1d, BatchNorm2d and BatchNorm3d (`torch.nn.modules.batchnorm._BatchNorm`). */
export abstract class BatchNormBase {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly layout: Layout;
  readonly weight: Float32Array | null;
  readonly bias: Float32Array | null;
  readonly runningMean: Float32Array | null;
  readonly runningVar: Float32Array | null;
  /** Training batches seen (counted only with `trackRunningStats`). */
  numBatchesTracked = 0;
  /** Batch statistics (true, the initial mode) or running statistics. */
  training = true;

  constructor(numFeatures: number, options?: BatchNormModuleOptions) {
    this.numFeatures = checkPositiveInteger('numFeatures', numFeatures);
    const o = checkOptions<BatchNormModuleOptions>('options', options, MODULE_OPTIONS);
    this.eps = checkEps('eps', o.eps);
    if (o.momentum === null) this.momentum = null;
    else if (o.momentum === undefined) this.momentum = 0.1;
    else if (typeof o.momentum !== 'number')
      throw invalid('type', 'momentum', 'a number or null', o.momentum);
    else if (!Number.isFinite(o.momentum))
      throw invalid('range', 'momentum', 'a finite number', o.momentum);
    else this.momentum = o.momentum;
    this.affine = checkBoolean('affine', o.affine, true);
    this.trackRunningStats = checkBoolean('trackRunningStats', o.trackRunningStats, true);
    this.layout = checkLayout(o.layout);
    this.weight = this.affine ? new Float32Array(numFeatures).fill(1) : null;
    this.bias = this.affine ? new Float32Array(numFeatures) : null;
    this.runningMean = this.trackRunningStats ? new Float32Array(numFeatures) : null;
    this.runningVar = this.trackRunningStats ? new Float32Array(numFeatures).fill(1) : null;
  }

  /** The input ranks this class accepts, as PyTorch's `_check_input_dim`. */
  protected abstract readonly ranks: readonly number[];

  /** Sets training mode (true) or eval mode (false); returns this. */
  train(mode = true): this {
    this.training = checkBoolean('mode', mode, true);
    return this;
  }

  /** Sets eval mode; returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Normalizes `input` (logical shape `(N, C, ...spatial)`); in training mode updates the running
   * statistics and `numBatchesTracked`. A call that throws changes nothing.
   */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    const o = checkOptions<{ out?: Float32Array }>('options', options, ['out']);
    checkTensor('input', input);
    const { shape } = input;
    if (!this.ranks.includes(shape.length)) {
      const want = this.ranks.map((r) => `${r}D`).join(' or ');
      throw invalid('range', 'input.shape', `a ${want} shape for ${this.constructor.name}`, shape);
    }
    if (shape[1] !== this.numFeatures) {
      throw invalid(
        'range',
        'input.shape[1]',
        `${this.numFeatures} channels (numFeatures)`,
        shape[1],
      );
    }
    const counting = this.training && this.trackRunningStats;
    const factor =
      counting && this.momentum === null ? 1 / (this.numBatchesTracked + 1) : (this.momentum ?? 0);
    const result = batchNorm(input, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      training: this.training || !this.trackRunningStats,
      momentum: factor,
      eps: this.eps,
      layout: this.layout,
      out: o.out,
    });
    if (counting) this.numBatchesTracked += 1;
    return result;
  }

  /** Copies of the state under PyTorch's keys (`num_batches_tracked` as a number). */
  stateDict(): BatchNormStateDict {
    const d: BatchNormStateDict = {};
    if (this.weight) d.weight = this.weight.slice();
    if (this.bias) d.bias = this.bias.slice();
    if (this.runningMean) d.running_mean = this.runningMean.slice();
    if (this.runningVar) d.running_var = this.runningVar.slice();
    if (this.trackRunningStats) d.num_batches_tracked = this.numBatchesTracked;
    return d;
  }

  /** Copies state in; every key must be present with the right length, none extra. */
  loadStateDict(dict: BatchNormStateDict): void {
    const extra = this.trackRunningStats ? ['num_batches_tracked'] : [];
    if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
      throw invalid('type', 'dict', 'a state dict object', dict);
    }
    if (this.trackRunningStats) {
      const n = (dict as BatchNormStateDict | null)?.num_batches_tracked;
      if (typeof n !== 'number') throw invalid('type', 'dict.num_batches_tracked', 'a number', n);
      if (!Number.isInteger(n) || n < 0) {
        throw invalid('range', 'dict.num_batches_tracked', 'a non-negative integer', n);
      }
    }
    loadParams(
      'dict',
      dict,
      [
        ['weight', this.weight],
        ['bias', this.bias],
        ['running_mean', this.runningMean],
        ['running_var', this.runningVar],
      ],
      extra,
    );
    if (this.trackRunningStats) this.numBatchesTracked = dict.num_batches_tracked as number;
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
