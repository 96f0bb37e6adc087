// State and logic shared by the modules that keep running statistics (BatchNorm*, InstanceNorm*),
// as PyTorch's `_NormBase`: parameters, running buffers, train/eval, the momentum-or-average
// factor, and strict state dicts.
import { allocParam, readStateDict, writeStateDict } from './state-dict';
import type { Layout, Tensor } from './tensor';
import {
  checkBoolean,
  checkEps,
  checkLayout,
  checkPositiveInteger,
  invalid,
  readOptions,
  readTensor,
} from './validate';

/**
 * Constructor options shared by the modules with running statistics (the BatchNorm and
 * InstanceNorm classes). Their defaults differ by family: see {@link BatchNormModuleOptions} and
 * {@link InstanceNormModuleOptions}.
 *
 * @example
 * ```js
 * const { BatchNorm1d, InstanceNorm1d } = require('normkit');
 * const options = { eps: 1e-3, momentum: 0.05, affine: true, trackRunningStats: true, layout: 'channels_first' };
 * console.log(new BatchNorm1d(4, options).momentum, new InstanceNorm1d(4, options).affine); // prints: 0.05 true
 * ```
 */
export interface RunningStatsModuleOptions {
  /**
   * Added to the variance before the square root: a finite number, 0 or more.
   *
   * @defaultValue `1e-5`
   */
  eps?: number;
  /**
   * The running statistics' factor, `running = (1 - momentum) * running + momentum * batch`:
   * a finite number, or `null` (BatchNorm: a cumulative moving average; InstanceNorm: 0, as
   * PyTorch passes it).
   *
   * @defaultValue `0.1`
   */
  momentum?: number | null;
  /**
   * Whether the module has a learnable per-channel `weight` (ones) and `bias` (zeros).
   *
   * @defaultValue `true` for BatchNorm, `false` for InstanceNorm (as PyTorch)
   */
  affine?: boolean;
  /**
   * Whether the module keeps running statistics and uses them in eval.
   *
   * @defaultValue `true` for BatchNorm, `false` for InstanceNorm (as PyTorch)
   */
  trackRunningStats?: boolean;
  /**
   * How the inputs' data is stored: `'channels_first'`, `(N, C, ...spatial)`, or
   * `'channels_last'`, `(N, ...spatial, C)`; shapes are always logical.
   *
   * @defaultValue `'channels_first'`
   */
  layout?: Layout;
}

/**
 * The state of a module with running statistics under PyTorch's `state_dict` keys. Which keys
 * depend on the module's options, and each listed key is required, as PyTorch's strict loading
 * requires it:
 *
 * - `affine` and `trackRunningStats` (BatchNorm's default): `weight`, `bias`, `running_mean`,
 *   `running_var`, `num_batches_tracked`;
 * - `affine` only: `weight`, `bias`;
 * - `trackRunningStats` only: `running_mean`, `running_var`, `num_batches_tracked`;
 * - neither (InstanceNorm's default): `{}`.
 *
 * The arrays are `Float32Array`s of `numFeatures` values; `num_batches_tracked` is a number (a
 * tensor in PyTorch).
 *
 * @example
 * ```js
 * const { BatchNorm1d } = require('normkit');
 * const keys = (m) => Object.keys(m.stateDict()).join(', ');
 * console.log(keys(new BatchNorm1d(2))); // prints: weight, bias, running_mean, running_var, num_batches_tracked
 * console.log(keys(new BatchNorm1d(2, { affine: false }))); // prints: running_mean, running_var, num_batches_tracked
 * console.log(keys(new BatchNorm1d(2, { trackRunningStats: false }))); // prints: weight, bias
 * ```
 */
