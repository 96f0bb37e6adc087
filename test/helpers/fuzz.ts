// The property-based fuzzing of test/fuzz.test.ts: generated calls of every public function and
// class, well-formed and malformed, and the one property they must all keep. A generated case is
// a recipe (plain data, so fast-check can shrink and print it, and a regression test can replay
// it); `build*` turns a recipe into fresh arguments (exotic containers, getters, Proxies, aliased
// memory) and its plain twin (the same values as ordinary objects); `check*` runs the call and
// judges it:
//  - it returns what normkit.reference returns for the plain twin (within TOL, NaN and
//    Infinity where the reference has them), running statistics included; or
//  - it throws (rejects, when async) a TypeError or RangeError worded
//    `Expected <what> for <argument>, but received <value>`, where <argument> is a public
//    argument of that call (the malformed one, where the recipe malformed one), and every byte
//    of every buffer the call could reach is as it was, module state and counters included.
// A recipe names the op by its public name; every op comes from the registry (OPS), every class
// from normkit's exports, so a new op is fuzzed without editing this file.
import * as vm from 'vm';
import * as fc from 'fast-check';
import * as normkit from 'normkit';
import { mismatches } from './conformance';
import {
  argLength,
  countParams,
  data as kindData,
  KINDS,
  optionalArrays,
  optionsOfKind,
  outputOptions,
  params as paramValues,
  resultArrays,
  sizesFor,
  snapshotOf,
  stateValues,
  takesNormalizedShape,
  tensorParams,
  TOL,
  type Kind,
} from './op-cases';
import { OP_LIST, OPS, pascal, type Fn, type OpDescriptor, type OptionSpec } from './ops';
import { mulberry32 } from './prng';
import { detach } from './tensors';

// ---- budget -------------------------------------------------------------------------------

/**
 * Generated cases per property (NORMKIT_FUZZ_RUNS, default 100): `npm test` runs a few thousand
 * in all; a soak run sets it higher. NORMKIT_FUZZ_SEED fixes the seed (default 1, so CI is
 * reproducible; `random` draws one and prints it).
 */
export const RUNS = (() => {
  const v = Number(process.env.NORMKIT_FUZZ_RUNS);
  return Number.isInteger(v) && v > 0 ? v : 100;
})();
export const SEED = (() => {
  const v = process.env.NORMKIT_FUZZ_SEED;
  if (v === 'random') return (Math.random() * 2 ** 31) | 0;
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isInteger(n) ? n : 1;
})();

/** Cases run so far, by property, for the closing summary. */
export const tally: Record<string, number> = {};
/** Op calls by what was due and what happened (`model/result`, `reject/threw`, ...), so a run shows it was not vacuous. */
export const outcomes: Record<string, number> = {};

/** fast-check parameters for a property worth `weight` times the base budget. */
export function fcParams(weight = 1): fc.Parameters<unknown> {
  return { numRuns: Math.max(1, Math.round(RUNS * weight)), seed: SEED, verbose: 0 };
}

// ---- values -------------------------------------------------------------------------------

/** What a wrong value is, by name: recipes hold the names, `badValue` makes the values. */
export const BAD_VALUES = [
  'undefined',
  'null',
  'true',
  '0',
  '-1',
  '1.5',
  'NaN',
  'Infinity',
  '-Infinity',
  '2**53+2',
  '1e308',
  '"2"',
  '""',
  '2n',
  'symbol',
  'function',
  '{}',
  '[]',
  'Date',
] as const;
export type BadValue = (typeof BAD_VALUES)[number];

/** Arrays that are not a Float32Array of the wanted length, by name. */
export const BAD_ARRAYS = [
  'Float64Array',
  'Int32Array',
  'Uint8Array',
  'Buffer',
  'DataView',
  'plain array',
  'realm Float64Array',
  'short',
  'long',
  'empty',
  'detached',
  'BigInt64Array',
] as const;
export type BadArray = (typeof BAD_ARRAYS)[number];

/** Shapes that are not a list of dimensions giving the data's length, by name. */
export const BAD_SHAPES = [
  'NaN dim',
  'negative dim',
  'fractional dim',
  'Infinity dim',
  '1e308 dim',
  '2**53+2 dim',
  'string dim',
  'bigint dim',
  'null dim',
  'hole',
  'string',
  'array-like object',
  'Int32Array',
  'product past 2^53',
  'zero and 2**53+2',
  'zero and 1e308',
  'one more element',
  'one fewer element',
] as const;
export type BadShape = (typeof BAD_SHAPES)[number];

const realm = vm.createContext({});
const RealmFloat32Array = vm.runInContext('Float32Array', realm) as typeof Float32Array;
const RealmFloat64Array = vm.runInContext('Float64Array', realm) as typeof Float64Array;

export function badValue(name: BadValue): unknown {
  switch (name) {
    case 'undefined':
      return undefined;
    case 'null':
      return null;
    case 'true':
      return true;
    case '0':
      return 0;
    case '-1':
      return -1;
    case '1.5':
      return 1.5;
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    case '2**53+2':
      return 2 ** 53 + 2;
    case '1e308':
      return 1e308;
    case '"2"':
      return '2';
    case '""':
      return '';
    case '2n':
      return 2n;
    case 'symbol':
      return Symbol('fuzz');
    case 'function':
      return () => 2;
    case '{}':
      return {};
    case '[]':
      return [];
    case 'Date':
      return new Date(0);
  }
}

/** A wrong array for a slot of `length` floats holding `values`. */
export function badArray(name: BadArray, values: Float32Array): unknown {
  const n = values.length;
  switch (name) {
    case 'Float64Array':
      return Float64Array.from(values);
    case 'Int32Array':
      return new Int32Array(n);
    case 'Uint8Array':
      return new Uint8Array(n * 4);
    case 'Buffer':
      return Buffer.from(values.buffer.slice(0));
    case 'DataView':
      return new DataView(values.buffer.slice(0));
    case 'plain array':
      return Array.from(values);
    case 'realm Float64Array':
      return RealmFloat64Array.from(values);
    case 'short':
      return values.slice(0, Math.max(0, n - 1));
    case 'long':
      return Float32Array.from([...values, 1]);
    case 'empty':
      return new Float32Array(0);
    case 'detached': {
      const a = values.slice();
      detach(a.buffer);
      return a;
    }
    case 'BigInt64Array':
      return new BigInt64Array(n);
  }
}

/** Whether `badArray(name, values of length n)` is in fact a Float32Array of n values. */
function badArrayIsValid(name: BadArray, n: number): boolean {
  return (name === 'empty' || name === 'detached' || name === 'short') && n === 0;
}

/** A wrong shape for a tensor of `shape`. */
export function badShape(name: BadShape, shape: readonly number[]): unknown {
  const s = shape.length ? shape.slice() : [1];
  const first = (v: unknown) => [v, ...s.slice(1)];
  switch (name) {
    case 'NaN dim':
      return first(NaN);
    case 'negative dim':
      return first(-1);
    case 'fractional dim':
      return first(Number.isInteger(s[0] + 0.5) ? 0.5 : s[0] + 0.5);
    case 'Infinity dim':
      return first(Infinity);
    case '1e308 dim':
      return first(1e308);
    case '2**53+2 dim':
      return first(2 ** 53 + 2);
    case 'string dim':
      return first(String(s[0]));
    case 'bigint dim':
      return first(BigInt(s[0]));
    case 'null dim':
      return first(null);
    case 'hole': {
      const h = s.slice() as unknown[];
      delete h[0];
      return h;
    }
    case 'string':
      return s.join(',');
    case 'array-like object':
      return { ...s, length: s.length };
    case 'Int32Array':
      return Int32Array.from(s);
    case 'product past 2^53':
      return [2 ** 27, 2 ** 27, ...s];
    case 'zero and 2**53+2':
      return [2 ** 53 + 2, 0, ...s.slice(2)];
    case 'zero and 1e308':
      return [1e308, 0, ...s.slice(2)];
    case 'one more element':
      return [...s.slice(0, -1), s[s.length - 1] + 1];
    case 'one fewer element':
      return [...s.slice(0, -1), Math.max(0, s[s.length - 1] - 1) === s[s.length - 1] ? 1 : 0];
  }
}

// ---- memory -------------------------------------------------------------------------------

/** Where an array lives: its own buffer, at an offset in a larger one, in a SharedArrayBuffer, or in another realm. */
export const STORAGES = ['own', 'offset', 'sab', 'realm'] as const;
export type Storage = (typeof STORAGES)[number];

const SENTINEL_BITS = 0x7fc0dead; // a NaN with a payload nothing computes
const PAD = 5;

/** One allocation: every byte of it is compared before and after a call. */
interface Block {
  buffer: ArrayBufferLike;
  /** Views a successful call may write, as [byte offset, byte length]. */
  writable: Array<[number, number]>;
  before?: Uint8Array;
}

class Memory {
  blocks: Block[] = [];
  /** The block of each view made here. */
  private owner = new Map<Float32Array, Block>();

  place(values: Float32Array, storage: Storage, extra = 0, lead = PAD): Float32Array {
    const n = values.length;
    if (storage === 'own') return this.track(values.slice(), values.length);
    if (storage === 'realm') {
      const a = new RealmFloat32Array(n);
      a.set(values);
      return this.track(a, n);
    }
    const total = lead + n + extra + PAD;
    const buffer =
      storage === 'sab' ? new SharedArrayBuffer(total * 4) : new ArrayBuffer(total * 4);
    new Int32Array(buffer).fill(SENTINEL_BITS);
    const view = new Float32Array(buffer, lead * 4, n);
    view.set(values);
    const block: Block = { buffer, writable: [] };
    this.blocks.push(block);
    this.owner.set(view, block);
    return view;
  }

  private track(a: Float32Array, n: number): Float32Array {
    const block: Block = { buffer: a.buffer, writable: [] };
    void n;
    this.blocks.push(block);
    this.owner.set(a, block);
    return a;
  }

  /** A view of `length` floats starting `shift` floats after `base`'s start, in its memory (`clone`: through a second SharedArrayBuffer object over it). */
  alias(base: Float32Array, length: number, shift: number, clone: boolean): Float32Array {
    const block = this.owner.get(base)!;
    const buffer = clone ? structuredClone(block.buffer) : block.buffer;
    const view = new Float32Array(buffer, base.byteOffset + shift * 4, length);
    this.owner.set(view, block);
    return view;
  }

  /** Marks `view` as written by a successful call. */
  writes(view: unknown): void {
    if (!(view instanceof Float32Array || isRealmF32(view))) return;
    const v = view as Float32Array;
    const block = this.owner.get(v);
    if (block) block.writable.push([v.byteOffset, v.byteLength]);
  }

