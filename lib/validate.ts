// Every argument check of the public API, and the one error builder. Checks run before any
// output or state is touched, so a call that throws changes nothing.
import type { Tensor } from './tensor';

/** Short description of a received value for error messages: `Float64Array(12)`, `[2, 3, -1]`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  if (ArrayBuffer.isView(v)) {
    const name = v.constructor?.name ?? 'TypedArray';
    return 'length' in v ? `${name}(${(v as unknown as ArrayLike<unknown>).length})` : name;
  }
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x) => (Array.isArray(x) ? '[...]' : describeValue(x)));
    return `[${items.join(', ')}${v.length > 8 ? ', ...' : ''}]`;
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v as object);
    return `an object with keys {${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}}`;
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

const MAX_DIM = Number.MAX_SAFE_INTEGER;

/** A shape: an array of non-negative integers whose product is a safe integer. */
export function checkShape(argument: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape)) throw invalid('type', argument, 'an array of dimensions', shape);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number') throw invalid('type', argument, 'an array of numbers', shape);
    if (!Number.isInteger(d) || d < 0) {
      throw invalid('range', argument, 'non-negative integer dimensions', shape);
    }
    n *= d;
  }
  if (n > MAX_DIM) throw invalid('range', argument, 'at most 2^53 elements', shape);
  return shape;
}

/** A tensor whose data length matches its shape; returns the element count. */
export function checkTensor(argument: string, t: unknown): number {
  if (typeof t !== 'object' || t === null) {
    throw invalid('type', argument, 'a tensor { data: Float32Array, shape: number[] }', t);
  }
  const { data, shape } = t as Partial<Tensor>;
  if (!(data instanceof Float32Array)) {
    throw invalid('type', `${argument}.data`, 'a Float32Array', data);
  }
  checkShape(`${argument}.shape`, shape);
  let n = 1;
  for (let i = 0; i < shape!.length; i++) n *= shape![i];
  if (n !== data.length) {
    throw invalid(
      'range',
      `${argument}.data`,
      `${n} elements (the product of shape [${shape!.join(', ')}])`,
      data,
    );
  }
  return n;
}

/** An options object, or undefined; keys outside `allowed` are a TypeError (a typo is a bug). */
export function checkOptions<T extends object>(
  argument: string,
  options: unknown,
  allowed: readonly string[],
): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('type', argument, 'an options object', options);
  }
  for (const key in options) {
    if (!allowed.includes(key)) {
      throw invalid('type', `${argument}.${key}`, `one of the options ${allowed.join(', ')}`, key);
    }
  }
  return options as Partial<T>;
}

/** An optional Float32Array parameter of exactly `length` elements; null when absent. */
export function checkParam(argument: string, v: unknown, length: number): Float32Array | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Float32Array)) throw invalid('type', argument, 'a Float32Array', v);
  if (v.length !== length) {
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

export function checkEps(argument: string, v: unknown): number {
  const eps = checkNumber(argument, v, 1e-5);
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
  if (!Number.isInteger(v) || v < 1) throw invalid('range', argument, 'a positive integer', v);
  return v;
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * The output buffer: absent, or a Float32Array of `length` elements that is the input itself
 * (in place) or shares no memory with it, and shares none with any parameter.
 */
export function checkOut(
  v: unknown,
  length: number,
  input: Float32Array,
  params: ReadonlyArray<readonly [string, Float32Array | null]>,
): Float32Array | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Float32Array)) throw invalid('type', 'out', 'a Float32Array', v);
  if (v.length !== length) throw invalid('range', 'out', `a Float32Array of ${length} elements`, v);
  if (v !== input && overlaps(v, input)) {
    throw invalid(
      'range',
      'out',
      'the input data itself or memory apart from it',
      'an overlapping view',
      false,
    );
  }
  for (const [name, p] of params) {
    if (p && overlaps(v, p)) {
      throw invalid('range', 'out', `memory apart from ${name}`, `a view of ${name}`, false);
    }
  }
  return v;
}

/** Arrays the op writes (running statistics) must not share memory with what it reads. */
export function checkNoOverlap(
  name: string,
  written: Float32Array | null,
  others: ReadonlyArray<readonly [string, Float32Array | null]>,
): void {
  if (!written) return;
  for (const [other, p] of others) {
    if (p && p !== written && overlaps(written, p)) {
      throw invalid('range', name, `memory apart from ${other}`, `a view of ${other}`, false);
    }
    if (p === written) {
      throw invalid('range', name, `a different array from ${other}`, `${other} itself`, false);
    }
  }
}

// ---- per-op checks ------------------------------------------------------------------------

export interface LayerNormPlan {
  input: Float32Array;
  shape: readonly number[];
  rows: number;
  cols: number;
  weight: Float32Array | null;
  bias: Float32Array | null;
  eps: number;
  out: Float32Array | null;
}

const LAYER_NORM_OPTIONS = ['weight', 'bias', 'eps', 'out'] as const;

