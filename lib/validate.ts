// Every argument check of the public API, and the one error builder. A call is validated in two
// phases: first every user value is read exactly once (tensors' `data` and `shape`, each shape
// dimension, each option), into copies; then every check runs on those copies, so a getter or
// Proxy that answers differently on a second read, or detaches a buffer while it is read, makes
// no difference. Checks run before any output or state is touched: a call that throws changes
// nothing. Plans are built from the op descriptors (lib/op.ts).
import type { ArgSpec, OpDescriptor, OptionSpec, Snapshot, TensorSnapshot } from './op';
import type { Tensor } from './tensor';

/** Short description of a received value for error messages: `Float64Array(12)`, `[2, 3, -1]`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return v.toString();
  try {
    const tag = typedArrayTag(v);
    if (tag !== undefined) return `${tag}(${TA_LENGTH.call(v)})`;
    if (v instanceof DataView) return `DataView(${v.byteLength} bytes)`;
    if (Array.isArray(v)) {
      const items = v.slice(0, 8).map((x) => (Array.isArray(x) ? '[...]' : describeValue(x)));
      return `[${items.join(', ')}${v.length > 8 ? ', ...' : ''}]`;
    }
    if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      return `an object with keys {${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}}`;
    }
  } catch {
    return 'an object';
  }
  return typeof v;
}

/** The one error builder: `Expected <what> for <argument>, but received <value>`. */
export function invalid(
  kind: 'type' | 'range',
  argument: string,
  expected: string,
  received: unknown,
  describe = true,
): TypeError | RangeError {
  const got = describe ? describeValue(received) : String(received);
  const message = `Expected ${expected} for ${argument}, but received ${got}`;
  return kind === 'type' ? new TypeError(message) : new RangeError(message);
}

// ---- typed arrays, through the intrinsic getters ------------------------------------------
// A subclass or Proxy cannot lie to these, and they accept a Float32Array from another realm
// (vm context), which instanceof would not.
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (key: PropertyKey) =>
  Object.getOwnPropertyDescriptor(TypedArrayProto, key)!.get as (this: unknown) => unknown;
const TA_TAG = getter(Symbol.toStringTag) as (this: unknown) => string | undefined;
const TA_LENGTH = getter('length') as (this: unknown) => number;
const TA_BYTE_OFFSET = getter('byteOffset') as (this: unknown) => number;
const TA_BUFFER = getter('buffer') as (this: unknown) => ArrayBufferLike;

function typedArrayTag(v: unknown): string | undefined {
  return ArrayBuffer.isView(v) ? TA_TAG.call(v) : undefined;
}

/** Whether `v` is a Float32Array of any realm. */
export function isFloat32Array(v: unknown): v is Float32Array {
  return typedArrayTag(v) === 'Float32Array';
}

/** The element count of a Float32Array now (0 once its buffer is detached). */
export function lengthOf(a: Float32Array): number {
  return TA_LENGTH.call(a);
}

/** A Float32Array's buffer, through the intrinsic getter. */
export function bufferOf(a: Float32Array): ArrayBufferLike {
  return TA_BUFFER.call(a);
}

/** Whether two Float32Arrays share any byte of one buffer. */
export function overlaps(a: Float32Array, b: Float32Array): boolean {
  const la = TA_LENGTH.call(a);
  const lb = TA_LENGTH.call(b);
  if (la === 0 || lb === 0 || TA_BUFFER.call(a) !== TA_BUFFER.call(b)) return false;
  const oa = TA_BYTE_OFFSET.call(a);
  const ob = TA_BYTE_OFFSET.call(b);
  return oa < ob + lb * 4 && ob < oa + la * 4;
}

// ---- predicates ---------------------------------------------------------------------------

const MAX_ELEMENTS = Number.MAX_SAFE_INTEGER;

/** Reads a shape once into a new array of non-negative integers whose product is safe. */
export function readShape(argument: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw invalid('type', argument, 'an array of dimensions', shape);
  const length = shape.length;
  const copy = new Array<number>(length);
  for (let i = 0; i < length; i++) copy[i] = shape[i];
  return checkShape(argument, copy);
}