  adopt(value: unknown): void {
    if (ArrayBuffer.isView(value) && !this.owner.has(value as Float32Array)) {
      const buffer = (value as Float32Array).buffer;
      const block: Block = { buffer, writable: [] };
      this.blocks.push(block);
      this.owner.set(value as Float32Array, block);
    }
  }

  snapshot(): void {
    for (const b of this.blocks) b.before = bytesOf(b.buffer);
  }

  /** Bytes that changed: anywhere (`all`), or outside the views a call may write. */
  changed(all: boolean): string[] {
    const out: string[] = [];
    for (const [k, b] of this.blocks.entries()) {
      const now = bytesOf(b.buffer);
      const before = b.before!;
      if (now.length !== before.length) {
        out.push(`block ${k}: ${before.length} bytes became ${now.length}`);
        continue;
      }
      for (let i = 0; i < now.length; i++) {
        if (now[i] === before[i]) continue;
        if (!all && b.writable.some(([o, l]) => i >= o && i < o + l)) continue;
        out.push(`block ${k} byte ${i} (float ${i >> 2}) changed`);
        break;
      }
    }
    return out;
  }
}

/** A copy of a buffer's bytes (none once it is detached). */
function bytesOf(buffer: ArrayBufferLike): Uint8Array {
  return buffer.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(buffer.slice(0));
}

function isRealmF32(v: unknown): boolean {
  return ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === '[object Float32Array]';
}

/** A copy of a Float32Array of any realm as one of this realm (empty once detached). */
function own(a: unknown): unknown {
  if (!isRealmF32(a)) return a;
  const view = a as Float32Array;
  // A detached view reads as empty; copying it would throw.
  return view.buffer.byteLength === 0 ? new Float32Array(0) : Float32Array.from(view);
}

// ---- the property -------------------------------------------------------------------------

export class GetterError extends Error {
  constructor() {
    super('a getter threw');
  }
}

const MESSAGE = /^Expected .+ for .+, but received .*$/s;

/** The public argument `message` names, among `names` (exact, or with a prefix in `prefixes`). */
export function namedArgument(
  message: string,
  names: Iterable<string>,
  prefixes: readonly string[] = [],
): string | null {
  if (!MESSAGE.test(message)) return null;
  let best: string | null = null;
  for (const n of names) {
    if (message.includes(` for ${n}, but received `) && (!best || n.length > best.length)) best = n;
  }
  if (best) return best;
  for (const p of prefixes) {
    const m = message.match(
      new RegExp(`^Expected .+ for (${p.replace(/[.[\]]/g, '\\$&')}[^ ,]*), but received `),
    );
    if (m) return m[1];
  }
  return null;
}

/** What a case must do, besides changing nothing when it throws. */
export type Expectation =
  /** Whatever the reference does with the plain twin. */
  | { kind: 'model' }
  /** Throw a TypeError or RangeError naming one of `names`. */
  | { kind: 'reject'; names: readonly string[] }
  /** Throw `error` itself, or a TypeError or RangeError naming a public argument. */
  | { kind: 'own'; error: unknown }
  /** Reject with an AbortError. */
  | { kind: 'abort' }
  /** The model's result, or a TypeError or RangeError naming a public argument. */
  | { kind: 'loose' };

export interface Outcome {
  threw: boolean;
  error?: unknown;
  value?: unknown;
}

/** Runs `call`, awaiting it when `async` (which must return a promise, never throw). */
export async function settle(call: () => unknown, async: boolean): Promise<Outcome> {
  let r: unknown;
  try {
    r = call();
  } catch (error) {
    if (async)
      return {
        threw: true,
        error: new Error(`the async call threw synchronously: ${String(error)}`),
      };
    return { threw: true, error };
  }
  if (!async) return { threw: false, value: r };
  if (!(r instanceof Promise)) {
    return { threw: true, error: new Error('the async call did not return a Promise') };
  }
  try {
    return { threw: false, value: await r };
  } catch (error) {
    return { threw: true, error };
  }
}

