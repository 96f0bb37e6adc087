// Shared test helpers: layouts, closeness, error checks and child processes.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { expect } from 'chai';
import { mismatches } from './conformance';

/** The repository root (this file runs from build-test/test/helpers). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

export function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Logical (N, C, ...spatial) data stored channels-first -> the same values stored (N, ...spatial, C). */
export function toChannelsLast(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      for (let k = 0; k < s; k++) out[(i * s + k) * c + j] = data[(i * c + j) * s + k];
    }
  }
  return out;
}

/** The inverse of {@link toChannelsLast}. */
export function toChannelsFirst(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      for (let k = 0; k < s; k++) out[(i * c + j) * s + k] = data[(i * s + k) * c + j];
    }
  }
  return out;
}

export interface Tolerance {
  abs: number;
  rel: number;
}

export const TOL: Tolerance = { abs: 1e-5, rel: 1e-5 };

/** Every value within `abs + rel * |expected|`; NaN must match NaN, infinities must be equal. */
export function expectClose(
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = TOL,
  label = 'values',
): void {
  expect(mismatches(got, expected, tol), `${label} mismatches`).to.deep.equal([]);
}

/** Exact equality, element by element, with -0 equal to 0 and NaN equal to NaN. */
export function expectSameValues(
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
  label = 'values',
): void {
  expect(got.length, `${label} length`).to.equal(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 5; i++) {
    const same = Number.isNaN(expected[i]) ? Number.isNaN(got[i]) : got[i] === expected[i];
    if (!same) bad.push(`[${i}] got ${got[i]}, expected ${expected[i]}`);
  }
  expect(bad, `${label} differ`).to.deep.equal([]);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Calls `fn`, which must throw an instance of `kind` worded
 * `Expected <what> for <argument>, but received <value>`; returns the error.
 */
export function expectInvalid(
  fn: () => unknown,
  kind: typeof TypeError | typeof RangeError,
  argument: string,
): Error {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `expected a ${kind.name} for ${argument}`).to.be.instanceOf(kind);
  const message = (error as Error).message;
  expect(message).to.match(
    new RegExp(`^Expected .+ for ${escapeRegExp(argument)}, but received .+`),
  );
  return error as Error;
}

/** Copies of arrays, to check afterwards that nothing changed them. */
export function snapshot(
  arrays: ReadonlyArray<Float32Array | null | undefined>,
): Array<Float32Array | null> {
  return arrays.map((a) => (a ? a.slice() : null));
}

export function expectUnchanged(
  arrays: ReadonlyArray<Float32Array | null | undefined>,
  before: ReadonlyArray<Float32Array | null>,
  label = 'array',
): void {
  arrays.forEach((a, i) => {
    if (a) expectSameValues(a, before[i]!, `${label} ${i}`);
  });
}

export interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` from the repository root with `env` added to a copy of this process's
 * environment from which the variables normkit reads are removed (`undefined` removes a key).
 */
export function runNode(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): ChildResult {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.NORMKIT_BACKEND;
  delete childEnv.NORMKIT_NUM_THREADS;
  delete childEnv.OMP_NUM_THREADS; // the starting budget's fallback
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const r = spawnSync(process.execPath, args, {
    cwd: REPO_ROOT,
    env: childEnv,
    encoding: 'utf8',
    timeout: 30000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A `node -e` script that records process warnings, runs `body` (which sees `nk`, the package
 * required by path, and may set `result`), and prints `{ result, warnings }` as JSON once the
 * warnings (emitted on the next tick) have arrived.
 */
export function childScript(body: string, before = ''): string {
  return [
    'const warnings = [];',
    "process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }));",
    before,
    `const nk = require(${JSON.stringify(REPO_ROOT)});`,
    'let result = null;',
    body,
    'setImmediate(() => console.log(JSON.stringify({ result, warnings })));',
  ].join('\n');
}

export interface ChildReport<T> {
  result: T;
  warnings: Array<{ name: string; code?: string; message: string }>;
}

/** Parses the last stdout line of a {@link childScript} run, failing with the child's stderr. */
export function parseReport<T>(r: ChildResult): ChildReport<T> {
  expect(r.status, `child exited with ${r.status}: ${r.stderr}`).to.equal(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ChildReport<T>;
}

/** Whether the compiled addon loads in this process (independently of NORMKIT_BACKEND). */
export function loadRawAddon(): Record<string, (...args: unknown[]) => unknown> | null {
  try {
    // The loader lib/native.ts uses: build/Release here, a prebuilt binary only if there is none.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => unknown;
    return load(REPO_ROOT) as Record<string, (...args: unknown[]) => unknown>;
  } catch {
    return null;
  }
}

/** One argument-check case: the arrays a call could touch, and the call on a given API. */
export interface ArgumentCase<Api> {
  name: string;
  kind: typeof TypeError | typeof RangeError;
  argument: string;
  make(): { arrays: Float32Array[]; call(api: Api): unknown };
}

/**
 * Runs every case on the default backend and on the reference: each must throw `kind` naming
 * `argument`, and leave every array it could touch unchanged.
 */
export function describeArgumentCases<Api>(
  cases: ReadonlyArray<ArgumentCase<Api>>,
  backends: ReadonlyArray<readonly [string, Api]>,
  touched: string,
): void {
  for (const [label, api] of backends) {
    describe(label, () => {
      for (const c of cases) {
        it(`${c.name}: ${c.kind.name} naming ${c.argument}, nothing changed`, () => {
          const { arrays, call } = c.make();
          const before = snapshot(arrays);
          expectInvalid(() => call(api), c.kind, c.argument);
          expectUnchanged(arrays, before, touched);
        });
      }
    });
  }
}

// ---- values that change between reads (read-once checks) ---------------------------------

/** The reads a {@link countingProxy} has seen: `get`s by key, and `Object.keys`-style listings. */
export interface ReadCounts {
  gets: Map<PropertyKey, number>;
  ownKeys: number;
}

/** A Proxy over `target` that counts every property read (`get`) by key, and every key listing. */
export function countingProxy<T extends object>(target: T): { proxy: T; reads: ReadCounts } {
  const reads: ReadCounts = { gets: new Map(), ownKeys: 0 };
  const proxy = new Proxy(target, {
    get(t, key) {
      reads.gets.set(key, (reads.gets.get(key) ?? 0) + 1);
      return Reflect.get(t, key);
    },
    ownKeys(t) {
      reads.ownKeys++;
      return Reflect.ownKeys(t);
    },
  });
  return { proxy, reads };
}

/** No property of a {@link countingProxy} read twice, the keys listed at most once, and `keys` read exactly once. */
export function expectReadOnce(
  reads: ReadCounts,
  keys: readonly PropertyKey[],
  label: string,
): void {
  const again = [...reads.gets].filter(([, n]) => n > 1).map(([k, n]) => `${String(k)} x${n}`);
  expect(again, `${label}: properties read more than once`).to.deep.equal([]);
  expect(reads.ownKeys, `${label}: key listings`).to.be.at.most(1);
  for (const key of keys) {
    expect(reads.gets.get(key) ?? 0, `${label}: reads of ${String(key)}`).to.equal(1);
  }
}

/**
 * A Proxy over `first` that answers each property's first read from `first` and every later
 * read from `later`; likewise its first key listing lists `first`'s keys and later ones
 * `later`'s. A caller that reads a value twice sees two different values.
 */
export function changingProxy<T extends object>(first: T, later: object): T {
  const seen = new Map<PropertyKey, number>();
  let listings = 0;
  return new Proxy(first, {
    get(t, key) {
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      return n === 0 ? Reflect.get(t, key) : Reflect.get(later, key);
    },
    ownKeys(t) {
      return listings++ === 0 ? Reflect.ownKeys(t) : Reflect.ownKeys(later);
    },
    getOwnPropertyDescriptor(t, key) {
      const own = Reflect.getOwnPropertyDescriptor(t, key);
      if (own || !Object.prototype.hasOwnProperty.call(later, key)) return own;
      const value = (later as Record<PropertyKey, unknown>)[key];
      return { value, writable: true, enumerable: true, configurable: true };
    },
  });
}

/**
 * Makes `key` of `obj` an enumerable getter: its i-th read returns `values[i]` (the last one
 * after that), or, where an entry is a function, what calling it returns.
 */
export function defineChanging<T extends object>(obj: T, key: string, ...values: unknown[]): T {
  let reads = 0;
  Object.defineProperty(obj, key, {
    enumerable: true,
    configurable: true,
    get() {
      const v = values[Math.min(reads++, values.length - 1)];
      return typeof v === 'function' ? (v as () => unknown)() : v;
    },
  });
  return obj;
}

/** Detaches `buffer` as a transfer to a worker does: every view of it has length 0 after. */
export function detach(buffer: ArrayBufferLike): void {
  const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBufferLike) => unknown })
    .transfer;
  if (typeof transfer === 'function') transfer.call(buffer);
  else structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
}

/**
 * Calls `fn`, which must either return a result that `check` accepts, or throw a TypeError or
 * RangeError worded `Expected <what> for <argument>, but received <value>` and leave `arrays`
 * as they were. Returns which of the two happened.
 */
export function expectCorrectOrInvalid<T>(
  fn: () => T,
  check: (result: T) => void,
  arrays: ReadonlyArray<Float32Array | null | undefined>,
  label = 'array',
): 'result' | 'error' {
  const before = snapshot(arrays);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    const ok = e instanceof TypeError || e instanceof RangeError;
    expect(ok, `${label}: threw ${String(e)}`).to.equal(true);
    expect((e as Error).message).to.match(/^Expected .+ for .+, but received .+/);
    expectUnchanged(arrays, before, label);
    return 'error';
  }
  check(result);
  return 'result';
}