/** A shape (already copied): non-negative integer dimensions, product at most 2^53. */
export function checkShape(argument: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw invalid('type', argument, 'an array of dimensions', shape);
  // The product of the non-zero dimensions is bounded too: a zero anywhere makes the tensor
  // empty, but the kernels still see the other products (rows, channels) as sizes.
  let nonZero = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number') throw invalid('type', argument, 'an array of numbers', shape);
    if (!Number.isInteger(d) || d < 0) {
      throw invalid('range', argument, 'non-negative integer dimensions', shape);
    }
    if (d > 0) nonZero *= d;
  }
  if (nonZero > MAX_ELEMENTS) {
    throw invalid('range', argument, 'at most 2^53 elements (non-zero dimensions)', shape);
  }
  return shape as number[];
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Reads a tensor's `data` and `shape` once each; the length check comes later (phase 2). */
export function readTensor(argument: string, t: unknown): TensorSnapshot {
  if (typeof t !== 'object' || t === null) {
    throw invalid('type', argument, 'a tensor { data: Float32Array, shape: number[] }', t);
  }
  const { data, shape } = t as Partial<Tensor>;
  if (!isFloat32Array(data)) throw invalid('type', `${argument}.data`, 'a Float32Array', data);
  const label = `${argument}.shape`;
  return { data, shape: readShape(label, shape), label };
}

/** Phase 2 of a tensor: its data holds prod(shape) values now. */
export function checkTensorLength(argument: string, data: Float32Array, shape: number[]): void {
  const n = numelOf(shape);
  if (lengthOf(data) !== n) {
    throw invalid(
      'range',
      `${argument}.data`,
      `${n} elements (the product of shape [${shape.join(', ')}])`,
      data,
    );
  }
}

/** A tensor checked at once (for callers outside the plan builder); returns its element count. */
export function checkTensor(argument: string, t: unknown): number {
  const { data, shape } = readTensor(argument, t);
  checkTensorLength(argument, data, shape);
  return numelOf(shape);
}

const NO_VALUES: readonly unknown[] = Object.freeze([]);

/**
 * Reads an options object once: its own enumerable keys (each must be one of `allowed`), then
 * each of their values, exactly once. Returns the values in the order of `allowed` (undefined
 * where absent); what is not listed as an own key is absent.
 */
export function readOptionValues(
  argument: string,
  options: unknown,
  allowed: readonly string[],
): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < allowed.length; i++) values.push(undefined);
  if (options === undefined || options === null) return values;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('type', argument, 'an options object', options);
  }
  const keys = Object.keys(options);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const slot = allowed.indexOf(key);
    if (slot < 0) {
      throw invalid('type', `${argument}.${key}`, `one of the options ${allowed.join(', ')}`, key);
    }
    values[slot] = (options as Record<string, unknown>)[key];
  }
  return values;
}

/** {@link readOptionValues} as a record by key (for the module classes' few options). */
export function readOptions(
  argument: string,
  options: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  const values = readOptionValues(argument, options, allowed);
  const r: Record<string, unknown> = {};
  for (let i = 0; i < allowed.length; i++) if (values[i] !== undefined) r[allowed[i]] = values[i];
  return r;
}

/** @deprecated name kept for the module classes: {@link readOptions}. */
export function checkOptions<T extends object>(
  argument: string,
  options: unknown,
  allowed: readonly string[],
): Partial<T> {
  return readOptions(argument, options, allowed) as Partial<T>;
}

/** An optional Float32Array of exactly `length` elements; null when absent. */
export function checkParam(argument: string, v: unknown, length: number): Float32Array | null {
  if (v === undefined || v === null) return null;
  if (!isFloat32Array(v)) throw invalid('type', argument, 'a Float32Array', v);
  if (lengthOf(v) !== length) {
    throw invalid('range', argument, `a Float32Array of ${length} elements`, v);
  }
  return v;
}

export function checkNumber(argument: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw invalid('type', argument, 'a number', v);
  if (!Number.isFinite(v)) throw invalid('range', argument, 'a finite number', v);
  return v;
}

export function checkEps(argument: string, v: unknown, fallback = 1e-5): number {
  const eps = checkNumber(argument, v, fallback);
  if (eps < 0) throw invalid('range', argument, 'a non-negative number', eps);
  return eps;
}

export function checkBoolean(argument: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalid('type', argument, 'a boolean', v);
  return v;
}