/** Problems with a thrown `error` under `expect`, given the call's public argument names. */
export function judgeError(
  error: unknown,
  expect: Expectation,
  names: ReadonlySet<string>,
  prefixes: readonly string[] = [],
): string[] {
  if (expect.kind === 'own' && error === expect.error) return [];
  if (expect.kind === 'abort') {
    const ok = error instanceof Error && error.name === 'AbortError';
    return ok ? [] : [`expected an AbortError, got ${describeError(error)}`];
  }
  if (!(error instanceof TypeError || error instanceof RangeError)) {
    return [`threw ${describeError(error)}, not a TypeError or RangeError`];
  }
  const named = namedArgument(error.message, names, prefixes);
  if (named === null) {
    return [`threw ${describeError(error)}, which names no public argument of this call`];
  }
  if (expect.kind === 'reject' && !expect.names.includes(named)) {
    return [
      `threw ${describeError(error)}, naming ${named} where ${expect.names.join(' or ')} was wrong`,
    ];
  }
  return [];
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}`;
  return `the non-error ${String(e)}`;
}

/** Mismatches of `got` against the reference's `want`, by array name, NaN and infinities exact. */
export function compareArrays(
  got: Record<string, unknown>,
  want: Record<string, Float32Array>,
): string[] {
  const out: string[] = [];
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    if (!isRealmF32(g)) {
      out.push(`${k}: not a Float32Array`);
      continue;
    }
    const bad = mismatches(g as Float32Array, w, TOL, 3);
    if (bad.length) out.push(`${k}: ${bad.join('; ')}`);
  }
  return out;
}

// ---- op calls -----------------------------------------------------------------------------

/** How a recipe breaks a call (at most one thing). Indices pick among what the call has. */
export type Mutation =
  | { at: 'arg'; which: number; bad: BadValue }
  | { at: 'data'; which: number; bad: BadArray }
  | { at: 'shape'; which: number; bad: BadShape }
  | { at: 'option'; which: number; bad: number }
  | { at: 'extraKey'; key: string }
  | { at: 'throwingGetter'; which: number }
  | { at: 'changingGetter'; which: number }
  | { at: 'changingTensor'; which: number; field: 'data' | 'shape' | 'dim' | 'length' }
  | {
      at: 'proxy';
      mode: 'transparent' | 'hides an unknown key' | 'ownKeys throws' | 'tensor' | 'shape';
    }
  | {
      at: 'options';
      mode:
        | 'null prototype'
        | 'inherited keys'
        | 'non-enumerable key'
        | 'symbol key'
        | 'frozen'
        | 'class instance';
    };

export const EXTRA_KEYS = [
  'epsilon',
  'Weight',
  'running_mean',
  'signal',
  'constructor',
  'toString',
  '__proto__',
  '',
  'out ',
];

export interface OpRecipe {
  op: string;
  /** `normkit` (the default backend) or `normkit.reference`. */
  api: 'default' | 'reference';
  async: boolean;
  shape: number[];
  /** Trailing axes normalized (ops with a normalizedShape), and whether a 1-axis one is passed as a number. */
  axes: number;
  asNumber: boolean;
  /** Picks numGroups among the divisors of the channel count (ops with a count). */
  groups: number;
  kind: Kind;
  seed: number;
  /** Optional arrays (weight, bias, running statistics) and outputs given, by option key. */
  given: string[];
  storage: Record<string, Storage>;
  bools: Record<string, boolean>;
  layout: string | undefined;
  eps: number | null | undefined;
  numbers: Record<string, number>;
  /** A written array placed over another one's memory: which, over which, where, how. */
  alias: null | { written: number; other: number; at: number; clone: boolean };
  signal: 'none' | 'live' | 'aborted' | 'bad';
  mutation: Mutation | null;
}

const SAFE_EPS = [undefined, 1e-5, 1e-3, 0.25, 2];
const MOMENTA = [0, 0.1, 0.5, 1, -0.5, 1.5];

/** `arb` in `percent` of the cases, else null (what shrinking goes to). */
function sometimes<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { arbitrary: fc.constant(null), weight: 100 - percent },
    { arbitrary: arb, weight: percent },
  );
}

/** A dimension: mostly small, sometimes 0, sometimes past a vector width. */
const dim = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 5 }), weight: 12 },
  { arbitrary: fc.constant(0), weight: 1 },
  { arbitrary: fc.constantFrom(9, 17, 33), weight: 2 },
);

export const shapeArb = fc
  .array(dim, { minLength: 1, maxLength: 5 })
  .filter((s) => s.reduce((a, b) => a * b, 1) <= 1500);

function mutationArb(op: OpDescriptor, async: boolean): fc.Arbitrary<Mutation> {
  const which = fc.nat(50);
  return fc.oneof(
    fc.record({ at: fc.constant('arg' as const), which, bad: fc.constantFrom(...BAD_VALUES) }),
    fc.record({ at: fc.constant('data' as const), which, bad: fc.constantFrom(...BAD_ARRAYS) }),
    fc.record({ at: fc.constant('shape' as const), which, bad: fc.constantFrom(...BAD_SHAPES) }),
    fc.record({ at: fc.constant('option' as const), which, bad: fc.nat(40) }),
    fc.record({
      at: fc.constant('extraKey' as const),
      key: fc.constantFrom(...EXTRA_KEYS.filter((k) => !(async && k === 'signal'))),
    }),
    fc.record({ at: fc.constant('throwingGetter' as const), which }),
    fc.record({ at: fc.constant('changingGetter' as const), which }),
    fc.record({
      at: fc.constant('changingTensor' as const),
      which,
      field: fc.constantFrom('data' as const, 'shape' as const, 'dim' as const, 'length' as const),
    }),
    fc.record({
      at: fc.constant('proxy' as const),
      mode: fc.constantFrom(
        'transparent' as const,
        'hides an unknown key' as const,
        'ownKeys throws' as const,
        'tensor' as const,
        'shape' as const,
      ),
    }),
    fc.record({
      at: fc.constant('options' as const),
      mode: fc.constantFrom(
        'null prototype' as const,
        'inherited keys' as const,
        'non-enumerable key' as const,
        'symbol key' as const,
        'frozen' as const,
        'class instance' as const,
      ),
    }),
  );
  void op;
}

/** Generated calls of `op` (sync or async) on `api`; a third of them malformed. */
export function opRecipeArb(
  op: OpDescriptor,
  api: 'default' | 'reference',
  async: boolean,
): fc.Arbitrary<OpRecipe> {
  const arrays = [...tensorParams(op), ...optionalArrays(op), ...outputOptions(op)];
  const epsSpec = optionsOfKind(op, 'eps').map((k) => op.options[k])[0];
  const eps =
    epsSpec && epsSpec.kind === 'eps' && epsSpec.nullable ? [...SAFE_EPS, null] : SAFE_EPS;
  return fc.record({
    op: fc.constant(op.name),
    api: fc.constant(api),
    async: fc.constant(async),
    shape: shapeArb,
    axes: fc.integer({ min: 1, max: 3 }),
    asNumber: fc.boolean(),
    groups: fc.nat(8),
    kind: fc.constantFrom(...KINDS),
    seed: fc.nat(),
    given: fc.subarray([...optionalArrays(op), ...outputOptions(op)]),
    storage: fc.record(Object.fromEntries(arrays.map((k) => [k, fc.constantFrom(...STORAGES)]))),
    bools: fc.record(Object.fromEntries(optionsOfKind(op, 'bool').map((k) => [k, fc.boolean()]))),
    layout: optionsOfKind(op, 'layout').length
      ? fc.constantFrom(undefined, 'channels_first', 'channels_last')
      : fc.constant(undefined),
    eps: fc.constantFrom(...eps),
    numbers: fc.record(
      Object.fromEntries(optionsOfKind(op, 'number').map((k) => [k, fc.constantFrom(...MOMENTA)])),
    ),
    alias: sometimes(
      fc.record({ written: fc.nat(9), other: fc.nat(9), at: fc.nat(6), clone: fc.boolean() }),
      25,
    ),
    signal: async
      ? fc.constantFrom(
          'none' as const,
          'none' as const,
          'live' as const,
          'aborted' as const,
          'bad' as const,
        )
      : fc.constant('none' as const),
    mutation: sometimes(mutationArb(op, async), 50),
  }) as fc.Arbitrary<OpRecipe>;
}

/** The divisors of `n` (1 for 0). */
function divisors(n: number): number[] {
  if (n <= 0) return [1, 2, 3];
  const out: number[] = [];
  for (let d = 1; d <= Math.min(n, 64); d++) if (n % d === 0) out.push(d);
  if (n > 64) out.push(n);
  return out;
}

/** A built call: its arguments, their plain twin, and what it must do. */
export interface BuiltCall {
  /** The arguments as passed (getters, Proxies, exotic arrays). */
  args: unknown[];
  /** The same values as the callee should read them: plain objects, copies of this realm. */
  plain: unknown[];
  memory: Memory;
  expect: Expectation;
  /** Public argument names of this call. */
  names: Set<string>;
  prefixes: string[];
  /** Option keys whose arrays the call may write, and the state ones among them. */
  written: string[];
  states: Record<string, Float32Array>;
  /** Given outputs by option key (the result must be these arrays). */
  outs: Record<string, unknown>;
  signal: OpRecipe['signal'];
  /** The shape every result must have: the first tensor's, as the callee reads it. */
  resultShape: readonly number[];
  description: string;
}

/** The public argument names of `op`'s function (its async twin with `signal`). */
export function opNames(op: OpDescriptor, async: boolean): Set<string> {
  const names = new Set<string>(['options', 'runningMean and runningVar']);
  for (const t of tensorParams(op)) for (const s of ['', '.data', '.shape']) names.add(t + s);
  if (takesNormalizedShape(op)) names.add('normalizedShape');
  for (const c of countParams(op)) names.add(c);
  for (const k of Object.keys(op.options)) names.add(k);
  if (async) names.add('signal');
  return names;
}

/** Option keys of `op`'s arrays, by the kernel argument they become. */
function optionKeyOf(op: OpDescriptor, arg: string): string | undefined {
  return Object.keys(op.options).find((k) => op.options[k].arg === arg);
}

export function buildOpCall(r: OpRecipe): BuiltCall {
  const given = r.given.slice();
  const op = OPS[r.op];
  const rng = mulberry32(r.seed);
  const shape = r.shape.slice();
  const n = shape.reduce((a, b) => a * b, 1);
  const rank = shape.length;
  const axes = Math.min(r.axes, rank);
  const ns = takesNormalizedShape(op) ? shape.slice(rank - axes) : [];
  const counts: Record<string, number> = {};
  for (const c of countParams(op)) {
    const ds = divisors(shape[1] ?? 0);
    counts[c] = ds[r.groups % ds.length];
  }
  const sizes = sizesFor(op, shape, ns, counts);
  const memory = new Memory();
  const names = opNames(op, r.async);
  const prefixes: string[] = [];
  const notes: string[] = [];

  // Values: the tensors, the optional arrays (lengths from the sizes; 3 where the shape is bad).
  const values: Record<string, Float32Array> = {};
  for (const t of tensorParams(op)) values[t] = kindData(rng, n, r.kind);
  const lengthOf = (key: string) =>
    sizes ? argLength(op, op.options[key].arg, sizes) : Math.max(1, shape[1] ?? 1);
  const role = (key: string) => op.args.find((a) => a.name === op.options[key].arg)!.role;
  for (const key of given) {
    const len = lengthOf(key);
    if (role(key) === 'state') values[key] = stateValues(rng, len, op.options[key].arg, r.kind);
    else if (role(key) === 'param') values[key] = paramValues(rng, len);
    else values[key] = kindData(rng, len, 'normal');
  }
  const arrayNames = [...tensorParams(op), ...given];

  // Which arrays the call writes: outputs, and states when their flag is on.
  const flagOn = (argName: string) => {
    const key = optionKeyOf(op, argName);
    if (!key) return false;
    const spec = op.options[key];
    return spec.kind === 'bool' ? (r.bools[key] ?? spec.default) : false;
  };
  const isWritten = (key: string) => {
    if (tensorParams(op).includes(key)) return false;
    const a = op.args.find((x) => x.name === op.options[key].arg)!;
    return a.role === 'output' || (a.role === 'state' && flagOn(a.writtenWhen!));
  };
  const labelOf = (key: string) => (tensorParams(op).includes(key) ? `${key}.data` : key);

  // Memory: each array in its storage; one written array may be placed over another's memory.
  const placed: Record<string, Float32Array> = {};
  let alias: { w: string; o: string; shift: number; clone: boolean } | null = null;
  const writers = given.filter((k) => role(k) === 'output' || role(k) === 'state');
  if (r.alias && writers.length) {
    const w = writers[r.alias.written % writers.length];
    const others = arrayNames.filter((k) => k !== w);
    const o = others[r.alias.other % others.length];
    const wl = values[w].length;
    const ol = values[o].length;
    const shifts = [-wl, -wl + 1, -1, 0, 1, ol - 1, ol];
    const shift = shifts[r.alias.at % shifts.length];
    const sameLength = wl === ol && shift === 0;
    // An identical object needs equal lengths; a clone needs a SharedArrayBuffer.
    const clone = r.alias.clone && r.api === 'default';
    if (wl > 0 || ol > 0) alias = { w, o, shift: sameLength && !clone ? 0 : shift, clone };
    void sameLength;
  }
  for (const k of arrayNames) {
    if (alias && k === alias.w) continue;
    let storage = r.storage[k] ?? 'own';
    let lead = PAD;
    let extra = 0;
    if (alias && k === alias.o) {
      storage = alias.clone ? 'sab' : storage === 'sab' ? 'sab' : 'offset';
      lead = PAD + values[alias.w].length;
      extra = values[alias.w].length;
    }
    placed[k] = memory.place(values[k], storage, extra, lead);
  }
  if (alias) {
    const { w, o, shift, clone } = alias;
    const same = shift === 0 && values[w].length === values[o].length;
    const view =
      same && !clone ? placed[o] : memory.alias(placed[o], values[w].length, shift, clone);
    // What the written array held before (its own values) is irrelevant: it is written.
    placed[w] = view;
    notes.push(
      `${w} ${same && !clone ? 'is' : `is a ${values[w].length}-float view ${shift} floats into`} ${o}${clone ? ' through a structuredClone of its SharedArrayBuffer' : ''}`,
    );
  }

  // The options object, and its plain twin.
  const entries: Array<[string, unknown]> = [];
  for (const k of given) entries.push([k, placed[k]]);
  for (const [k, v] of Object.entries(r.bools)) entries.push([k, v]);
  const layoutKey = optionsOfKind(op, 'layout')[0];
  if (layoutKey && r.layout !== undefined) entries.push([layoutKey, r.layout]);
  const epsKey = optionsOfKind(op, 'eps')[0];
  if (epsKey && r.eps !== undefined) entries.push([epsKey, r.eps]);
  for (const [k, v] of Object.entries(r.numbers)) entries.push([k, v]);
  let signalValue: unknown;
  /** The signal as the call gets it (none once the options are replaced). */
  let signal = r.signal;
  if (r.signal !== 'none') {
    if (r.signal === 'bad') signalValue = { aborted: true };
    else {
      const c = new AbortController();
      if (r.signal === 'aborted') c.abort();
      signalValue = c.signal;
    }
    entries.push(['signal', signalValue]);
  }

  let expect: Expectation = { kind: 'model' };
  /** Option arrays a valid mutation replaced (an empty array where none is needed). */
  const replaced: Record<string, unknown> = {};
  const tensors = tensorParams(op);
  const tensorObjects: Record<string, unknown> = {};
  const plainTensors: Record<string, unknown> = {};
  for (const t of tensors) {
    tensorObjects[t] = { data: placed[t], shape: shape.slice() };
    plainTensors[t] = { data: values[t].slice(), shape: shape.slice() };
  }
  let nsArg: unknown = axes === 1 && r.asNumber ? ns[0] : ns.slice();
  let plainNs: unknown = ns.slice();
  const countArgs = { ...counts };
  let options: unknown = Object.fromEntries(entries);
  const plainEntries = entries.map(([k, v]) => [k, own(v)] as [string, unknown]);
  let plainOptions: unknown = Object.fromEntries(plainEntries);
  const optionKeys = entries.map(([k]) => k);

  const m = r.mutation;
  const pick = <T>(list: readonly T[], i: number) => list[i % list.length];
  if (m) {
    switch (m.at) {
      case 'arg': {
        const p = pick(op.params, m.which);
        const v = badValue(m.bad);
        if (p.kind === 'tensor') {
          tensorObjects[p.name] = v;
          plainTensors[p.name] = v;
          expect = { kind: 'reject', names: [p.name, `${p.name}.data`] };
        } else if (p.kind === 'normalizedShape') {
          nsArg = v;
          plainNs = v;
          expect = { kind: 'model' };
          if (!(typeof v === 'number' && v === ns[0] && axes === 1)) {
            expect = { kind: 'reject', names: ['normalizedShape'] };
          }
        } else if (p.kind === 'count') {
          countArgs[p.name] = v as number;
          expect = v === counts[p.name] ? { kind: 'model' } : { kind: 'reject', names: [p.name] };
        } else {
          // An object without own keys (a Date, {}) is empty options; null and undefined too.
          const empty = v === undefined || v === null || m.bad === '{}' || m.bad === 'Date';
          options = v;
          plainOptions = empty ? {} : v;
          optionKeys.length = 0;
          given.length = 0;
          alias = null;
          signal = 'none';
          expect = empty ? { kind: 'model' } : { kind: 'reject', names: ['options'] };
        }
        notes.push(
          `${p.kind === 'options' ? 'options' : 'name' in p ? p.name : p.kind} is ${m.bad}`,
        );
        break;
      }
      case 'data': {
        const t = pick(tensors, m.which);
        const v = badArray(m.bad, values[t]);
        (tensorObjects[t] as { data: unknown }).data = v;
        (plainTensors[t] as { data: unknown }).data = own(v);
        memory.adopt(v);
        expect = badArrayIsValid(m.bad, n)
          ? { kind: 'model' }
          : { kind: 'reject', names: [`${t}.data`, `${t}.shape`] };
        notes.push(`${t}.data is ${m.bad}`);
        break;
      }
      case 'shape': {
        const t = pick(tensors, m.which);
        const v = badShape(m.bad, shape);
        (tensorObjects[t] as { shape: unknown }).shape = v;
        (plainTensors[t] as { shape: unknown }).shape = v;
        const others = tensors.filter((x) => x !== t).map((x) => `${x}.shape`);
        // A shape of the data's length in another form (one fewer of a zero-size shape) is just
        // another call.
        const sameLength =
          Array.isArray(v) &&
          v.every((d) => typeof d === 'number') &&
          (v as number[]).reduce((a, b) => a * b, 1) === n;
        expect = sameLength
          ? { kind: 'loose' }
          : {
              kind: 'reject',
              names: [`${t}.shape`, `${t}.data`, ...others, 'normalizedShape', ...countParams(op)],
            };
        notes.push(
          `${t}.shape is ${m.bad}: ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x))}`,
        );
        break;
      }
      case 'option': {
        const keys = Object.keys(op.options);
        const key = pick(keys, m.which);
        const spec = op.options[key];
        let v: unknown;
        let valid = false;
        if (spec.kind === 'array') {
          const len = sizes ? argLength(op, spec.arg, sizes) : 3;
          const bad = pick(BAD_ARRAYS, m.bad);
          v = badArray(bad, values[key] ?? kindData(rng, len, 'normal'));
          valid = badArrayIsValid(bad, len);
          memory.adopt(v);
          notes.push(`options.${key} is ${bad}`);
        } else {
          const bad = pick(
            {
              eps: ['-1', 'NaN', 'Infinity', '"2"', 'true', 'null', '2n', '-Infinity', '{}'],
              number: ['NaN', 'Infinity', '"2"', 'null', 'true', '2n', '[]'],
              bool: ['0', '"2"', 'null', '1.5', '{}', '2n'],
              layout: ['"2"', '""', 'null', '0', 'symbol'],
            }[spec.kind] as BadValue[],
            m.bad,
          );
          v = badValue(bad);
          valid = spec.kind === 'eps' && v === null && !!spec.nullable;
          notes.push(`options.${key} is ${bad}`);
        }
        (options as Record<string, unknown>)[key] = v;
        (plainOptions as Record<string, unknown>)[key] = own(v);
        if (!optionKeys.includes(key)) optionKeys.push(key);
        expect = valid ? { kind: 'model' } : { kind: 'reject', names: [key] };
        if (valid) replaced[key] = v;
        break;
      }
      case 'extraKey': {
        const set = (o: Record<string, unknown>) =>
          Object.defineProperty(o, m.key, {
            value: 1,
            enumerable: true,
            configurable: true,
            writable: true,
          });
        set(options as Record<string, unknown>);
        set(plainOptions as Record<string, unknown>);
        names.add(`options.${m.key}`);
        expect = { kind: 'reject', names: [`options.${m.key}`] };
        notes.push(`options has the extra key ${JSON.stringify(m.key)}`);
        break;
      }
      case 'throwingGetter':
      case 'changingGetter': {
        if (!optionKeys.length) break;
        const key = pick(optionKeys, m.which);
        const o = options as Record<string, unknown>;
        const first = o[key];
        const error = new GetterError();
        let reads = 0;
        Object.defineProperty(o, key, {
          enumerable: true,
          configurable: true,
          get() {
            if (m.at === 'throwingGetter') throw error;
            // The first read sees the value; later ones something that would fail.
            return reads++ === 0 ? first : badArray('detached', new Float32Array(3));
          },
        });
        if (m.at === 'throwingGetter') expect = { kind: 'own', error };
        notes.push(
          `options.${key} is a getter that ${m.at === 'throwingGetter' ? 'throws' : 'changes after its first read'}`,
        );
        break;
      }
      case 'changingTensor': {
        const t = pick(tensors, m.which);
        const obj = tensorObjects[t] as { data: Float32Array; shape: number[] };
        const { data: d, shape: s } = obj;
        const later = badArray('detached', new Float32Array(3));
        if (m.field === 'data' || m.field === 'shape') {
          const first = m.field === 'data' ? d : s;
          let reads = 0;
          Object.defineProperty(obj, m.field, {
            enumerable: true,
            get: () => (reads++ === 0 ? first : m.field === 'data' ? later : [7, 7, 7]),
          });
        } else if (m.field === 'dim' && s.length) {
          let reads = 0;
          const v = s[0];
          Object.defineProperty(s, 0, { enumerable: true, get: () => (reads++ === 0 ? v : -1) });
        } else if (m.field === 'length') {
          let reads = 0;
          obj.shape = new Proxy(s, {
            get: (target, key) =>
              key === 'length'
                ? reads++ === 0
                  ? target.length
                  : target.length + 5
                : Reflect.get(target, key),
          });
        }
        notes.push(`${t}.${m.field} changes after its first read`);
        break;
      }
      case 'proxy': {
        if (m.mode === 'transparent') options = new Proxy(options as object, {});
        else if (m.mode === 'hides an unknown key') {
          const target = { ...(options as object), epsilon: 1 };
          options = new Proxy(target, {
            ownKeys: (t) => Reflect.ownKeys(t).filter((k) => k !== 'epsilon'),
          });
          names.add('options.epsilon');
          expect = { kind: 'loose' };
        } else if (m.mode === 'ownKeys throws') {
          const error = new GetterError();
          options = new Proxy(options as object, {
            ownKeys: () => {
              throw error;
            },
          });
          expect = { kind: 'own', error };
        } else if (m.mode === 'tensor') {
          const t = tensors[0];
          tensorObjects[t] = new Proxy(tensorObjects[t] as object, {});
        } else {
          const t = tensors[0];
          const obj = tensorObjects[t] as { shape: number[] };
          obj.shape = new Proxy(obj.shape, {});
        }
        notes.push(`a Proxy (${m.mode})`);
        break;
      }
      case 'options': {
        const o = options as Record<string, unknown>;
        if (m.mode === 'null prototype') options = Object.assign(Object.create(null), o);
        else if (m.mode === 'frozen') options = Object.freeze({ ...o });
        else if (m.mode === 'class instance') {
          class Options {}
          options = Object.assign(new Options(), o);
        } else if (m.mode === 'inherited keys') {
          // Only own keys count: inherited ones (a wrong eps) are not options.
          options = Object.assign(Object.create({ eps: -1, weight: 'x', zzz: 1 }), o);
        } else if (m.mode === 'non-enumerable key') {
          // A non-enumerable key is no option, even where it was one.
          Object.defineProperty(o, 'eps', { value: -1, enumerable: false });
          delete (plainOptions as Record<string, unknown>).eps;
          Object.defineProperty(o, 'zzz', { value: 1, enumerable: false });
        } else {
          o[Symbol('fuzz') as unknown as string] = -1;
        }
        notes.push(`options: ${m.mode}`);
        break;
      }
    }
  }

  // Two written arrays over the same memory, or a written one over one that is read: rejected
  // unless it is the very same array (or, natively, the same memory) where in place is allowed.
  if (alias && expect.kind === 'model') {
    const { w, o, shift } = alias;
    const wl = values[w].length;
    const ol = values[o].length;
    const overlap = wl > 0 && ol > 0 && shift > -wl && shift < ol;
    const same = shift === 0 && wl === ol;
    const writeW = isWritten(w);
    const writeO = isWritten(o);
    const argW = op.args.find((a) => a.name === op.options[w].arg)!;
    const inPlace =
      same && !writeO && (argW.inPlace ?? []).includes(tensors.includes(o) ? o : op.options[o].arg);
    if (overlap && (writeW || writeO) && !inPlace) {
      expect = { kind: 'reject', names: [labelOf(w), labelOf(o)] };
    } else if (overlap && !writeW && !writeO) {
      expect = { kind: 'model' };
    }
  }

  // An aborted signal rejects with an AbortError once the arguments are valid; a bad one names it.
  if (signal === 'bad' && expect.kind === 'model') expect = { kind: 'reject', names: ['signal'] };
  if (signal !== 'none' && plainOptions && typeof plainOptions === 'object') {
    delete (plainOptions as Record<string, unknown>).signal;
  }

  const args = op.params.map((p) => {
    if (p.kind === 'tensor') return tensorObjects[p.name];
    if (p.kind === 'normalizedShape') return nsArg;
    if (p.kind === 'count') return countArgs[p.name];
    return options;
  });
  const plain = op.params.map((p) => {
    if (p.kind === 'tensor') return plainTensors[p.name];
    if (p.kind === 'normalizedShape') return plainNs;
    if (p.kind === 'count') return countArgs[p.name];
    return plainOptions;
  });
  const written = given.filter(isWritten);
  for (const k of written) memory.writes(placed[k]);
  if (alias && expect.kind === 'model') {
    // In place: the input is the output.
    const target = placed[alias.w];
    memory.writes(target);
  }
  const states: Record<string, Float32Array> = {};
  for (const k of given) if (role(k) === 'state') states[k] = placed[k];
  const outs: Record<string, unknown> = {};
  for (const k of given) if (role(k) === 'output') outs[k] = placed[k];
  for (const [k, v] of Object.entries(replaced)) {
    delete states[k];
    delete outs[k];
    if (v instanceof Float32Array && role(k) === 'output') outs[k] = v;
  }

  const description = [
    `${r.api === 'reference' ? 'reference.' : ''}${op.name}${r.async ? 'Async' : ''} on [${shape.join(', ')}]`,
    ns.length ? `normalizedShape [${ns.join(', ')}]` : '',
    ...Object.entries(counts).map(([k, v]) => `${k} ${v}`),
    `${r.kind} data`,
    given.length ? `given ${given.map((k) => `${k} (${r.storage[k] ?? 'own'})`).join(', ')}` : '',
    ...notes,
    r.signal !== 'none' ? `signal ${r.signal}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const first = (plainTensors[tensors[0]] as { shape?: unknown } | null)?.shape;
  const resultShape = Array.isArray(first) ? (first as number[]) : shape;
  return {
    args,
    plain,
    memory,
    expect,
    names,
    prefixes,
    written,
    states,
    outs,
    signal,
    resultShape,
    description,
  };
}

