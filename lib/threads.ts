// The thread budget, in one place: native kernels read it through the addon (native/parallel.h
// holds it); the reference backend is single-threaded, so there it is always 1.
import { addon } from './native';
import { checkPositiveInteger, invalid } from './validate';

/**
 * The largest thread budget {@link setNumThreads} accepts: 4 times the hardware threads (4 on
 * the reference backend). More compute threads than cores only slow a memory-bound kernel down.
 * (Where the system refuses to start a thread, a call runs on the threads that did start: fewer
 * threads, the same result.)
 *
 * @returns 4 times `native.hardwareThreads()`, or 4 on the reference backend.
 *
 * @example
 * ```js
 * const { maxThreads, native } = require('normkit');
 * console.log(maxThreads() === 4 * (native ? native.hardwareThreads() : 1)); // prints: true
 * ```
 */
export function maxThreads(): number {
  return 4 * (addon ? addon.hardwareThreads() : 1);
}

/**
 * Sets the process-wide budget of compute threads: the threads native kernels run at once,
 * summed over sync calls, concurrent async calls and every worker thread (the addon, and this
 * budget, is loaded once per process). Calls too small to gain from threads (under about 32 K
 * values per thread) still run on one. No effect on the reference backend, which is
 * single-threaded. `NORMKIT_NUM_THREADS` (else `OMP_NUM_THREADS`) sets the initial budget, which
 * is otherwise every processor.
 *
 * @param threads - An integer from 1 to {@link maxThreads}.
 * @throws {@link TypeError} when `threads` is not a number.
 * @throws {@link RangeError} when `threads` is not an integer from 1 to {@link maxThreads}.
 *
 * @example
 * ```js
 * const { setNumThreads, getNumThreads, backend } = require('normkit');
 * setNumThreads(1); // e.g. for single-threaded timings
 * console.log(backend, getNumThreads()); // prints: native 1
 * ```
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
 * The thread budget of native kernel calls, as {@link setNumThreads} set it: 1 on the reference
 * backend.
 *
 * @returns The budget, 1 or more.
 *
 * @example
 * ```js
 * const { getNumThreads } = require('normkit');
 * console.log(getNumThreads() >= 1); // prints: true
 * ```
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
