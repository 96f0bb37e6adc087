// The thread budget, in one place: native kernels read it through the addon (native/parallel.h
// holds it); the reference backend is single-threaded, so there it is always 1.
import { addon } from './native';
import { checkPositiveInteger, invalid } from './validate';

/**
 * Sets how many threads a native kernel call may use (OpenMP). Calls too small to gain from
 * threads still run on one.
 *
 * @example
 * setNumThreads(1); // deterministic single-threaded timings
 */
export function setNumThreads(threads: number): void {
  checkPositiveInteger('threads', threads);
  if (threads > 4096) throw invalid('range', 'threads', 'at most 4096', threads);
  addon?.setNumThreads(threads);
}

/**
 * The thread budget of a native kernel call (1 on the reference backend or without OpenMP).
 *
 * @example
 * console.log(getNumThreads()); // e.g. 2
 */
export function getNumThreads(): number {
  return addon ? addon.getNumThreads() : 1;
}

function applyEnvironment(): void {
  const v = process.env.NORMKIT_NUM_THREADS;
  if (v === undefined || v === '') return;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4096) {
    process.emitWarning(
      `normkit: ignoring NORMKIT_NUM_THREADS=${v} (expected an integer 1 to 4096)`,
    );
    return;
  }
  setNumThreads(n);
}
applyEnvironment();