/** The reference's outcome for a built call's plain twin: its arrays by result key and state key. */
export function referenceOutcome(
  op: OpDescriptor,
  plain: unknown[],
): { error?: unknown; arrays?: Record<string, Float32Array> } {
  const copy = plain.map((v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    return v;
  });
  const fn = (normkit.reference as unknown as Record<string, Fn>)[op.name];
  let result: unknown;
  try {
    result = fn(...copy);
  } catch (error) {
    return { error };
  }
  const arrays: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(resultArrays(op, result))) arrays[k] = own(v) as Float32Array;
  const options = plain[op.params.findIndex((p) => p.kind === 'options')];
  if (options && typeof options === 'object') {
    for (const k of optionalArrays(op)) {
      const a = (options as Record<string, unknown>)[k];
      if (
        a instanceof Float32Array &&
        op.args.find((x) => x.name === op.options[k].arg)!.role === 'state'
      ) {
        arrays[`state ${k}`] = own(a) as Float32Array;
      }
    }
  }
  return { arrays };
}

/** Runs recipe `r` and returns what is wrong with what the call did (nothing, when it held). */
export async function checkOpRecipe(r: OpRecipe): Promise<string[]> {
  const op = OPS[r.op];
  const built = buildOpCall(r);
  // A malformed argument must be named when it is the only thing wrong: where the call without
  // it is rejected too, any public argument may be named.
  if (built.expect.kind === 'reject') {
    const quiet = { mutation: null, alias: null, signal: 'none' as const };
    const base = buildOpCall({ ...r, ...quiet });
    const faults = [
      buildOpCall({ ...r, ...quiet, mutation: r.mutation }),
      buildOpCall({ ...r, ...quiet, alias: r.alias }),
      buildOpCall({ ...r, ...quiet, signal: r.signal }),
    ].filter((b) => b.expect.kind === 'reject').length;
    if (faults > 1 || referenceOutcome(op, base.plain).error !== undefined) {
      built.expect = { kind: 'loose' };
    }
  }
  // The plain twin's arrays are fresh copies: the reference runs on them first.
  const want =
    built.expect.kind === 'model' || built.expect.kind === 'loose'
      ? referenceOutcome(op, built.plain)
      : {};
  const api = (r.api === 'reference' ? normkit.reference : normkit) as unknown as Record<
    string,
    Fn
  >;
  const fn = api[r.async ? `${op.name}Async` : op.name];
  built.memory.snapshot();
  const got = await settle(() => fn(...built.args), r.async);
  const problems: string[] = [];
  let expect = built.expect;
  // An aborted signal may stop a call before the binding's own checks (aliasing through a
  // second SharedArrayBuffer object): an AbortError that changed nothing is always right.
  const aborted =
    built.signal === 'aborted' && got.threw && (got.error as Error)?.name === 'AbortError';
  const due = aborted
    ? 'abort'
    : expect.kind === 'model' && want.error !== undefined
      ? 'reference rejects'
      : expect.kind;
  const tag = `${due}/${got.threw ? 'threw' : 'result'}`;
  outcomes[tag] = (outcomes[tag] ?? 0) + 1;
  if (aborted) return built.memory.changed(true).map((c) => `an aborted call changed memory: ${c}`);
  if (expect.kind === 'model' && want.error !== undefined) {
    // The reference rejects the plain twin: the call must reject too, naming a public argument.
    expect = { kind: 'loose' };
    if (!got.threw)
      problems.push(`returned a result where the reference threw ${describeError(want.error)}`);
  }
  if (got.threw) {
    if (expect.kind === 'model' && built.signal !== 'aborted') {
      problems.push(`threw ${describeError(got.error)} where the reference returned a result`);
    } else if (built.signal === 'aborted' && expect.kind === 'model') {
      problems.push(...judgeError(got.error, { kind: 'abort' }, built.names));
    } else {
      problems.push(...judgeError(got.error, expect, built.names, built.prefixes));
    }
    problems.push(...built.memory.changed(true).map((c) => `a throwing call changed memory: ${c}`));
    return problems;
  }
  if (built.signal === 'aborted' && expect.kind === 'model') {
    problems.push('an aborted signal did not reject');
  }
  if (expect.kind === 'reject' || expect.kind === 'own' || expect.kind === 'abort') {
    problems.push(
      `returned a result where a ${expect.kind === 'reject' ? `rejection naming ${expect.names.join(' or ')}` : expect.kind} was due`,
    );
    return problems;
  }
  if (!want.arrays) {
    if (expect.kind === 'loose') return problems;
    problems.push('the reference gave no result');
    return problems;
  }
  // The result: arrays as the reference's, shapes as the input's, given outputs returned.
  let arrays: Record<string, unknown>;
  try {
    arrays = { ...resultArrays(op, got.value) };
  } catch (e) {
    return [`returned ${String(got.value)}: ${String(e)}`];
  }
  for (const [k, a] of Object.entries(built.states)) arrays[`state ${k}`] = a;
  problems.push(...compareArrays(arrays, want.arrays));
  const shapes =
    typeof op.results === 'string'
      ? { [op.results]: got.value }
      : (got.value as Record<string, unknown>);
  for (const [k, t] of Object.entries(shapes)) {
    const s = (t as { shape: unknown }).shape;
    if (!Array.isArray(s) || s.join() !== built.resultShape.join())
      problems.push(`${k}.shape is [${String(s)}], not [${built.resultShape.join(', ')}]`);
  }
  if (typeof op.results !== 'string') {
    for (const [key, arg] of Object.entries(op.results)) {
      const k = optionKeyOf(op, arg)!;
      if (
        k in built.outs &&
        (got.value as Record<string, { data: unknown }>)[key].data !== built.outs[k]
      ) {
        problems.push(`${key}.data is not the given ${k}`);
      }
    }
  } else {
    const k = optionKeyOf(op, op.results)!;
    if (k in built.outs && (got.value as { data: unknown }).data !== built.outs[k]) {
      problems.push(`the result is not the given ${k}`);
    }
  }
  problems.push(...built.memory.changed(false).map((c) => `wrote outside its outputs: ${c}`));
  return problems;
}

