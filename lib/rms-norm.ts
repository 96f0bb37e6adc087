import { activeKernels } from './native';
import type { NormDescription } from './op';
import { rmsNormOp } from './ops/rms-norm';
import { allocParam, copyState, readStateDict, writeStateDict } from './state-dict';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import { checkBoolean, checkEps, readNormalizedShape, readOptions } from './validate';

const run = compileOp(rmsNormOp);
const runAsync = compileOp(rmsNormOp, true);

/** Options of {@link rmsNorm}. */
export interface RmsNormOptions {
  /** Scale, `prod(normalizedShape)` values; omitted means 1. */
  weight?: Float32Array | null;
  /** Added to the mean square before the square root; omitted or null means 2^-23 (float32 epsilon, as PyTorch). */
  eps?: number | null;
  /** Where to write the result (`prod(input.shape)` values); may be `input.data` (in place). */
  out?: Float32Array;
}

/**
 * Root-mean-square normalization over the trailing `normalizedShape` axes, as
 * `torch.nn.functional.rms_norm`: `y = x / sqrt(mean(x^2) + eps) * weight`, no centring.
 *
 * @example
 * const x = { data: new Float32Array([3, 4, 0, 5]), shape: [2, 2] };
 * const y = rmsNorm(x, [2]); // [0.8485, 1.1314, 0, 1.4142]
 */
export function rmsNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: RmsNormOptions,
): Tensor {
  return run(activeKernels, input, normalizedShape, options) as Tensor;
}

/**
 * The async twin of {@link rmsNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const y = await rmsNormAsync({ data: new Float32Array([3, 4]), shape: [1, 2] }, 2);
 */
export function rmsNormAsync(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: RmsNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, normalizedShape, options) as Promise<Tensor>;
}

/**
 * What RMSNorm computes for an input shape, without computing it.
 *
 * @example
 * describeRmsNorm([8, 128, 768], 768); // { statistics: 1024, valuesPerStatistic: 768, paramShape: [768] }
 */
export function describeRmsNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(rmsNormOp, [shape, normalizedShape]);
}

/** Constructor options of {@link RMSNorm}. */
export interface RMSNormModuleOptions {
  /** Default null: float32 epsilon (2^-23). */
  eps?: number | null;
  /** A learnable per-element weight (ones). Default true. */
  elementwiseAffine?: boolean;
}

/** The parameters of an {@link RMSNorm}, with PyTorch's `state_dict` keys. */
export interface RMSNormStateDict {
  weight?: Float32Array;
}

/**
 * `torch.nn.RMSNorm`: owns `weight` (ones) as a Float32Array.
 *
 * @example
 * const norm = new RMSNorm([4]);
 * const y = norm.forward({ data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] });
 */
export class RMSNorm {
  readonly normalizedShape: readonly number[];
  /** null: float32 epsilon, as PyTorch's default. */
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  readonly weight: Float32Array | null;

  constructor(normalizedShape: number | readonly number[], options?: RMSNormModuleOptions) {
    const shape = readNormalizedShape(normalizedShape);
    const o = readOptions('options', options, ['eps', 'elementwiseAffine']);
    this.eps = o.eps === null || o.eps === undefined ? null : checkEps('eps', o.eps);
    this.elementwiseAffine = checkBoolean('elementwiseAffine', o.elementwiseAffine, true);
    const size = shape.reduce((a, b) => a * b, 1);
    this.weight = this.elementwiseAffine ? allocParam('normalizedShape', size, 1) : null;
    this.normalizedShape = Object.freeze(shape);
  }

  /** Normalizes `input`; `out` as in {@link rmsNorm}. */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    return rmsNorm(input, this.normalizedShape, this.options(options, false));
  }

  /**
   * The async twin of `forward` (see {@link rmsNormAsync}).
   *
   * @example
   * const y = await module.forwardAsync(input);
   */
  forwardAsync(input: Tensor, options?: { out?: Float32Array } & AsyncOptions): Promise<Tensor> {
    try {
      return rmsNormAsync(input, this.normalizedShape, this.options(options, true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The op's options for this module's state and the call's own options (read once). */
  private options(options: unknown, async: boolean) {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    return {
      weight: this.weight,
      eps: this.eps,
      out: o.out as Float32Array | undefined,
      ...(async ? { signal: o.signal as AbortSignal | undefined } : {}),
    };
  }

  /** A copy of the weight under PyTorch's key. */
  stateDict(): RMSNormStateDict {
    return copyState([['weight', this.weight]]);
  }

  /** Copies the weight in; strict as PyTorch's loading. */
  loadStateDict(dict: RMSNormStateDict): void {
    const targets = [['weight', this.weight]] as const;
    writeStateDict(readStateDict('dict', dict, targets), targets);
  }
}
