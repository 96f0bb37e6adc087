// What an op descriptor is. Each op declares, once, in lib/ops/<op>.ts:
//  - `params`: its public positional arguments (tensors, a normalized shape, a group count, options);
//  - `options`: every option key, what it holds and its default and range;
//  - `args`: the positional arguments of its kernel, in order, with each array's role (input,
//    parameter, state updated in place, output, saved statistic), its length as a product of
//    size arguments, and the arrays an output may be identical to (in place);
//  - `sizes`: the shape rule, from the input shapes to the size arguments;
//  - `check`: the rules between arguments that the declarations above cannot say;
//  - `describe` and `results`: what it computes and what it returns.
// From these come the validated plan (lib/validate.ts), the kernel signatures (`Kernels`,
// lib/backend.ts), the call across the seam, the reference dispatch, the C++ binding's table
// (native/binding/ops.gen.h, scripts/gen-ops.js), the conformance adapter and the tests and
// bench cases that loop over every op.

/** How a kernel argument crosses the seam. `f32?` may be null. */
export type ArgKind = 'f32' | 'f32?' | 'size' | 'bool' | 'number';

/**
 * What a kernel argument is: `input` and `param` arrays are read; `state` arrays are updated in
 * place when `writtenWhen` (a bool argument) is true, else read; `output` and `saved` arrays are
 * written; `size`, `flag` and `scalar` are numbers and booleans.
 */
export type Role = 'input' | 'param' | 'state' | 'output' | 'saved' | 'size' | 'flag' | 'scalar';

export interface ArgSpec {
  /** The plan field and the kernel parameter's name. */
  readonly name: string;
  readonly kind: ArgKind;
  readonly role: Role;
  /** The public argument that provides it, as error messages name it (`input.data`, `weight`). */
  readonly label: string;
  /** For arrays: the size arguments whose product is the length. */
  readonly length?: readonly string[];
  /** For written arrays: the arrays it may be identical to (in place); never a partial overlap. */
  readonly inPlace?: readonly string[];
  /** For `state` arrays: the bool argument under which the kernel writes them. */
  readonly writtenWhen?: string;
}

/** A public positional argument. */
export type ParamSpec =
  | { readonly kind: 'tensor'; readonly name: string }
  | { readonly kind: 'normalizedShape' }
  | { readonly kind: 'count'; readonly name: string }
  | { readonly kind: 'options' };

/** A public option: where its value goes and how it is checked. */
export type OptionSpec =
  /** A Float32Array (or null/absent) that becomes the array argument `arg`. */
  | { readonly kind: 'array'; readonly arg: string }
  /** A finite number >= 0; absent (or null where `nullDefault`) means `default`. */
  | {
      readonly kind: 'eps';
      readonly arg: string;
      readonly default: number;
      readonly nullable?: boolean;
    }
  /** A finite number. */
  | { readonly kind: 'number'; readonly arg: string; readonly default: number }
  | { readonly kind: 'bool'; readonly arg: string; readonly default: boolean }
  /** 'channels_first' (default) or 'channels_last', as the bool argument `arg`. */
  | { readonly kind: 'layout'; readonly arg: string };

/** The user's values, read once: tensors as { data, shape copy }, the other positionals. */
export interface Snapshot {
  readonly tensors: Readonly<Record<string, TensorSnapshot>>;
  readonly normalizedShape: readonly number[];
  readonly counts: Readonly<Record<string, number>>;
}

/** A tensor argument read once: its data, a copy of its shape, and how errors name the shape. */
export interface TensorSnapshot {
  readonly data: Float32Array;
  readonly shape: number[];
  /** `input.shape` (or `shape` in `describe*`). */
  readonly label: string;
}

/** Sizes from the shape rule, by size-argument name. */
export type Sizes = Record<string, number>;

/** A validated call: every kernel argument by position (the order of `args`), and the input shapes. */
export interface Plan {
  readonly args: unknown[];
  readonly snapshot: Snapshot;
  readonly sizes: Sizes;
}

/**
 * What an op computes for an input shape, without computing it: what the `describe*` functions
 * return.
 *
 * @example
 * ```js
 * const { describeGroupNorm } = require('normkit');
 * const d = describeGroupNorm([2, 6, 4, 4], 3); // 2 samples x 3 groups, each 2 channels x 16 positions
 * console.log(d.statistics, d.valuesPerStatistic, d.paramShape); // prints: 6 32 [ 6 ]
 * ```
 */
export interface NormDescription {
  /** The number of mean/variance (or mean-square) computations. */
  statistics: number;
  /** The values each statistic is taken over. */
  valuesPerStatistic: number;
  /** The shape of the weight and bias. */
  paramShape: number[];
}

/** The TypeScript type of a kernel argument of kind `S['kind']`. */
export type ArgType<S> = S extends { kind: 'f32' }
  ? Float32Array
  : S extends { kind: 'f32?' }
    ? Float32Array | null
    : S extends { kind: 'bool' }
      ? boolean
      : number;

/** A kernel's positional parameter types, from its descriptor's `args`. */
export type KernelArgs<A extends readonly ArgSpec[]> = { -readonly [I in keyof A]: ArgType<A[I]> };

export interface OpDescriptor<
  A extends readonly ArgSpec[] = readonly ArgSpec[],
  K extends string = string,
