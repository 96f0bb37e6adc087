// The async half of the call path: after the synchronous checks, the kernel runs off the main
// thread (the addon's `<kernel>Async`: Node-API async work on the libuv pool), and the promise
// settles with the result.
//
// Inputs in flight: every array of the call stays referenced until it settles, and its buffer is
// marked untransferable (worker_threads.markAsUntransferable, as Node does for its Buffer pool),
// so a transfer (postMessage, structuredClone) copies it instead of detaching it: no call can
// read or write freed memory. The mark is permanent. Writing into an input, parameter or `out`
// while a call is in flight is a data race: the result is unspecified but memory-safe. Running
// statistics are updated in a private copy and written back all at once when the call completes.
import { markAsUntransferable } from 'worker_threads';
import type { Kernels } from './backend';
import { invalid } from './validate';

/** The option every async twin adds to its op's options. */
export interface AsyncOptions {
  /** Aborts a call that has not started yet: its promise rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** `signal`: absent, or an AbortSignal. */
export function checkSignal(v: unknown): AbortSignal | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof AbortSignal)) throw invalid('type', 'signal', 'an AbortSignal', v);
  return v;
}

/** The error an aborted call rejects with: a DOMException named AbortError, as fetch's. */
export function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

type AsyncKernel = (cancel: Int32Array, ...args: unknown[]) => Promise<void>;

/** Holds the arrays' buffers in place for the call (see the file comment). */
function pin(args: readonly unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof Float32Array) {
      const buffer = a.buffer;
      if (!(buffer instanceof SharedArrayBuffer)) markAsUntransferable(buffer);
    }
  }
}

/** Runs kernel `name` of `kernels` asynchronously with `args`; resolves to `result`. */
export function startAsync<R>(
  kernels: Kernels,
  name: string,
  signal: AbortSignal | undefined,
  args: unknown[],
  result: R,
): Promise<R> {
  if (signal?.aborted) return Promise.reject(abortError());
  pin(args);
  const native = (kernels as unknown as Record<string, AsyncKernel | undefined>)[`${name}Async`];
  if (!native) {
    // The reference backend is plain TypeScript: it runs on the main thread, on a later turn.
    const run = (kernels as unknown as Record<string, (...a: unknown[]) => void>)[name];
    return new Promise<R>((resolve, reject) => {
      setImmediate(() => {
        if (signal?.aborted) return reject(abortError());
        try {
          run(...args);
          resolve(result);
        } catch (e) {
          reject(e);
        }
      });
    });
  }
  const cancel = new Int32Array(1);
  if (!signal) return native(cancel, ...args).then(() => result);
  const onAbort = () => {
    cancel[0] = 1;
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return native(cancel, ...args).then(
    () => {
      signal.removeEventListener('abort', onAbort);
      return result;
    },
    (e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      throw e;
    },
  );
}