// ---- describe* ----------------------------------------------------------------------------

export interface DescribeRecipe {
  op: string;
  shape: number[];
  axes: number;
  groups: number;
  bad: null | { at: 'shape'; bad: BadShape } | { at: 'arg'; which: number; bad: BadValue };
}

export function describeRecipeArb(op: OpDescriptor): fc.Arbitrary<DescribeRecipe> {
  return fc.record({
    op: fc.constant(op.name),
    shape: fc.oneof(
      shapeArb,
      fc.array(fc.constantFrom(0, 1, 2 ** 26, 2 ** 40, 2 ** 52), { minLength: 1, maxLength: 4 }),
    ),
    axes: fc.integer({ min: 1, max: 3 }),
    groups: fc.nat(8),
    bad: sometimes(
      fc.oneof(
        fc.record({ at: fc.constant('shape' as const), bad: fc.constantFrom(...BAD_SHAPES) }),
        fc.record({
          at: fc.constant('arg' as const),
          which: fc.nat(5),
          bad: fc.constantFrom(...BAD_VALUES),
        }),
      ),
      50,
    ),
  });
}

/** Checks `describe<Op>(shape, ...)`: numbers that agree with the shape rule, or a proper error. */
export function checkDescribeRecipe(r: DescribeRecipe): string[] {
  const op = OPS[r.op];
  const fn = (normkit as unknown as Record<string, Fn>)[`describe${pascal(op.name)}`];
  const rank = r.shape.length;
  const ns = takesNormalizedShape(op) ? r.shape.slice(rank - Math.min(r.axes, rank)) : [];
  const counts: Record<string, number> = {};
  for (const c of countParams(op)) {
    const ds = divisors(r.shape[1] ?? 0);
    counts[c] = ds[r.groups % ds.length];
  }
  const positional: unknown[] = [r.shape.slice()];
  for (const p of op.params) {
    if (p.kind === 'normalizedShape') positional.push(ns.slice());
    if (p.kind === 'count') positional.push(counts[p.name]);
  }
  const names = new Set(['shape', 'normalizedShape', ...countParams(op)]);
  const basePositional = positional.slice();
  let expectReject: string[] | null = null;
  if (r.bad?.at === 'shape') {
    positional[0] = badShape(r.bad.bad, r.shape);
    // Without data, one more or fewer element is just another shape.
    const another = r.bad.bad === 'one more element' || r.bad.bad === 'one fewer element';
    expectReject = another ? null : [...names];
  } else if (r.bad?.at === 'arg') {
    const i = r.bad.which % positional.length;
    const v = badValue(r.bad.bad);
    const same =
      i > 0 &&
      (v === positional[i] ||
        (typeof v === 'number' &&
          Array.isArray(positional[i]) &&
          (positional[i] as number[]).length === 1 &&
          (positional[i] as number[])[0] === v));
    positional[i] = v;
    // An empty array is a shape (rank 0), and a normalized shape of no dimensions.
    if (Array.isArray(v)) expectReject = null;
    else if (!same) expectReject = i === 0 ? ['shape'] : [...names].filter((x) => x !== 'shape');
  }
  let result: unknown;
  if (expectReject) {
    // Named when it is the only thing wrong.
    try {
      fn(...basePositional);
    } catch {
      expectReject = [...names];
    }
  }
  try {
    result = fn(...positional);
  } catch (e) {
    return judgeError(
      e,
      expectReject ? { kind: 'reject', names: expectReject } : { kind: 'loose' },
      names,
    );
  }
  if (expectReject)
    return [
      `returned ${JSON.stringify(result)} where a rejection naming ${expectReject.join(' or ')} was due`,
    ];
  const d = result as { statistics: unknown; valuesPerStatistic: unknown; paramShape: unknown };
  const problems: string[] = [];
  for (const k of ['statistics', 'valuesPerStatistic'] as const) {
    const v = d[k] as number;
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 53) problems.push(`${k} is ${String(v)}`);
  }
  if (
    !Array.isArray(d.paramShape) ||
    !d.paramShape.every((x) => Number.isSafeInteger(x) && x >= 0)
  ) {
    problems.push(`paramShape is ${String(d.paramShape)}`);
  }
  // It agrees with the descriptor's own rule on the same arguments.
  const sizes = r.bad ? null : sizesFor(op, r.shape.slice(), ns, counts);
  if (sizes) {
    const want = op.describe(sizes, snapshotOf(op, r.shape.slice(), ns, counts));
    if (JSON.stringify(want) !== JSON.stringify(result))
      problems.push(`gave ${JSON.stringify(result)}, the rule ${JSON.stringify(want)}`);
  }
  return problems;
}

