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
export type { Layout } from './validate';
export type { AsyncOptions } from './async';
export type { RunningStatsModuleOptions, RunningStatsStateDict } from './running-stats';
export { RunningStatsModule } from './running-stats';
export { backend, addonError } from './native';
export { setNumThreads, getNumThreads, maxThreads } from './threads';

type Ops = typeof OPS;
/** The reference functions: each op's public function, by name, on the reference backend. */
export type ReferenceApi = { readonly [K in keyof Ops & keyof typeof api]: (typeof api)[K] };

/**
 * The pure TypeScript reference implementation of every op, with the same API as the top-level
 * functions and float64 accumulation; never touches the addon.
 *
 * @example
 * const y = reference.layerNorm({ data: new Float32Array([1, 2, 3]), shape: [3] }, 3);
 */
export const reference: ReferenceApi = Object.freeze(
  Object.fromEntries(
    Object.values(OPS).map((op) => {
      const run = compileOp(op);
      return [op.name, (...user: unknown[]) => run(referenceKernels, ...user)];
    }),
  ),
) as unknown as ReferenceApi;

/** Native diagnostics (null on the reference backend): which SIMD path runs, the threads, and the copy baseline the benchmarks use. */
export interface NativeInfo {
  /** `'avx512'` (hand-written AVX-512 kernels), or `'avx2'` / `'baseline'` (the portable kernels' clone): the path the CPU runs. */
  simdPath(): string;
  /** Whether a call can run on more than one thread: always true (the thread pool is normkit's own). */
  multithreaded(): boolean;
  /**
   * @deprecated The name from when the threads were OpenMP's; the same answer as
   * {@link NativeInfo.multithreaded}. Kept for existing callers.
   */
  hasOpenMP(): boolean;
  /** The processors this process may run on (its CPU affinity): the default thread budget. */
  hardwareThreads(): number;
  /** The thread pool's worker threads started so far: 0 until a call first uses two threads, and fewer than asked where the system refused a thread. */
  poolThreads(): number;
  /** `y[i] = a * x[i] + b` on the library's threads: the bandwidth yardstick. */
  copyBaseline(x: Float32Array, y: Float32Array, a: number, b: number): void;
}

/**
 * @example
 * if (native) console.log(native.simdPath(), native.multithreaded(), native.poolThreads());
 */
export const native: NativeInfo | null = addon
  ? Object.freeze({
      simdPath: () => addon!.simdPath(),
      multithreaded: () => addon!.multithreaded(),
      hasOpenMP: () => addon!.multithreaded(),
      hardwareThreads: () => addon!.hardwareThreads(),
      poolThreads: () => addon!.poolThreads(),
      copyBaseline: (x: Float32Array, y: Float32Array, a: number, b: number) =>
        addon!.copyBaseline(x, y, a, b),
    })
  : null;
