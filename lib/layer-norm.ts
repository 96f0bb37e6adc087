import type { Kernels } from './backend';
import { activeKernels } from './native';
import { referenceKernels } from './reference';
import { loadParams } from './state-dict';
import { allocFloat32, type Tensor } from './tensor';
import {
  checkBoolean,
  checkEps,
  checkNormalizedShape,
  checkOptions,
  checkShape,
  checkTrailingDims,
  validateLayerNorm,
} from './validate';

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

/** What an op computes: how many mean/variance pairs, over how many values, and the parameter shape. */
export interface NormDescription {
  statistics: number;
  valuesPerStatistic: number;
  paramShape: number[];
}

function run(
  kernels: Kernels,
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: LayerNormOptions,
): Tensor {
  const p = validateLayerNorm(input, normalizedShape, options);
  const out = p.out ?? allocFloat32(p.input.length);
  kernels.layerNormForward(p.input, p.rows, p.cols, p.weight, p.bias, p.eps, out);
  return { data: out, shape: p.shape.slice() };
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
  return run(activeKernels, input, normalizedShape, options);
}

/** {@link layerNorm} on the pure TypeScript reference backend. */
export function referenceLayerNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  options?: LayerNormOptions,
): Tensor {
  return run(referenceKernels, input, normalizedShape, options);
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
  checkShape('shape', shape);
  const ns = checkNormalizedShape(normalizedShape);
  const [rows, cols] = checkTrailingDims(shape, ns);
  return { statistics: rows, valuesPerStatistic: cols, paramShape: ns.slice() };
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
    this.normalizedShape = checkNormalizedShape(normalizedShape).slice();
    const o = checkOptions<LayerNormModuleOptions>('options', options, [
      'eps',
      'elementwiseAffine',
      'bias',
    ]);
    this.eps = checkEps('eps', o.eps);
    this.elementwiseAffine = checkBoolean('elementwiseAffine', o.elementwiseAffine, true);
    const withBias = checkBoolean('bias', o.bias, true);
    const size = this.normalizedShape.reduce((a, b) => a * b, 1);
    this.weight = this.elementwiseAffine ? new Float32Array(size).fill(1) : null;
    this.bias = this.elementwiseAffine && withBias ? new Float32Array(size) : null;
  }

  /** Normalizes `input`; `out` as in {@link layerNorm}. */
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor {
    const o = checkOptions<{ out?: Float32Array }>('options', options, ['out']);
    return layerNorm(input, this.normalizedShape, {
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
      out: o.out,
    });
  }

  /** Copies of the parameters under PyTorch's keys. */
  stateDict(): LayerNormStateDict {
    const d: LayerNormStateDict = {};
    if (this.weight) d.weight = this.weight.slice();
    if (this.bias) d.bias = this.bias.slice();
    return d;
  }

  /** Copies parameters in; every key must be present and of the right length, none extra. */
  loadStateDict(dict: LayerNormStateDict): void {
    loadParams('dict', dict, [
      ['weight', this.weight],
      ['bias', this.bias],
    ]);
  }
}