// ---- tensor and numel ---------------------------------------------------------------------

export interface TensorRecipe {
  shape: number[];
  values: 'Float32Array' | 'plain array' | 'realm Float32Array' | BadArray | BadValue;
  bad: BadShape | null;
}

export const tensorRecipeArb: fc.Arbitrary<TensorRecipe> = fc.record({
  shape: shapeArb,
  values: fc.constantFrom(
    'Float32Array' as const,
    'plain array' as const,
    'realm Float32Array' as const,
    ...BAD_ARRAYS,
    ...BAD_VALUES,
  ),
  bad: sometimes(fc.constantFrom(...BAD_SHAPES), 50),
});

/** `numel(shape)` and `tensor(values, shape)`: the product and a tensor of those values, or a proper error. */
export function checkTensorRecipe(r: TensorRecipe): string[] {
  const n = r.shape.reduce((a, b) => a * b, 1);
  const base = Float32Array.from({ length: n }, (_, i) => i - 3.5);
  const shape = r.bad ? badShape(r.bad, r.shape) : r.shape.slice();
  const problems: string[] = [];
  // numel
  let count: unknown;
  try {
    count = normkit.numel(shape as number[]);
    const ok = !r.bad || r.bad === 'one more element' || r.bad === 'one fewer element';
    if (!ok) problems.push(`numel(${r.bad}) returned ${String(count)}`);
    else if (!Number.isSafeInteger(count) || (count as number) < 0)
      problems.push(`numel returned ${String(count)}`);
  } catch (e) {
    problems.push(...judgeError(e, { kind: 'reject', names: ['shape'] }, new Set(['shape'])));
  }
  // tensor
  let values: unknown;
  if (r.values === 'Float32Array') values = base;
  else if (r.values === 'plain array') values = Array.from(base);
  else if (r.values === 'realm Float32Array') values = RealmFloat32Array.from(base);
  else if ((BAD_ARRAYS as readonly string[]).includes(r.values))
    values = badArray(r.values as BadArray, base);
  else values = badValue(r.values as BadValue);
  let t: unknown;
  try {
    t = normkit.tensor(values as Float32Array, shape as number[]);
  } catch (e) {
    problems.push(...judgeError(e, { kind: 'loose' }, new Set(['shape', 'values'])));
    return problems;
  }
  const tt = t as { data: Float32Array; shape: number[] };
  const len = isRealmF32(tt.data) ? tt.data.length : -1;
  const product = Array.isArray(tt.shape)
    ? tt.shape.reduce((a: number, b: number) => a * b, 1)
    : NaN;
  if (!Array.isArray(tt.shape) || !tt.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    problems.push(`tensor returned the shape ${String(tt.shape)}`);
  } else if (len !== product) {
    problems.push(`tensor returned ${len} values for shape [${tt.shape.join(', ')}]`);
  }
  return problems;
}

// ---- modules ------------------------------------------------------------------------------

type Ctor = new (...args: unknown[]) => Record<string, unknown>;

/** Every class normkit exports with a `forward`, and the op it runs (by its name). */
export const MODULES: ReadonlyArray<{ name: string; cls: Ctor; op: OpDescriptor }> = Object.entries(
  normkit as unknown as Record<string, unknown>,
)
  .filter(
    ([, v]) =>
      typeof v === 'function' &&
      typeof (v as { prototype?: { forward?: unknown } }).prototype?.forward === 'function',
  )
  .map(([name, cls]) => {
    const base = name.replace(/\d+d$/, '').toLowerCase();
    const op = OP_LIST.find((o) => o.name.toLowerCase() === base);
    return op ? { name, cls: cls as Ctor, op } : null;
  })
  .filter((x): x is { name: string; cls: Ctor; op: OpDescriptor } => x !== null);

/** The constructor's option keys, as its own error for an unknown key lists them. */
export function moduleOptionKeys(cls: Ctor, positional: unknown[]): string[] {
  try {
    new cls(...positional, { zzzUnknown: 1 });
  } catch (e) {
    const m = /one of the options ([^]*?) for options\.zzzUnknown/.exec((e as Error).message);
    if (m) return m[1].split(', ');
  }
  throw new Error(`${cls.name}: could not learn its option keys`);
}

/**
 * PyTorch's module conventions the classes follow: the positional constructor arguments (from
 * the op's own positionals), the input ranks (`<Name><k>d`: k spatial axes; InstanceNorm also
 * takes an unbatched input; BatchNorm1d also (N, C)), and the op's options from the module's state.
 */
export function moduleRules(name: string, op: OpDescriptor) {
  const k = Number(/(\d)d$/.exec(name)?.[1] ?? NaN);
  const running = optionalArrays(op).some(
    (key) => op.args.find((a) => a.name === op.options[key].arg)!.role === 'state',
  );
  const ranks = Number.isNaN(k)
    ? null
    : name.startsWith('BatchNorm') && k === 1
      ? [2, 3]
      : running && !name.startsWith('BatchNorm')
        ? [k + 1, k + 2]
        : [k + 2];
  const unbatchedRank = running && !name.startsWith('BatchNorm') && !Number.isNaN(k) ? k + 1 : null;
  const cumulative = name.startsWith('BatchNorm');
  return { ranks, unbatchedRank, running, cumulative };
}

export interface ModuleRecipe {
  module: string;
  /** Channels (numFeatures / numChannels), or the normalized shape's last dims. */
  features: number[];
  groups: number;
  ctorOptions: Record<string, number>;
  ctorBad:
    | null
    | { which: number; bad: BadValue }
    | { option: number; bad: BadValue }
    | { extraKey: string }
    | { proxy: 'throws' | 'hides' };
  steps: ModuleStep[];
}

export type ModuleStep =
  | {
      do: 'forward';
      async: boolean;
      lead: number[];
      kind: Kind;
      seed: number;
      out: 0 | 1 | 2;
      bad: Mutation | null;
    }
  | { do: 'train'; mode: BadValue | 'true' | 'false' | 'absent' }
  | { do: 'counter'; value: BadValue }
  | {
      do: 'load';
      seed: number;
      bad:
        | null
        | { key: number; bad: BadArray }
        | { extraKey: string }
        | { missing: number }
        | { getter: 'throws' | 'changes'; key: number }
        | { proxy: 'transparent' | 'hides' }
        | { counter: BadValue };
    }
  | { do: 'stateDict' };

export function moduleRecipeArb(name: string): fc.Arbitrary<ModuleRecipe> {
  const step: fc.Arbitrary<ModuleStep> = fc.oneof(
    {
      arbitrary: fc.record({
        do: fc.constant('forward' as const),
        async: fc.boolean(),
        lead: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }),
        kind: fc.constantFrom(...KINDS),
        seed: fc.nat(),
        out: fc.constantFrom(0 as const, 1 as const, 2 as const),
        bad: sometimes(
          fc.oneof(
            fc.record({
              at: fc.constant('data' as const),
              which: fc.constant(0),
              bad: fc.constantFrom(...BAD_ARRAYS),
            }),
            fc.record({
              at: fc.constant('shape' as const),
              which: fc.constant(0),
              bad: fc.constantFrom(...BAD_SHAPES),
            }),
            fc.record({
              at: fc.constant('arg' as const),
              which: fc.nat(1),
              bad: fc.constantFrom(...BAD_VALUES),
            }),
            fc.record({
              at: fc.constant('extraKey' as const),
              key: fc.constantFrom(...EXTRA_KEYS),
            }),
          ),
          35,
        ),
      }),
      weight: 5,
    },
    {
      arbitrary: fc.record({
        do: fc.constant('train' as const),
        mode: fc.constantFrom('true' as const, 'false' as const, 'absent' as const, ...BAD_VALUES),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        do: fc.constant('counter' as const),
        value: fc.constantFrom(...BAD_VALUES),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        do: fc.constant('load' as const),
        seed: fc.nat(),
        bad: sometimes(
          fc.oneof(
            fc.record({ key: fc.nat(5), bad: fc.constantFrom(...BAD_ARRAYS) }),
            fc.record({
              extraKey: fc.constantFrom(
                'num_batches_trackd',
                'weight ',
                'runningMean',
                '__proto__',
              ),
            }),
            fc.record({ missing: fc.nat(5) }),
            fc.record({
              getter: fc.constantFrom('throws' as const, 'changes' as const),
              key: fc.nat(5),
            }),
            fc.record({ proxy: fc.constantFrom('transparent' as const, 'hides' as const) }),
            fc.record({ counter: fc.constantFrom(...BAD_VALUES) }),
          ),
          50,
        ),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ do: fc.constant('stateDict' as const) }), weight: 1 },
  );
  return fc.record({
    module: fc.constant(name),
    features: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 2 }),
    groups: fc.nat(6),
    ctorOptions: fc.dictionary(
      fc.constantFrom(
        'eps',
        'momentum',
        'affine',
        'trackRunningStats',
        'layout',
        'elementwiseAffine',
        'bias',
      ),
      fc.nat(5),
      { maxKeys: 4 },
    ),
    ctorBad: sometimes(
      fc.oneof(
        fc.record({ which: fc.nat(2), bad: fc.constantFrom(...BAD_VALUES, '2**53+2', '1e308') }),
        fc.record({ option: fc.nat(6), bad: fc.constantFrom(...BAD_VALUES) }),
        fc.record({ extraKey: fc.constantFrom(...EXTRA_KEYS) }),
        fc.record({ proxy: fc.constantFrom('throws' as const, 'hides' as const) }),
      ),
      25,
    ),
    steps: fc.array(step, { minLength: 1, maxLength: 5 }),
  });
}

function bump(stats: Record<string, number>, key: string): void {
  stats[key] = (stats[key] ?? 0) + 1;
}

