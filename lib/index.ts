// The public surface of normkit: re-exports only. Every op's public functions, options and
// classes come from lib/api.ts, generated from the op files (scripts/gen-ops.js).
import type * as api from './api';
import { compileOp } from './compile';
import { addon } from './native';
import { OPS } from './ops';
import { referenceKernels } from './reference';

export * from './api';
export type { Tensor } from './tensor';
export { tensor, numel } from './tensor';
export type { NormDescription } from './op';
export type { Layout } from './tensor';
export type { AsyncOptions } from './async';
export type { RunningStatsModuleOptions, RunningStatsStateDict } from './running-stats';
export { RunningStatsModule } from './running-stats';
export { backend, addonError } from './native';
export { setNumThreads, getNumThreads, maxThreads } from './threads';

type Ops = typeof OPS;

/**
 * The reference functions: each op's public function, by name, on the reference backend (the
 * type of {@link reference}).
 *
 * @example
 * ```js
 * const normkit = require('normkit');
 * const { reference, tensor } = normkit;
 * // One reference function per op, under the op's public name.
 * console.log(Object.keys(reference).every((name) => typeof normkit[name] === 'function')); // prints: true
 * console.log(reference.rmsNorm(tensor([3, 4], [1, 2]), 2, { eps: 0 }).data.join(' ')); // prints: 0.8485281467437744 1.1313709020614624
 * ```
 */
export type ReferenceApi = { readonly [K in keyof Ops & keyof typeof api]: (typeof api)[K] };

/**
 * The pure TypeScript implementation of every op, under its public name (`reference.layerNorm`,
 * `reference.rmsNorm`, ...), with the same arguments, results and errors as the top-level
 * functions. It accumulates in float64, runs on one thread and never touches
 * the addon: the yardstick the native kernels are tested against, and what every function runs
 * on when {@link backend} is `'js'`.
 *
 * @example
 * ```js
 * const { tensor, layerNorm, reference } = require('normkit');
 * const x = tensor(new Float32Array(4 * 768).map((_, i) => Math.sin(i) * 3 + 1), [4, 768]);
 * const fast = layerNorm(x, 768);
 * const exact = reference.layerNorm(x, 768);
 * console.log(fast.data.every((v, i) => Math.abs(v - exact.data[i]) < 1e-5)); // prints: true
 * ```
 */
export const reference: ReferenceApi = Object.freeze(
  Object.fromEntries(
    Object.values(OPS).map((op) => {
      const run = compileOp(op);
      return [op.name, (...user: unknown[]) => run(referenceKernels, ...user)];
    }),
  ),
) as unknown as ReferenceApi;

/**
 * A SIMD tier of the native kernels, as {@link NativeInfo.simdPath} reports it. The kernels are
 * the same algorithms compiled once per tier:
 *
 * - `'avx512'`: x86-64 with AVX-512 F, DQ, BW and VL;
 * - `'avx2'`: x86-64 with AVX2 and FMA;
 * - `'baseline'`: SSE2, which every x86-64 has (plain C++ on architectures without a tier);
 * - `'neon'`: arm64.
 *
 * The kernels pick the CPU's best tier when they first run; `NORMKIT_SIMD=avx512|avx2|baseline`
 * (or `neon`) forces one, and `generic` (the earlier name of the portable path) is the best tier
 * without AVX-512.
 *
 * @example
 * ```js
 * const { native } = require('normkit');
 * const tier = native ? native.simdPath() : null;
 * const wide = tier === 'avx512' || tier === 'avx2' || tier === 'neon';
 * console.log(['avx512', 'avx2', 'baseline', 'neon'].includes(tier), typeof wide); // prints: true boolean
 * ```
 */
export type SimdTier = 'avx512' | 'avx2' | 'baseline' | 'neon';

/**
 * Diagnostics of the native backend: see {@link native}.
 *
 * @example
 * ```js
 * const { native } = require('normkit');
 * if (native) console.log(typeof native.simdPath(), native.multithreaded(), native.hardwareThreads() >= 1); // prints: string true true
 * ```
 */
export interface NativeInfo {
  /**
   * The SIMD tier the kernels run on this CPU.
   *
   * @returns One of {@link SimdTier}.
   */
  simdPath(): SimdTier;
  /**
   * Whether a call can run on more than one thread.
   *
   * @returns Always true: the thread pool is normkit's own.
   */
  multithreaded(): boolean;
  /**
   * @deprecated The name from when the threads were OpenMP's; the same answer as
   * {@link NativeInfo.multithreaded}. Kept for existing callers.
   */
  hasOpenMP(): boolean;
  /** The processors this process may run on (its CPU affinity): the default thread budget. */
  hardwareThreads(): number;
  /**
   * The thread pool's worker threads started so far: 0 until a call first uses two threads, and
   * fewer than asked where the system refused to start a thread.
   */
  poolThreads(): number;
  /**
   * `y[i] = a * x[i] + b` on the library's threads: the memory-bandwidth yardstick the
   * benchmarks compare every kernel with.
   *
   * @param x - The input.
   * @param y - The output, as long as `x`; it must not overlap `x`.
   * @param a - The scale.
   * @param b - The shift.
   * @throws {@link TypeError} when `x` or `y` is not a `Float32Array` or `a` or `b` is not a number.
   * @throws {@link RangeError} when `y`'s length is not `x`'s.
   */
  copyBaseline(x: Float32Array, y: Float32Array, a: number, b: number): void;
}

/**
 * Diagnostics of the native backend, or `null` on the reference backend: which SIMD tier the
 * kernels run, whether they are multithreaded, and the copy baseline of the benchmarks.
 *
 * @example
 * ```js
 * const { native } = require('normkit');
 * if (native) {
 *   console.log(native.simdPath(), native.multithreaded(), native.hardwareThreads()); // prints, e.g.: avx512 true 2
 *   const y = new Float32Array(4);
 *   native.copyBaseline(new Float32Array(4).fill(2), y, 3, 1);
 *   console.log(y); // prints: Float32Array(4) [ 7, 7, 7, 7 ]
 * }
 * ```
 */
export const native: NativeInfo | null = addon
  ? Object.freeze({
      // The addon reports one of the tiers (native/kernels/simd.cc `simd_path`).
      simdPath: () => addon!.simdPath() as SimdTier,
      multithreaded: () => addon!.multithreaded(),
      hasOpenMP: () => addon!.multithreaded(),
      hardwareThreads: () => addon!.hardwareThreads(),
      poolThreads: () => addon!.poolThreads(),
      copyBaseline: (x: Float32Array, y: Float32Array, a: number, b: number) =>
        addon!.copyBaseline(x, y, a, b),
    })
  : null;

// The CommonJS export table as plain data properties. TypeScript compiles `export * from` to
// getters, two deep here (this file over lib/api.ts over each op's file), and their shared
// `function () { return m[k]; }` is a megamorphic keyed load on every `normkit.layerNorm(...)`:
// 20 to 70 ns a call (3 to 9 % of LayerNorm [1, 768] or BatchNorm eval [1, 64, 1, 1]) more than
// the destructured `layerNorm(...)`. Every export is a constant, so a copy loses nothing live;
// frozen, as the getters had no setters; `__esModule` kept for TypeScript's import interop.
module.exports = Object.freeze(
  Object.defineProperty({ ...module.exports }, '__esModule', { value: true }),
);
