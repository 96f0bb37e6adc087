// The thread budget, in one place: native kernels read it through the addon (native/parallel.h
// holds it); the reference backend is single-threaded, so there it is always 1.
import { addon } from './native';
import { checkPositiveInteger, invalid } from './validate';

/**
 * The largest budget accepted: 4 times the hardware threads. More compute threads than cores
 * only slow a memory-bound kernel down. (Where the system refuses to start a thread, a call runs
 * on the threads that did start: fewer threads, the same result.)
 *
 * @example
 * setNumThreads(maxThreads()); // the most normkit accepts
 */
export function maxThreads(): number {
  return 4 * (addon ? addon.hardwareThreads() : 1);
}

/**
 * Sets the process-wide budget of compute threads: the threads native kernels run at once,
 * across sync calls, concurrent async calls and worker threads (one budget for the process).
 * Calls too small to gain from threads still run on one.
 *
 * @example
 * setNumThreads(1); // deterministic single-threaded timings
 */
export function setNumThreads(threads: number): void {
  checkPositiveInteger('threads', threads);
  const max = maxThreads();
  if (threads > max) {
    throw invalid('range', 'threads', `at most ${max} (4 times the hardware threads)`, threads);
  }
  addon?.setNumThreads(threads);
}

/**
 * The thread budget of a native kernel call (1 on the reference backend).
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
  if (!Number.isInteger(n) || n < 1 || n > maxThreads()) {
    process.emitWarning(
      `normkit: ignoring NORMKIT_NUM_THREADS=${v} (expected an integer 1 to ${maxThreads()})`,
    );
    return;
  }
  setNumThreads(n);
}
applyEnvironment();
