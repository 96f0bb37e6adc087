import { activeKernels } from './native';
import type { NormDescription } from './op';
import { groupNormOp } from './ops/group-norm';
import { allocParam, copyState, readStateDict, writeStateDict } from './state-dict';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
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

const run = compileOp(groupNormOp);
const runAsync = compileOp(groupNormOp, true);

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  /** Per-channel scale (C values); omitted means 1. */
  weight?: Float32Array | null;
  /** Per-channel shift (C values); omitted means 0. */
  bias?: Float32Array | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** How `data` is stored: `(N, C, ...spatial)` (default) or `(N, ...spatial, C)`. `shape` is always `(N, C, ...spatial)`. */
  layout?: Layout;
  /** Where to write the result; may be `input.data` (in place). */
  out?: Float32Array;
}

/**
 * Group normalization, as `torch.nn.functional.group_norm`: the C channels of `input` (logical
 * shape `(N, C, ...spatial)`, rank 2 or more) are split into `numGroups` groups of consecutive
 * channels, each sample's group is normalized by its own mean and biased variance, then each
 * channel is scaled and shifted by `weight[c]` and `bias[c]`. `C` must be a multiple of
 * `numGroups`.
 *
 * @example
 * const x = { data: new Float32Array(2 * 4 * 3).map((_, i) => i % 7), shape: [2, 4, 3] };
 * const y = groupNorm(x, 2); // 2 groups of 2 channels per sample
 */
export function groupNorm(input: Tensor, numGroups: number, options?: GroupNormOptions): Tensor {
  return run(activeKernels, input, numGroups, options) as Tensor;
}

/**
 * The async twin of {@link groupNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const y = await groupNormAsync({ data: new Float32Array(12).map(Math.random), shape: [1, 4, 3] }, 2);
 */
export function groupNormAsync(
  input: Tensor,
  numGroups: number,
  options?: GroupNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, numGroups, options) as Promise<Tensor>;
}

/**
 * What GroupNorm computes for a logical `(N, C, ...spatial)` shape, without computing it.
 *
 * @example
 * describeGroupNorm([2, 6, 4, 4], 3); // { statistics: 6, valuesPerStatistic: 32, paramShape: [6] }
 */
export function describeGroupNorm(shape: readonly number[], numGroups: number): NormDescription {
  return describeOp(groupNormOp, [shape, numGroups]);
}

/** Constructor options of {@link GroupNorm}. */
export interface GroupNormModuleOptions {
  eps?: number;
  /** Learnable per-channel weight (ones) and bias (zeros). Default true. */
  affine?: boolean;
  layout?: Layout;
}

/** The parameters of a {@link GroupNorm}, with PyTorch's `state_dict` keys. */
export interface GroupNormStateDict {
  weight?: Float32Array;
  bias?: Float32Array;
}

/**
 * `torch.nn.GroupNorm`: `numGroups` groups over `numChannels` channels, with per-channel
 * `weight` (ones) and `bias` (zeros) when `affine`.
 *
 * @example
 * const gn = new GroupNorm(2, 4);
 * const y = gn.forward({ data: new Float32Array(2 * 4 * 3).map(Math.random), shape: [2, 4, 3] });
 */
export class GroupNorm {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  readonly layout: Layout;
  readonly weight: Float32Array | null;
  readonly bias: Float32Array | null;

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

  /** Normalizes `input`; `out` as in {@link groupNorm}. */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    return groupNorm(this.input(input), this.numGroups, this.options(options, false));
  }

  /**
   * The async twin of `forward` (see {@link groupNormAsync}).
   *
   * @example
   * const y = await module.forwardAsync(input);
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

  /** Copies of the parameters under PyTorch's keys. */
  stateDict(): GroupNormStateDict {
    return copyState(this.targets());
  }

  /** Copies parameters in; strict as PyTorch's loading. */
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
