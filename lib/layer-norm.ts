import { activeKernels } from './native';
import type { NormDescription } from './op';
import { layerNormOp } from './ops/layer-norm';
import { allocParam, copyState, readStateDict, writeStateDict } from './state-dict';
import type { Tensor } from './tensor';
import type { AsyncOptions } from './async';
import { compileOp, describeOp } from './compile';
import { checkBoolean, checkEps, readNormalizedShape, readOptions } from './validate';

const run = compileOp(layerNormOp);
const runAsync = compileOp(layerNormOp, true);

export type { NormDescription } from './op';

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Scale (gamma), `prod(normalizedShape)` values; omitted means 1. */
  weight?: Float32Array | null;
  /** Shift (beta), `prod(normalizedShape)` values; omitted means 0. */
  bias?: Float32Array | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Where to write the result (`prod(input.shape)` values); may be `input.data` (in place). */
  out?: Float32Array;
}

/**
 * Layer normalization over the trailing `normalizedShape` axes, as
 * `torch.nn.functional.layer_norm`: `y = (x - mean) / sqrt(var + eps) * weight + bias` with the
 * mean and biased variance of each token's `prod(normalizedShape)` values.
 *
 * @example
 * const x = { data: new Float32Array([1, 2, 3, 4, 2, 4, 6, 8]), shape: [2, 4] };
 * const y = layerNorm(x, [4]); // each row normalized to mean 0, variance ~1
 */
export function layerNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: LayerNormOptions,
): Tensor {
  return run(activeKernels, input, normalizedShape, options) as Tensor;
}

/**
 * The async twin of {@link layerNorm}: the same arguments, plus an optional `signal`; the
 * arguments are checked at once (a bad one rejects with the same error), then the work runs off
 * the main thread. See the README's "Async use" for buffers in flight.
 *
 * @example
 * const y = await layerNormAsync({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }, 2);
 */
export function layerNormAsync(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: LayerNormOptions & AsyncOptions,
): Promise<Tensor> {
  return runAsync(activeKernels, input, normalizedShape, options) as Promise<Tensor>;
}

/**
 * What LayerNorm computes for an input shape, without computing it.
 *
 * @example
 * describeLayerNorm([2, 3, 4], [4]); // { statistics: 6, valuesPerStatistic: 4, paramShape: [4] }
 */
export function describeLayerNorm(
  shape: readonly number[],
  normalizedShape: number | readonly number[],
): NormDescription {
  return describeOp(layerNormOp, [shape, normalizedShape]);
}

/** Constructor options of {@link LayerNorm}. */
export interface LayerNormModuleOptions {
  eps?: number;
  /** Learnable per-element weight and bias. Default true. */
  elementwiseAffine?: boolean;
  /** With `elementwiseAffine`, whether there is a bias. Default true. */
  bias?: boolean;
}

/** The parameters of a {@link LayerNorm}, with PyTorch's `state_dict` keys. */
export interface LayerNormStateDict {
  weight?: Float32Array;
  bias?: Float32Array;
}

/**
 * `torch.nn.LayerNorm`: owns `weight` (ones) and `bias` (zeros) as Float32Arrays.
 *
 * @example
 * const ln = new LayerNorm([4]);
 * const y = ln.forward({ data: new Float32Array(8), shape: [2, 4] });
 */
export class LayerNorm {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Float32Array | null;
  readonly bias: Float32Array | null;

  constructor(normalizedShape: number | readonly number[], options?: LayerNormModuleOptions) {
    const shape = readNormalizedShape(normalizedShape);
    const o = readOptions('options', options, ['eps', 'elementwiseAffine', 'bias']);
    this.eps = checkEps('eps', o.eps);
    this.elementwiseAffine = checkBoolean('elementwiseAffine', o.elementwiseAffine, true);
    const withBias = checkBoolean('bias', o.bias, true);
    const size = shape.reduce((a, b) => a * b, 1);
    this.weight = this.elementwiseAffine ? allocParam('normalizedShape', size, 1) : null;
    this.bias = this.elementwiseAffine && withBias ? allocParam('normalizedShape', size, 0) : null;
    this.normalizedShape = Object.freeze(shape);
  }

  /** Normalizes `input`; `out` as in {@link layerNorm}. */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    return layerNorm(input, this.normalizedShape, this.options(options, false));
  }

  /**
   * The async twin of `forward` (see {@link layerNormAsync}).
   *
   * @example
   * const y = await module.forwardAsync(input);
   */
  forwardAsync(input: Tensor, options?: { out?: Float32Array } & AsyncOptions): Promise<Tensor> {
    try {
      return layerNormAsync(input, this.normalizedShape, this.options(options, true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The op's options for this module's state and the call's own options (read once). */
  private options(options: unknown, async: boolean) {
    const o = readOptions('options', options, async ? ['out', 'signal'] : ['out']);
    return {
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
      out: o.out as Float32Array | undefined,
      ...(async ? { signal: o.signal as AbortSignal | undefined } : {}),
    };
  }

  /** Copies of the parameters under PyTorch's keys. */
  stateDict(): LayerNormStateDict {
    return copyState(this.state());
  }

  /** Copies parameters in; every key must be present and of the right length, none extra. */
  loadStateDict(dict: LayerNormStateDict): void {
    writeStateDict(readStateDict('dict', dict, this.state()), this.state());
  }

  private state() {
    return [
      ['weight', this.weight],
      ['bias', this.bias],
    ] as const;
  }
}
