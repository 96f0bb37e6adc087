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
import { bufferOf, invalid, isFloat32Array } from './validate';

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

const SharedArrayBufferTag = '[object SharedArrayBuffer]';

/** Holds the arrays' buffers in place for the call (see the file comment). */
function pin(args: readonly unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (isFloat32Array(a)) {
      const buffer = bufferOf(a);
      // A SharedArrayBuffer cannot be detached; any other buffer (of any realm) is marked.
      if (Object.prototype.toString.call(buffer) !== SharedArrayBufferTag) {
        markAsUntransferable(buffer);
      }
    }
  }
}

// Calls that update the same running statistics run one after another, in call order, so that
// concurrent calls leave what the same calls in a row leave (each reads the statistics the
// previous one wrote). Keyed by the statistics' buffer: views of one buffer are ordered too.
const stateTails = new WeakMap<object, Promise<unknown>>();

function afterStates(states: readonly Float32Array[], done: Promise<unknown>): Promise<unknown> {
  const before: Promise<unknown>[] = [];
  for (const s of states) {
    const tail = stateTails.get(bufferOf(s));
    if (tail && !before.includes(tail)) before.push(tail);
  }
  for (const s of states) stateTails.set(bufferOf(s), done);
  return before.length === 0 ? Promise.resolve() : Promise.all(before);
}

// One 'abort' listener per signal, however many calls share it (no listener-count warning): each
// call registers its cancel flag while it is in flight; the listener goes with the last one.
const signalFlags = new WeakMap<AbortSignal, Set<Int32Array>>();

function watch(signal: AbortSignal, flag: Int32Array): () => void {
  let flags = signalFlags.get(signal);
  if (!flags) {
    const set = new Set<Int32Array>();
    const onAbort = () => {
      for (const f of set) f[0] = 1;
    };
    signal.addEventListener('abort', onAbort, { once: true });
    flags = set;
    signalFlags.set(signal, set);
    listeners.set(set, onAbort);
  }
  const set = flags;
  set.add(flag);
  return () => {
    set.delete(flag);
    if (set.size === 0) {
      signal.removeEventListener('abort', listeners.get(set)!);
      signalFlags.delete(signal);
    }
  };
}
const listeners = new WeakMap<Set<Int32Array>, () => void>();

/**
 * Runs kernel `name` of `kernels` asynchronously with `args`; resolves to `result`. `states` are
 * the running statistics the call writes (ordered against other calls writing them).
 */
export function startAsync<R>(
  kernels: Kernels,
  name: string,
  signal: AbortSignal | undefined,
  args: unknown[],
  result: R,
  states: readonly Float32Array[],
): Promise<R> {
  if (signal?.aborted) return Promise.reject(abortError());
  pin(args);
  const native = (kernels as unknown as Record<string, AsyncKernel | undefined>)[`${name}Async`];
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const ready = states.length === 0 ? null : afterStates(states, done);
  const run = (): Promise<R> => {
    if (!native) {
      // The reference backend is plain TypeScript: it runs on the main thread, on a later turn.
      const kernel = (kernels as unknown as Record<string, (...a: unknown[]) => void>)[name];
      return new Promise<R>((resolve, reject) => {
        setImmediate(() => {
          if (signal?.aborted) return reject(abortError());
          try {
            kernel(...args);
            resolve(result);
          } catch (e) {
            reject(e);
          }
        });
      });
    }
    if (signal?.aborted) return Promise.reject(abortError());
    const cancel = new Int32Array(1);
    if (!signal) return native(cancel, ...args).then(() => result);
    const unwatch = watch(signal, cancel);
    return native(cancel, ...args).then(
      () => {
        unwatch();
        return result;
      },
      (e: unknown) => {
        unwatch();
        throw e;
      },
    );
  };
  const promise = ready === null ? run() : ready.then(run);
  promise.then(settle, settle);
  return promise;
}