> {
  /** The public function's name (`layerNorm`); its async twin and reference share it. */
  readonly name: string;
  /** The kernel's name on both backends (`layerNormForward`). */
  readonly kernel: K;
  /** The C++ kernel function in native/kernels/ops.h (`layer_norm_forward`). */
  readonly cxx: string;
  readonly params: readonly ParamSpec[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly args: A;
  /** The shape rule: size arguments from the snapshot; throws RangeError on a bad shape. */
  sizes(s: Snapshot): Sizes;
  /** Rules across arguments, on the plan's values by argument name (nothing read from the caller). */
  check?(args: Readonly<Record<string, unknown>>, s: Snapshot): void;
  /** `describe*`: statistics for a shape. */
  describe(sizes: Sizes, s: Snapshot): NormDescription;
  /** The result: one output tensor (`out`), or named tensors (`{ output: 'out', sum: 'sumOut' }`). */
  readonly results: string | Readonly<Record<string, string>>;
  /** The float64 TypeScript kernel, with the positional arguments of `args`. */
  reference(...args: KernelArgs<A>): void;
  /** The conformance file's op name (`layer_norm`), where it has cases. */
  readonly conformance?: string;
  /** A fused residual op's plain op (`layerNorm` for `addLayerNorm`): the bench's unfused pair. */
  readonly unfused?: string;
  /** The op's cases in `npm run bench` and the native scaling bench (built from this descriptor). */
  readonly bench?: readonly BenchCase[];
}

/**
 * A bench case of an op (`npm run bench`, bench/native/scaling.cc): the call is built from the
 * descriptor, with the input filled with random values, the op's parameters (weight, bias) passed
 * unless `arrays` says otherwise, and the other options at their defaults unless `options` sets
 * them.
 */
export interface BenchCase {
  /** The short name in the tables (`LN`, `BN2d train NCHW`); the case id derives from it. */
  readonly label: string;
  /** The input's shape; normalizedShape, where the op takes one, is its last dimension. */
  readonly shape: readonly number[];
  /** Replaces the id's prefix where one would be a prefix of another op's (`addlayernorm`). */
  readonly id?: string;
  /** Values of the op's scalar, flag and layout options (`{ training: true }`). */
  readonly options?: Readonly<Record<string, number | boolean | string>>;
  /** The op's count arguments (`{ numGroups: 32 }`). */
  readonly counts?: Readonly<Record<string, number>>;
  /** The optional array options passed (default: the op's parameters). */
  readonly arrays?: readonly string[];
  /** 'latency': the allocating call, µs per call; default 'throughput', into preallocated outputs. */
  readonly kind?: 'throughput' | 'latency';
  /** Carries the thread-scaling target. */
  readonly large?: boolean;
  /** Far larger than any last-level cache: judged against the streaming-store copy. */
  readonly outOfCache?: boolean;
  /** What the case must reach (bench/README.md): ratios to the copy, the limit, the pair; µs. */
  readonly targets?: Readonly<Partial<Record<BenchTarget, number>>>;
}

/** A bench target: `copyRatio`, `limitRatio`, `pairRatio` are minima; `copyTime`, `latencyUs` maxima. */
export type BenchTarget = 'copyRatio' | 'copyTime' | 'limitRatio' | 'pairRatio' | 'latencyUs';

/** Declares an op; keeps the literal types of `args` for the kernel signatures. */
export function defineOp<const A extends readonly ArgSpec[], const K extends string>(
  d: OpDescriptor<A, K>,
): OpDescriptor<A, K> {
  return Object.freeze(d);
}

// Argument builders: short declarations, literal types kept.
export const input = <const N extends string>(name: N, label: string, length: readonly string[]) =>
  ({ name, kind: 'f32', role: 'input', label, length }) as const;
export const param = <const N extends string>(name: N, length: readonly string[]) =>
  ({ name, kind: 'f32?', role: 'param', label: name, length }) as const;
export const state = <const N extends string>(
  name: N,
  length: readonly string[],
  writtenWhen: string,
) => ({ name, kind: 'f32?', role: 'state', label: name, length, writtenWhen }) as const;
export const output = <const N extends string>(
  name: N,
  length: readonly string[],
  inPlace: readonly string[],
) => ({ name, kind: 'f32', role: 'output', label: name, length, inPlace }) as const;
export const saved = <const N extends string>(name: N, length: readonly string[]) =>
  ({ name, kind: 'f32?', role: 'saved', label: name, length }) as const;
/** A size from the shape rule; the binding names `input.shape` when one is bad. */
export const size = <const N extends string>(name: N) =>
  ({ name, kind: 'size', role: 'size', label: 'input.shape' }) as const;
export const flag = <const N extends string>(name: N, label: string) =>
  ({ name, kind: 'bool', role: 'flag', label }) as const;
export const scalar = <const N extends string>(name: N, label: string) =>
  ({ name, kind: 'number', role: 'scalar', label }) as const;

// Shape rules and descriptions shared by several ops.

/** `describe*` of the row ops: one statistic per row, parameters of `normalizedShape`. */
export function describeRows(z: Sizes, s: Snapshot): NormDescription {
  return { statistics: z.rows, valuesPerStatistic: z.cols, paramShape: s.normalizedShape.slice() };
}