/** A module's observable state: its arrays (bytes), counter and mode. */
function moduleState(m: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of ['weight', 'bias', 'runningMean', 'runningVar']) {
    const a = m[k];
    parts.push(
      `${k}:${a instanceof Float32Array ? Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex') : String(a)}`,
    );
  }
  parts.push(`numBatchesTracked:${String(m.numBatchesTracked)}`, `training:${String(m.training)}`);
  return parts.join(' ');
}

const CTOR_VALUES: Record<string, unknown[]> = {
  eps: [1e-5, 1e-3, 0.25, 0, 2, null],
  momentum: [0.1, 0.5, null, 0, 1, 0.9],
  affine: [true, false, true, false, true, false],
  trackRunningStats: [true, false, true, false, true, false],
  elementwiseAffine: [true, false, true, false, true, false],
  bias: [true, false, true, false, true, false],
  layout: [
    'channels_first',
    'channels_last',
    'channels_first',
    'channels_last',
    undefined,
    undefined,
  ],
};

/** Runs a module recipe: constructs it, then each step; returns the problems found. */
export async function checkModuleRecipe(
  r: ModuleRecipe,
  stats: Record<string, number>,
): Promise<string[]> {
  const entry = MODULES.find((x) => x.name === r.module)!;
  const { cls, op } = entry;
  const rules = moduleRules(r.module, op);
  const hasNs = takesNormalizedShape(op);
  const hasCount = countParams(op).length > 0;
  const channels = r.features[0];
  const groupsList = divisors(channels);
  const groups = groupsList[r.groups % groupsList.length];
  const positional: unknown[] = hasNs
    ? [r.features.slice()]
    : hasCount
      ? [groups, channels]
      : [channels];
  const keys = moduleOptionKeys(cls, positional);
  const options: Record<string, unknown> = {};
  for (const [k, i] of Object.entries(r.ctorOptions)) {
    if (!keys.includes(k)) continue;
    const v = CTOR_VALUES[k][i % CTOR_VALUES[k].length];
    // null eps is the default only where the op's eps option is nullable (RMSNorm's).
    const epsSpec = (op.options as Record<string, OptionSpec | undefined>).eps;
    if (k === 'eps' && v === null && !(epsSpec?.kind === 'eps' && epsSpec.nullable)) continue;
    if (v !== undefined) options[k] = v;
  }
  const ctorNames = new Set([
    'options',
    ...keys,
    'normalizedShape',
    'numGroups',
    'numChannels',
    'numFeatures',
  ]);
  let ctorArgs: unknown[] = [...positional, options];
  let ctorExpect: Expectation = { kind: 'model' };
  const b = r.ctorBad;
  if (b) {
    if ('which' in b) {
      const i = b.which % positional.length;
      const v = badValue(b.bad);
      ctorArgs = [...positional, options];
      ctorArgs[i] = v;
      ctorExpect = { kind: 'loose' };
    } else if ('option' in b) {
      const k = keys[b.option % keys.length];
      options[k] = badValue(b.bad);
      ctorExpect = { kind: 'loose' };
    } else if ('extraKey' in b) {
      Object.defineProperty(options, b.extraKey, {
        value: 1,
        enumerable: true,
        configurable: true,
        writable: true,
      });
      ctorNames.add(`options.${b.extraKey}`);
      ctorExpect = { kind: 'reject', names: [`options.${b.extraKey}`] };
    } else if (b.proxy === 'throws') {
      const error = new GetterError();
      ctorArgs[ctorArgs.length - 1] = new Proxy(options, {
        ownKeys: () => {
          throw error;
        },
      });
      ctorExpect = { kind: 'own', error };
    } else {
      ctorArgs[ctorArgs.length - 1] = new Proxy(
        { ...options, zzz: 1 },
        { ownKeys: (t) => Reflect.ownKeys(t).filter((x) => x !== 'zzz') },
      );
      ctorExpect = { kind: 'loose' };
    }
  }
  let m: Record<string, unknown>;
  try {
    m = new cls(...ctorArgs);
    bump(stats, `constructor ${ctorExpect.kind}/result`);
  } catch (e) {
    bump(stats, `constructor ${ctorExpect.kind}/threw`);
    if (ctorExpect.kind === 'model')
      return [`new ${r.module}(...) threw ${describeError(e)} on valid arguments`];
    return judgeError(e, ctorExpect, ctorNames).map((p) => `new ${r.module}: ${p}`);
  }
  if (ctorExpect.kind === 'reject' || ctorExpect.kind === 'own') {
    return [`new ${r.module} accepted a bad argument (${JSON.stringify(r.ctorBad)})`];
  }
  const problems: string[] = [];
  for (const [i, step] of r.steps.entries()) {
    const where = `${r.module} step ${i} (${step.do})`;
    const before = moduleState(m);
    const out = await runModuleStep(m, entry, rules, step, stats);
    problems.push(...out.problems.map((p) => `${where}: ${p}`));
    if (out.threw && moduleState(m) !== before)
      problems.push(`${where}: a throwing call changed the module's state`);
    if (problems.length) break;
  }
  return problems;
}

async function runModuleStep(
  m: Record<string, unknown>,
  entry: { name: string; op: OpDescriptor },
  rules: ReturnType<typeof moduleRules>,
  step: ModuleStep,
  stats: Record<string, number>,
): Promise<{ threw: boolean; problems: string[] }> {
  const call = (name: string, ...args: unknown[]) => (m[name] as Fn).call(m, ...args);
  const { op } = entry;
  if (step.do === 'stateDict') {
    const d = call('stateDict') as Record<string, unknown>;
    const problems: string[] = [];
    for (const [k, v] of Object.entries(d)) {
      const field = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      if (v instanceof Float32Array && v === m[field])
        problems.push(`stateDict().${k} is the module's own array, not a copy`);
    }
    return { threw: false, problems };
  }
  if (step.do === 'counter') {
    if (!('numBatchesTracked' in m)) return { threw: false, problems: [] };
    const saved = m.numBatchesTracked;
    m.numBatchesTracked = badValue(step.value);
    const valid = Number.isSafeInteger(m.numBatchesTracked) && (m.numBatchesTracked as number) >= 0;
    if (valid) return { threw: false, problems: [] };
    // A corrupt counter: a training forward must name it (or succeed without reading it).
    const batched = rules.ranks ? rules.ranks[rules.ranks.length - 1] : 2;
    const shape = [2, m.numFeatures as number, ...Array(Math.max(0, batched - 2)).fill(2)];
    if (shape.reduce((a, c) => a * c, 1) > 1e6) return { threw: false, problems: [] };
    const x = {
      data: kindData(
        mulberry32(1),
        shape.reduce((a, c) => a * c, 1),
        'normal',
      ),
      shape,
    };
    const trainingBefore = m.training;
    m.training = true;
    const snap = moduleState(m);
    const got = await settle(() => call('forward', x), false);
    const problems: string[] = [];
    if (got.threw) {
      bump(stats, `${step.do} threw`);
      problems.push(
        ...judgeError(
          got.error,
          { kind: 'loose' },
          new Set([
            'input',
            'input.shape',
            'input.data',
            'numBatchesTracked',
            'input.shape[0]',
            'input.shape[1]',
          ]),
        ),
      );
      if (moduleState(m) !== snap) problems.push('a throwing forward changed the state');
    }
    m.numBatchesTracked = saved;
    m.training = trainingBefore;
    return { threw: false, problems };
  }
  if (step.do === 'train') {
    const mode =
      step.mode === 'true'
        ? true
        : step.mode === 'false'
          ? false
          : step.mode === 'absent'
            ? undefined
            : badValue(step.mode);
    const got = await settle(
      () => (step.mode === 'absent' ? call('train') : call('train', mode)),
      false,
    );
    if (!('train' in m)) return { threw: got.threw, problems: [] };
    if (got.threw) {
      bump(stats, `${step.do} threw`);
      const valid = mode === undefined || typeof mode === 'boolean';
      return {
        threw: true,
        problems: valid
          ? [`train(${String(mode)}) threw`]
          : judgeError(got.error, { kind: 'reject', names: ['mode'] }, new Set(['mode'])),
      };
    }
    const valid = mode === undefined || typeof mode === 'boolean';
    if (!valid) return { threw: false, problems: [`train(${step.mode}) was accepted`] };
    if (got.value !== m) return { threw: false, problems: ['train() did not return the module'] };
    if (m.training !== (mode ?? true))
      return { threw: false, problems: ['train() did not set training'] };
    return { threw: false, problems: [] };
  }
  if (step.do === 'load') return loadStep(m, step, stats);
  return forwardStep(m, entry.name, op, rules, step, stats);
}

