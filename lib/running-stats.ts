// State and logic shared by the modules that keep running statistics (BatchNorm*, InstanceNorm*),
// as PyTorch's `_NormBase`: parameters, running buffers, train/eval, the momentum-or-average
// factor, and strict state dicts.
import { allocParam, readStateDict, writeStateDict } from './state-dict';
import type { Tensor } from './tensor';
import {
  checkBoolean,
  checkEps,
  checkLayout,
  checkPositiveInteger,
  invalid,
  type Layout,
  readOptions,
  readTensor,
} from './validate';

/** Constructor options of the modules with running statistics. */
export interface RunningStatsModuleOptions {
  eps?: number;
  /** Running-statistics factor; `null` means a cumulative moving average (BatchNorm). */
  momentum?: number | null;
  /** Learnable weight (ones) and bias (zeros). */
  affine?: boolean;
  /** Keep running statistics and use them in eval. */
  trackRunningStats?: boolean;
  layout?: Layout;
}

/** A module's state under PyTorch's `state_dict` keys. */
export interface RunningStatsStateDict {
  weight?: Float32Array;
  bias?: Float32Array;
  running_mean?: Float32Array;
  running_var?: Float32Array;
  num_batches_tracked?: number;
}

const MODULE_OPTIONS = ['eps', 'momentum', 'affine', 'trackRunningStats', 'layout'] as const;

/** The shared base of BatchNormBase and InstanceNormBase (`torch.nn.modules.batchnorm._NormBase`). */
export abstract class RunningStatsModule {
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
  /** Training batches seen (counted by BatchNorm with `trackRunningStats`). */
  numBatchesTracked = 0;
  /** Batch statistics (true, the initial mode) or running statistics. */
  training = true;

  protected constructor(
    numFeatures: number,
    options: unknown,
    defaults: { affine: boolean; trackRunningStats: boolean },
  ) {
    this.numFeatures = checkPositiveInteger('numFeatures', numFeatures);
    const o = readOptions('options', options, MODULE_OPTIONS);
    this.eps = checkEps('eps', o.eps);
    if (o.momentum === null) this.momentum = null;
    else if (o.momentum === undefined) this.momentum = 0.1;
    else if (typeof o.momentum !== 'number')
      throw invalid('type', 'momentum', 'a number or null', o.momentum);
    else if (!Number.isFinite(o.momentum))
      throw invalid('range', 'momentum', 'a finite number', o.momentum);
    else this.momentum = o.momentum;
    this.affine = checkBoolean('affine', o.affine, defaults.affine);
    this.trackRunningStats = checkBoolean(
      'trackRunningStats',
      o.trackRunningStats,
      defaults.trackRunningStats,
    );
    this.layout = checkLayout(o.layout);
    this.weight = this.affine ? allocParam('numFeatures', numFeatures, 1) : null;
    this.bias = this.affine ? allocParam('numFeatures', numFeatures, 0) : null;
    this.runningMean = this.trackRunningStats ? allocParam('numFeatures', numFeatures, 0) : null;
    this.runningVar = this.trackRunningStats ? allocParam('numFeatures', numFeatures, 1) : null;
  }

  /** Sets training mode (true) or eval mode (false); returns this. */
  train(mode = true): this {
    this.training = checkBoolean('mode', mode, true);
    return this;
  }

  /** Sets eval mode; returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Reads `input` once and checks its rank against `ranks`; returns our own copy. */
  protected readInput(input: unknown, ranks: readonly number[]): Tensor {
    const t = readTensor('input', input);
    if (!ranks.includes(t.shape.length)) {
      const want = ranks.map((r) => `${r}D`).join(' or ');
      throw invalid(
        'range',
        'input.shape',
        `a ${want} shape for ${this.constructor.name}`,
        t.shape,
      );
    }
    return { data: t.data, shape: t.shape };
  }

  private targets() {
    return [
      ['weight', this.weight],
      ['bias', this.bias],
      ['running_mean', this.runningMean],
      ['running_var', this.runningVar],
    ] as const;
  }

  /** Copies of the state under PyTorch's keys (`num_batches_tracked` as a number). */
  stateDict(): RunningStatsStateDict {
    const d: RunningStatsStateDict = {};
    if (this.weight) d.weight = this.weight.slice();
    if (this.bias) d.bias = this.bias.slice();
    if (this.runningMean) d.running_mean = this.runningMean.slice();
    if (this.runningVar) d.running_var = this.runningVar.slice();
    if (this.trackRunningStats) d.num_batches_tracked = this.numBatchesTracked;
    return d;
  }

  /** Copies state in; every key must be present with the right length, none extra. */
  loadStateDict(dict: RunningStatsStateDict): void {
    const extra = this.trackRunningStats ? ['num_batches_tracked'] : [];
    const values = readStateDict('dict', dict, this.targets(), extra);
    if (this.trackRunningStats) {
      const n = values.num_batches_tracked;
      if (typeof n !== 'number') throw invalid('type', 'dict.num_batches_tracked', 'a number', n);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw invalid('range', 'dict.num_batches_tracked', 'a non-negative safe integer', n);
      }
    }
    writeStateDict(values, this.targets());
    if (this.trackRunningStats) this.numBatchesTracked = values.num_batches_tracked as number;
  }
}