export function checkPositiveInteger(argument: string, v: unknown): number {
  if (typeof v !== 'number') throw invalid('type', argument, 'a positive integer', v);
  if (!Number.isSafeInteger(v) || v < 1) {
    throw invalid('range', argument, 'a positive integer below 2^53', v);
  }
  return v;
}

export type Layout = 'channels_first' | 'channels_last';

export function checkLayout(v: unknown): Layout {
  if (v === undefined) return 'channels_first';
  if (v === 'channels_first' || v === 'channels_last') return v;
  if (typeof v !== 'string') {
    throw invalid('type', 'layout', "'channels_first' or 'channels_last'", v);
  }
  throw invalid('range', 'layout', "'channels_first' or 'channels_last'", v);
}

/** `normalizedShape`, read once: a number or an array of at least one dimension. */
export function readNormalizedShape(v: unknown): number[] {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) {
      throw invalid('range', 'normalizedShape', 'a non-negative integer or an array of them', v);
    }
    return [v];
  }
  const ns = readShape('normalizedShape', v);
  if (ns.length === 0) throw invalid('range', 'normalizedShape', 'at least one dimension', ns);
  return ns;
}

/** Checks the trailing dims of `shape` against `normalizedShape`; returns [rows, cols]. */
export function checkTrailingDims(
  shape: readonly number[],
  normalizedShape: readonly number[],
): [number, number] {
  const k = normalizedShape.length;
  let match = shape.length >= k;
  let cols = 1;
  for (let i = 0; i < k && match; i++) {
    if (shape[shape.length - k + i] !== normalizedShape[i]) match = false;
    cols *= normalizedShape[i];
  }
  if (!match) {
    throw invalid(
      'range',
      'normalizedShape',
      `the trailing dimensions of input shape [${shape.join(', ')}]`,
      normalizedShape,
    );
  }
  let rows = 1;
  for (let i = 0; i < shape.length - k; i++) rows *= shape[i];
  return [rows, cols];
}

/** (N, C, ...spatial) sizes of a logical shape of rank `min` to `max`. */
export function channelSizes(
  argument: string,
  shape: readonly number[],
  min: number,
  max: number,
): { batch: number; channels: number; spatial: number } {
  if (shape.length < min || shape.length > max) {
    const rank = max === Infinity ? `of rank ${min} or more` : `of rank ${min} to ${max}`;
    throw invalid('range', argument, `a shape (N, C, ...spatial) ${rank}`, shape);
  }
  let spatial = 1;
  for (let i = 2; i < shape.length; i++) spatial *= shape[i];
  return { batch: shape[0], channels: shape[1], spatial };
}

// ---- plans from descriptors ---------------------------------------------------------------
// What validation needs from a descriptor, worked out once per op: positions instead of names,
// so a call does no searching (small calls are dominated by this code, not by the kernel).

interface OptionSlot {
  readonly key: string;
  readonly spec: OptionSpec;
  /** Position of the kernel argument the option becomes. */
  readonly arg: number;
  /** For arrays: positions of the size arguments whose product is the length. */
  readonly length: readonly number[];
}

/** A pair of arrays that must not share memory when both are present (and `when` holds). */
interface AliasRule {
  readonly written: number;
  readonly other: number;
  /** The written array may be `other` itself. */
  readonly inPlace: boolean;
  /** A flag argument that must be true for the rule to apply (a state written only then), or -1. */
  readonly when: number;
  readonly message: 'state' | 'memory';
}

interface Meta {
  readonly optionKeys: readonly string[];
  readonly options: readonly OptionSlot[];
  readonly inputs: readonly (readonly [number, string])[];
  readonly sizes: readonly (readonly [number, string])[];
  readonly outputs: readonly (readonly [number, readonly number[]])[];
  readonly alias: readonly AliasRule[];
  readonly names: readonly string[];
  /** Argument positions by name. */
  readonly index: Readonly<Record<string, number>>;
}

const metas = new WeakMap<OpDescriptor, Meta>();