function loadStep(
  m: Record<string, unknown>,
  step: Extract<ModuleStep, { do: 'load' }>,
  stats: Record<string, number>,
): { threw: boolean; problems: string[] } {
  const current = (m.stateDict as () => Record<string, unknown>).call(m);
  const rng = mulberry32(step.seed);
  const dict: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(current)) {
    if (v instanceof Float32Array) {
      const a = /var/.test(k)
        ? Float32Array.from(v, () => 0.5 + rng())
        : Float32Array.from(v, () => rng() * 2 - 1);
      dict[k] = a;
    } else dict[k] = v === undefined ? v : 3;
  }
  const keys = Object.keys(dict);
  const names = new Set(['dict', ...keys.map((k) => `dict.${k}`)]);
  let plainValues: Record<string, unknown> = {};
  const keepPlain = () => {
    plainValues = Object.fromEntries(Object.entries(dict).map(([k, v]) => [k, own(v)]));
  };
  keepPlain();
  let arg: unknown = dict;
  let expect: Expectation = { kind: 'model' };
  const b = step.bad;
  if (b && keys.length) {
    if ('getter' in b) {
      const k = keys[b.key % keys.length];
      const v = dict[k];
      const error = new GetterError();
      keepPlain();
      let reads = 0;
      Object.defineProperty(dict, k, {
        enumerable: true,
        get: () => {
          if (b.getter === 'throws') throw error;
          return reads++ === 0 ? v : badArray('detached', new Float32Array(2));
        },
      });
      if (b.getter === 'throws') expect = { kind: 'own', error };
    } else if ('key' in b) {
      const k = keys[b.key % keys.length];
      const v = dict[k];
      if (v instanceof Float32Array) {
        dict[k] = badArray(b.bad, v);
        expect = badArrayIsValid(b.bad, v.length)
          ? { kind: 'model' }
          : { kind: 'reject', names: [`dict.${k}`] };
      } else {
        dict[k] = -1;
        expect = { kind: 'reject', names: [`dict.${k}`] };
      }
    } else if ('extraKey' in b) {
      Object.defineProperty(dict, b.extraKey, {
        value: new Float32Array(1),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      names.add(`dict.${b.extraKey}`);
      expect = { kind: 'reject', names: [`dict.${b.extraKey}`] };
    } else if ('missing' in b) {
      const k = keys[b.missing % keys.length];
      delete dict[k];
      expect = { kind: 'reject', names: [`dict.${k}`, 'dict'] };
    } else if ('proxy' in b) {
      if (b.proxy === 'transparent') arg = new Proxy(dict, {});
      else {
        arg = new Proxy(
          { ...dict, zzz: 1 },
          { ownKeys: (t) => Reflect.ownKeys(t).filter((x) => x !== 'zzz') },
        );
        names.add('dict.zzz');
        expect = { kind: 'loose' };
      }
    } else if ('counter' in b) {
      if (!('num_batches_tracked' in dict)) return { threw: false, problems: [] };
      dict.num_batches_tracked = badValue(b.counter);
      const v = dict.num_batches_tracked;
      expect =
        Number.isSafeInteger(v) && (v as number) >= 0
          ? { kind: 'model' }
          : { kind: 'reject', names: ['dict.num_batches_tracked'] };
    }
  }
  if (!(b && 'getter' in b)) keepPlain();
  let threw = false;
  try {
    (m.loadStateDict as Fn).call(m, arg);
  } catch (e) {
    bump(stats, `${step.do} threw`);
    threw = true;
    if (expect.kind === 'model')
      return { threw, problems: [`loadStateDict threw ${describeError(e)} on a valid dict`] };
    return { threw, problems: judgeError(e, expect, names) };
  }
  bump(stats, `${step.do} result`);
  if (expect.kind === 'reject' || expect.kind === 'own')
    return { threw, problems: [`loadStateDict accepted a bad dict (${JSON.stringify(b)})`] };
  if (expect.kind === 'loose') return { threw, problems: [] };
  // Loaded: the module's state is what was given.
  const now = (m.stateDict as () => Record<string, unknown>).call(m);
  const problems: string[] = [];
  for (const [k, v] of Object.entries(plainValues)) {
    const g = now[k];
    if (v instanceof Float32Array) {
      if (
        !(g instanceof Float32Array) ||
        Buffer.compare(
          Buffer.from(g.buffer, g.byteOffset, g.byteLength),
          Buffer.from(v.buffer, v.byteOffset, v.byteLength),
        ) !== 0
      )
        problems.push(`dict.${k} was not loaded`);
    } else if (g !== v) problems.push(`dict.${k}: ${String(g)} after loading ${String(v)}`);
  }
  return { threw, problems };
}

async function forwardStep(
  m: Record<string, unknown>,
  name: string,
  op: OpDescriptor,
  rules: ReturnType<typeof moduleRules>,
  step: Extract<ModuleStep, { do: 'forward' }>,
  stats: Record<string, number>,
): Promise<{ threw: boolean; problems: string[] }> {
  // The input: the module's own trailing dims (normalized shape, or channels) behind `lead`.
  let shape: number[];
  const channels = (m.numFeatures ?? m.numChannels) as number | undefined;
  if (takesNormalizedShape(op)) shape = [...step.lead, ...(m.normalizedShape as number[])];
  else {
    // A rank the class takes (now and then one it does not), batched or not.
    const ranks = rules.ranks ?? [2 + step.lead.length];
    const rank = step.seed % 7 === 0 ? 1 + (step.seed % 6) : ranks[step.seed % ranks.length];
    const dims = [...step.lead, 2, 3, 2, 1];
    const unbatched = rules.unbatchedRank === rank;
    // Now and then a channel count the module was not made for.
    const c = step.seed % 5 === 1 ? channels! + 1 : channels!;
    shape = unbatched
      ? [c, ...dims.slice(0, rank - 1)]
      : [dims[0], c, ...dims.slice(1, rank - 1)].slice(0, rank);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  // A module too wide to feed (numFeatures 2^53 without parameters is a valid module).
  if (!(n <= 1e6)) return { threw: false, problems: [] };
  const rng = mulberry32(step.seed);
  const data = kindData(rng, n, step.kind);
  const input: Record<string, unknown> = { data: data.slice(), shape: shape.slice() };
  const callOptions: Record<string, unknown> = {};
  const outArray =
    step.out === 0 ? null : step.out === 1 ? new Float32Array(n) : (input.data as Float32Array);
  if (outArray) callOptions.out = outArray;
  const names = new Set([
    'input',
    'input.data',
    'input.shape',
    'input.shape[0]',
    'input.shape[1]',
    'options',
    'out',
    'numBatchesTracked',
    'normalizedShape',
  ]);
  if (step.async) names.add('signal');
  let expect: Expectation = { kind: 'model' };
  let args: unknown[] = [input, callOptions];
  const b = step.bad;
  if (b) {
    if (b.at === 'data') {
      input.data = badArray(b.bad, data);
      expect = badArrayIsValid(b.bad, n)
        ? { kind: 'model' }
        : { kind: 'reject', names: ['input.data', 'input.shape'] };
      if (outArray === data) delete callOptions.out;
    } else if (b.at === 'shape') {
      input.shape = badShape(b.bad, shape);
      expect = { kind: 'loose' };
    } else if (b.at === 'arg') {
      args = b.which === 0 ? [badValue(b.bad), callOptions] : [input, badValue(b.bad)];
      const v = badValue(b.bad);
      // Options without own keys (undefined, null, {}, a Date) are no options.
      const empty = v === undefined || v === null || b.bad === '{}' || b.bad === 'Date';
      expect =
        b.which === 1 && empty
          ? { kind: 'model' }
          : { kind: 'reject', names: b.which === 0 ? ['input', 'input.data'] : ['options'] };
      if (b.which === 1) delete callOptions.out;
    } else if (b.at === 'extraKey') {
      if (!(step.async && b.key === 'signal')) {
        Object.defineProperty(callOptions, b.key, {
          value: 1,
          enumerable: true,
          configurable: true,
          writable: true,
        });
        names.add(`options.${b.key}`);
        expect = { kind: 'reject', names: [`options.${b.key}`] };
      }
    }
  }
  // The reference: the op on the module's state, as PyTorch's module computes it.
  const statesBefore: Record<string, Float32Array | null> = {};
  for (const k of ['runningMean', 'runningVar'])
    statesBefore[k] = m[k] instanceof Float32Array ? (m[k] as Float32Array).slice() : null;
  const counterBefore = m.numBatchesTracked as number;
  let want: { arrays?: Record<string, Float32Array>; error?: unknown } = {};
  // BatchNorm counts training batches with running statistics (and averages over them when
  // momentum is null); InstanceNorm takes null as 0, as PyTorch.
  const counting = m.training === true && m.trackRunningStats === true && rules.cumulative;
  let rankOk = true;
  if (rules.ranks && !rules.ranks.includes(shape.length)) rankOk = false;
  {
    const o: Record<string, unknown> = {};
    for (const key of Object.keys(op.options)) {
      const spec = op.options[key];
      if (spec.kind === 'array' && key !== 'out' && key !== 'sumOut') {
        const v = m[key];
        if (v instanceof Float32Array) o[key] = v.slice();
      } else if (spec.kind === 'eps') o[key] = m.eps;
      else if (spec.kind === 'layout') o[key] = m.layout;
      else if (spec.kind === 'bool') o[key] = m.training === true || m.trackRunningStats === false;
      else if (spec.kind === 'number') {
        o[key] = m.momentum === null ? (counting ? 1 / (counterBefore + 1) : 0) : m.momentum;
      }
    }
    const unbatched = rules.unbatchedRank !== null && shape.length === rules.unbatchedRank;
    const opShape = unbatched ? [1, ...shape] : shape;
    const positional = op.params.map((p) => {
      if (p.kind === 'tensor') return { data: data.slice(), shape: opShape };
      if (p.kind === 'normalizedShape') return (m.normalizedShape as number[]).slice();
      if (p.kind === 'count') return m[p.name];
      return o;
    });
    want = referenceOutcome(op, positional);
    if (want.arrays)
      for (const k of ['runningMean', 'runningVar'])
        if (o[k]) want.arrays[`state ${k}`] = o[k] as Float32Array;
  }
  // A malformed argument must be named when it is the only thing wrong.
  if (expect.kind === 'reject' && (!rankOk || want.error !== undefined)) expect = { kind: 'loose' };
  if (expect.kind !== 'model') want = { error: want.error };
  const before = moduleState(m);
  const fn = step.async ? 'forwardAsync' : 'forward';
  const got = await settle(() => (m[fn] as Fn).call(m, ...args), step.async);
  const due = expect.kind === 'model' && !want.arrays ? 'reference rejects' : expect.kind;
  bump(stats, `forward ${due}/${got.threw ? 'threw' : 'result'}`);
  if (got.threw) {
    const problems: string[] = [];
    if (expect.kind === 'model' && want.arrays && rankOk)
      problems.push(`threw ${describeError(got.error)} where the reference returned a result`);
    else
      problems.push(
        ...judgeError(got.error, expect.kind === 'model' ? { kind: 'loose' } : expect, names),
      );
    if (moduleState(m) !== before) problems.push('a throwing forward changed the module');
    return { threw: true, problems };
  }
  if (expect.kind === 'reject')
    return {
      threw: false,
      problems: [`returned a result where a rejection naming ${expect.names.join(' or ')} was due`],
    };
  if (!rankOk) return { threw: false, problems: [`accepted an input of rank ${shape.length}`] };
  if (!want.arrays)
    return {
      threw: false,
      problems:
        expect.kind === 'model' && want.error
          ? [`returned a result where the reference threw ${describeError(want.error)}`]
          : [],
    };
  const result = got.value as { data: unknown; shape: unknown };
  const arrays: Record<string, unknown> = {
    [typeof op.results === 'string' ? op.results : 'out']: result.data,
  };
  for (const k of ['runningMean', 'runningVar'])
    if (m[k] instanceof Float32Array && want.arrays[`state ${k}`]) arrays[`state ${k}`] = m[k];
  const problems = compareArrays(arrays, want.arrays);
  if (!Array.isArray(result.shape) || result.shape.join() !== shape.join())
    problems.push(`result shape ${String(result.shape)} for input [${shape.join(', ')}]`);
  if (outArray && result.data !== outArray && b?.at !== 'arg')
    problems.push('the result is not the given out');
  const counterNow = m.numBatchesTracked as number;
  const counterWant = counterBefore + (counting ? 1 : 0);
  if (rules.running && counterNow !== counterWant && m.trackRunningStats === true)
    problems.push(`numBatchesTracked ${counterNow}, expected ${counterWant}`);
  void name;
  return { threw: false, problems };
}