export type RunningStatsStateDict =
  | {
      weight: Float32Array;
      bias: Float32Array;
      running_mean: Float32Array;
      running_var: Float32Array;
      num_batches_tracked: number;
    }
  | {
      weight: Float32Array;
      bias: Float32Array;
      running_mean?: never;
      running_var?: never;
      num_batches_tracked?: never;
    }
  | {
      weight?: never;
      bias?: never;
      running_mean: Float32Array;
      running_var: Float32Array;
      num_batches_tracked: number;
    }
  | {
      weight?: never;
      bias?: never;
      running_mean?: never;
      running_var?: never;
      num_batches_tracked?: never;
    };

const MODULE_OPTIONS = ['eps', 'momentum', 'affine', 'trackRunningStats', 'layout'] as const;

/**
 * The shared base of {@link BatchNormBase} and {@link InstanceNormBase}, as PyTorch's
 * `_NormBase`: parameters, running statistics, train/eval mode and strict state dicts. It is
 * abstract; use it to type or test for "a module with running statistics".
 *
 * @example
 * ```js
 * const { BatchNorm2d, InstanceNorm2d, RunningStatsModule } = require('normkit');
 * const modules = [new BatchNorm2d(8), new InstanceNorm2d(8, { trackRunningStats: true })];
 * for (const m of modules) m.eval(); // every module with running statistics, to inference
 * console.log(modules.every((m) => m instanceof RunningStatsModule && !m.training)); // prints: true
 * ```
 */
export abstract class RunningStatsModule {
  /**
   * C, the number of channels.
   */
  readonly numFeatures: number;
  /**
   * Added to the variance.
   */
  readonly eps: number;
  /**
   * The running statistics' factor; `null` as in {@link RunningStatsModuleOptions.momentum}.
   */
  readonly momentum: number | null;
  /**
   * Whether the module has `weight` and `bias`.
   */
  readonly affine: boolean;
  /**
   * Whether the module keeps running statistics.
   */
  readonly trackRunningStats: boolean;
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
   * Running mean, initially zeros; `null` without `trackRunningStats`.
   */
  readonly runningMean: Float32Array | null;
  /**
   * Running variance, initially ones; `null` without `trackRunningStats`.
   */
  readonly runningVar: Float32Array | null;
  /**
   * Training batches seen: counted by the BatchNorm classes with `trackRunningStats` (never by
   * InstanceNorm, as in PyTorch). Must stay a non-negative integer.
   */
  numBatchesTracked = 0;
  /**
   * Training mode (`true`, initially, as in PyTorch) or eval mode; set by {@link RunningStatsModule.train} and {@link RunningStatsModule.eval}.
   */
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

  /**
   * Sets training mode (`true`) or eval mode (`false`).
   *
   * @param mode - The mode; defaults to `true`.
   * @returns This module.
   * @throws {@link TypeError} when `mode` is not a boolean.
   */
  train(mode = true): this {
    this.training = checkBoolean('mode', mode, true);
    return this;
  }

  /**
   * Sets eval mode: `train(false)`.
   *
   * @returns This module.
   */
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

  /**
   * Copies of the module's state under PyTorch's keys (see {@link RunningStatsStateDict}).
   *
   * @returns A new object of new arrays: changing it does not change the module.
   */
  stateDict(): RunningStatsStateDict {
    const d: Record<string, Float32Array | number> = {};
    if (this.weight) d.weight = this.weight.slice();
    if (this.bias) d.bias = this.bias.slice();
    if (this.runningMean) d.running_mean = this.runningMean.slice();
    if (this.runningVar) d.running_var = this.runningVar.slice();
    if (this.trackRunningStats) d.num_batches_tracked = this.numBatchesTracked;
    return d as RunningStatsStateDict;
  }

  /**
   * Copies state in, strictly as PyTorch's `load_state_dict`: every key the module has must be
   * present, with a `Float32Array` of the right length (`num_batches_tracked` a
   * non-negative safe integer), and no other key.
   *
   * @param dict - A {@link RunningStatsStateDict}, as {@link RunningStatsModule.stateDict} returns.
   * @throws {@link TypeError} when `dict` is not an object or a value has the wrong type.
   * @throws {@link RangeError} when a key is missing or unknown, or a value has the wrong length or
   *   range. Nothing is changed then.
   */
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