/** The descriptor's validation metadata (computed on first use). */
export function metaOf(d: OpDescriptor): Meta {
  let m = metas.get(d);
  if (m) return m;
  const names = d.args.map((a) => a.name);
  const at = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`normkit: ${d.name} has no argument ${name}`);
    return i;
  };
  const lengthOfArg = (a: ArgSpec) => (a.length ?? []).map(at);
  const options = Object.keys(d.options).map((key) => {
    const spec = d.options[key];
    const arg = at(spec.arg);
    return { key, spec, arg, length: lengthOfArg(d.args[arg]) };
  });
  const isArray = (a: ArgSpec) => a.kind === 'f32' || a.kind === 'f32?';
  const isOut = (a: ArgSpec) => a.role === 'output' || a.role === 'saved';
  const alias: AliasRule[] = [];
  // States are checked against what is read and the states after them; outputs against
  // everything (so a pair is reported once, on the array a user would fix).
  const rule = (w: number, o: number) => {
    const wa = d.args[w];
    const oa = d.args[o];
    alias.push({
      written: w,
      other: o,
      inPlace: wa.inPlace?.includes(oa.name) ?? false,
      when: wa.role === 'state' ? at(wa.writtenWhen!) : -1,
      message: wa.role === 'state' && oa.role === 'state' ? 'state' : 'memory',
    });
  };
  d.args.forEach((w, i) => {
    if (w.role !== 'state') return;
    d.args.forEach((o, j) => {
      if (j === i || !isArray(o) || isOut(o) || (o.role === 'state' && j < i)) return;
      rule(i, j);
    });
  });
  d.args.forEach((w, i) => {
    if (!isOut(w)) return;
    d.args.forEach((o, j) => {
      if (j === i || !isArray(o) || (isOut(o) && j < i)) return;
      rule(i, j);
    });
  });
  m = {
    optionKeys: options.map((o) => o.key),
    options,
    inputs: d.args.flatMap((a, i) => (a.role === 'input' ? [[i, a.name] as const] : [])),
    sizes: d.args.flatMap((a, i) => (a.role === 'size' ? [[i, a.name] as const] : [])),
    outputs: d.args.flatMap((a, i) => (a.role === 'output' ? [[i, lengthOfArg(a)] as const] : [])),
    alias,
    names,
    index: Object.fromEntries(names.map((n, i) => [n, i])),
  };
  metas.set(d, m);
  return m;
}

/**
 * Reads the user's positional arguments once (phase 1). With `describe`, `user` is
 * `[shape, ...the op's other non-option arguments]` and every tensor gets that shape.
 */
export function readSnapshot(
  d: OpDescriptor,
  user: readonly unknown[],
  describe = false,
): { snapshot: Snapshot; options: readonly unknown[] } {
  const tensors: Record<string, TensorSnapshot> = {};
  const counts: Record<string, number> = {};
  let normalizedShape: number[] = [];
  let options: readonly unknown[] = NO_VALUES;
  let shared: TensorSnapshot | null = null;
  let next = describe ? 1 : 0;
  for (let i = 0; i < d.params.length; i++) {
    const p = d.params[i];
    if (p.kind === 'tensor') {
      if (!describe) {
        tensors[p.name] = readTensor(p.name, user[next++]);
      } else {
        shared ??= {
          data: null as unknown as Float32Array,
          shape: readShape('shape', user[0]),
          label: 'shape',
        };
        tensors[p.name] = shared;
      }
    } else if (p.kind === 'normalizedShape') {
      normalizedShape = readNormalizedShape(user[next++]);
    } else if (p.kind === 'count') {
      counts[p.name] = checkPositiveInteger(p.name, user[next++]);
    } else if (!describe) {
      options = readOptionValues('options', user[next++], metaOf(d).optionKeys);
    }
  }
  return { snapshot: { tensors, normalizedShape, counts }, options };
}

/** `describe*`: what op `d` computes for a shape (and its other positionals), checked as the op does. */
export function describePlan(d: OpDescriptor, user: readonly unknown[]) {
  const { snapshot } = readSnapshot(d, user, true);
  return d.describe(d.sizes(snapshot), snapshot);
}

/** A second tensor must have the first one's shape (the residual of a fused add). */
export function checkSameShape(t: TensorSnapshot, like: TensorSnapshot): void {
  const a = t.shape;
  const b = like.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw invalid('range', t.label, `the input shape [${b.join(', ')}]`, a);
  }
}