/** `normalizedShape` as an array: a number or an array of dimensions, at least one. */
export function checkNormalizedShape(v: unknown): readonly number[] {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) {
      throw invalid('range', 'normalizedShape', 'a non-negative integer or an array of them', v);
    }
    return [v];
  }
  checkShape('normalizedShape', v);
  if ((v as number[]).length === 0) {
    throw invalid('range', 'normalizedShape', 'at least one dimension', v);
  }
  return v as number[];
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

export function validateLayerNorm(
  input: unknown,
  normalizedShape: unknown,
  options: unknown,
): LayerNormPlan {
  const n = checkTensor('input', input);
  const { data, shape } = input as Tensor;
  const ns = checkNormalizedShape(normalizedShape);
  const [rows, cols] = checkTrailingDims(shape, ns);
  const o = checkOptions<Record<(typeof LAYER_NORM_OPTIONS)[number], unknown>>(
    'options',
    options,
    LAYER_NORM_OPTIONS,
  );
  const weight = checkParam('weight', o.weight, cols);
  const bias = checkParam('bias', o.bias, cols);
  const eps = checkEps('eps', o.eps);
  // The alias lists are built only when there is an out to check (small calls are hot).
  const out =
    o.out == null
      ? null
      : checkOut(o.out, n, data, [
          ['weight', weight],
          ['bias', bias],
        ]);
  return { input: data, shape, rows, cols, weight, bias, eps, out };
}

export type Layout = 'channels_first' | 'channels_last';

export interface BatchNormPlan {
  input: Float32Array;
  shape: readonly number[];
  batch: number;
  channels: number;
  spatial: number;
  channelsLast: boolean;
  weight: Float32Array | null;
  bias: Float32Array | null;
  runningMean: Float32Array | null;
  runningVar: Float32Array | null;
  training: boolean;
  momentum: number;
  eps: number;
  out: Float32Array | null;
}

const BATCH_NORM_OPTIONS = [
  'runningMean',
  'runningVar',
  'weight',
  'bias',
  'training',
  'momentum',
  'eps',
  'layout',
  'out',
] as const;

export function checkLayout(v: unknown): Layout {
  if (v === undefined) return 'channels_first';
  if (v === 'channels_first' || v === 'channels_last') return v;
  if (typeof v !== 'string') {
    throw invalid('type', 'layout', "'channels_first' or 'channels_last'", v);
  }
  throw invalid('range', 'layout', "'channels_first' or 'channels_last'", v);
}

/** Checks a batch-norm input's rank (2 to 5, the logical (N, C, ...spatial) shape). */
export function checkBatchNormShape(argument: string, shape: readonly number[]): void {
  if (shape.length < 2 || shape.length > 5) {
    throw invalid('range', argument, 'a shape (N, C, ...spatial) of rank 2 to 5', shape);
  }
}

export function validateBatchNorm(input: unknown, options: unknown): BatchNormPlan {
  const n = checkTensor('input', input);
  const { data, shape } = input as Tensor;
  checkBatchNormShape('input.shape', shape);
  const o = checkOptions<Record<(typeof BATCH_NORM_OPTIONS)[number], unknown>>(
    'options',
    options,
    BATCH_NORM_OPTIONS,
  );
  const batch = shape[0];
  const channels = shape[1];
  let spatial = 1;
  for (let i = 2; i < shape.length; i++) spatial *= shape[i];
  const runningMean = checkParam('runningMean', o.runningMean, channels);
  const runningVar = checkParam('runningVar', o.runningVar, channels);
  const weight = checkParam('weight', o.weight, channels);
  const bias = checkParam('bias', o.bias, channels);
  const training = checkBoolean('training', o.training, false);
  const momentum = checkNumber('momentum', o.momentum, 0.1);
  const eps = checkEps('eps', o.eps);
  const layout = checkLayout(o.layout);
  if (training) {
    if (batch * spatial === 1 && channels > 0) {
      throw invalid('range', 'input.shape', 'more than 1 value per channel when training', shape);
    }
  } else if (!runningMean || !runningVar) {
    throw invalid(
      'range',
      'runningMean and runningVar',
      'Float32Arrays in eval mode (training: false)',
      !runningMean ? o.runningMean : o.runningVar,
    );
  }
  if (training && (runningMean || runningVar)) {
    const readOnly = [
      ['input', data],
      ['weight', weight],
      ['bias', bias],
    ] as const;
    checkNoOverlap('runningMean', runningMean, [...readOnly, ['runningVar', runningVar]]);
    checkNoOverlap('runningVar', runningVar, readOnly);
  }
  const out =
    o.out == null
      ? null
      : checkOut(o.out, n, data, [
          ['weight', weight],
          ['bias', bias],
          ['runningMean', runningMean],
          ['runningVar', runningVar],
        ]);
  return {
    input: data,
    shape,
    batch,
    channels,
    spatial,
    channelsLast: layout === 'channels_last',
    weight,
    bias,
    runningMean,
    runningVar,
    training,
    momentum,
    eps,
    out,
  };
}
