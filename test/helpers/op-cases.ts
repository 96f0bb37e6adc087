// Calls of any op, built from its descriptor alone: the shapes it accepts, its positional
// arguments, data of the hard kinds, every optional array given or not, its flags both ways, its
// outputs allocated, passed as views or in place; and the comparison of two backends' results,
// state arrays included. Used in-process (native vs reference) and by the kernel-path children,
// which require this file's compiled JavaScript.
import type { Layout } from 'normkit';
import { mismatches } from './conformance';
import { mulberry32, normal } from './prng';
import type { Api, OpDescriptor, Sizes } from './ops';

export type Kind =
  'normal' | 'offset' | 'huge' | 'tiny' | 'constant' | 'naninf' | 'extreme' | 'denormal';
export const KINDS: readonly Kind[] = [
  'normal',
  'offset',
  'huge',
  'tiny',
  'constant',
  'naninf',
  'extreme',
  'denormal',
];
/** The kinds whose magnitudes only the kernels' exact path handles (kernels/apply.h). */
export const EDGE_KINDS: readonly Kind[] = ['extreme', 'denormal'];

export interface Tolerance {
  abs: number;
  rel: number;
}
export const TOL: Tolerance = { abs: 1e-5, rel: 1e-5 };

/** The least positive float32 (a denormal). */
const DENORMAL = 2 ** -149;
const FLOAT_MAX = 3.4028234663852886e38;

/** Mean and spread of each kind: running statistics are drawn on the data's scale. */
const SCALE: Record<Kind, [number, number]> = {
  normal: [-0.5, 2],
  offset: [1e4, 1e-2],
  huge: [0, 1e19],
  tiny: [0, 1e-30],
  constant: [0, 1],
  naninf: [-0.5, 2],
  extreme: [0, 2e38],
  denormal: [0, DENORMAL * 8],
};

/**
 * Float32 data of a kind: normal, offset (mean 1e4, std 1e-2), huge (1e19), tiny (1e-30),
 * constant, normal with a NaN and an infinity side by side (so in one group, or two), extreme
 * (magnitudes from 1e37 to the float32 maximum, either sign, the maximum itself now and then:
 * x - mean overflows float32) or denormal (small multiples of the least denormal: with eps 0,
 * 1 / std overflows float32).
 */
export function data(rng: () => number, n: number, kind: Kind): Float32Array {
  const a = new Float32Array(n);
  if (kind === 'extreme') {
    for (let i = 0; i < n; i++) {
      const m = rng() < 0.1 ? FLOAT_MAX : 1e37 + rng() * (FLOAT_MAX - 1e37);
      a[i] = rng() < 0.5 ? -m : m;
    }
    return a;
  }
  if (kind === 'denormal') {
    for (let i = 0; i < n; i++) a[i] = Math.floor(rng() * 33 - 16) * DENORMAL;
    return a;
  }
  const constant = 1e4 * normal(rng);
  const [mean, std] = SCALE[kind];
  for (let i = 0; i < n; i++) a[i] = kind === 'constant' ? constant : mean + std * normal(rng);
  if (kind === 'naninf' && n > 0) {
    const i = Math.floor(rng() * n);
    a[i] = NaN;
    if (i + 1 < n) a[i + 1] = Infinity;
  }
  return a;
}

/** Scales and shifts around 1. */
export function params(rng: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => 1 + 0.5 * normal(rng));
}

/** A running statistic on the data's scale: variances (by name) positive, means near the data's. */
export function stateValues(rng: () => number, n: number, name: string, kind: Kind): Float32Array {
  const [mean, std] = SCALE[kind];
  // Variances a float32 holds: 1e38 for extreme data; 0 for denormal data (std^2 underflows),
  // which with eps 0 is the zero-variance case (plus or minus Infinity, NaN at the mean).
  if (/var/i.test(name)) {
    return Float32Array.from({ length: n }, () => Math.min(std * std * (0.5 + rng()), 1e38));
  }
  return Float32Array.from({ length: n }, () => mean + std * 0.3 * normal(rng));
}

// ---- what the descriptor says -------------------------------------------------------------

const argOf = (op: OpDescriptor, name: string) => op.args.find((a) => a.name === name)!;
const keysOf = (op: OpDescriptor, pred: (key: string) => boolean) =>
  Object.keys(op.options).filter(pred);

/** Option keys of the optional read or updated arrays (weight, bias, running statistics). */
export function optionalArrays(op: OpDescriptor): string[] {
  return keysOf(op, (k) => {
    const o = op.options[k];
    return o.kind === 'array' && ['param', 'state'].includes(argOf(op, o.arg).role);
  });
}
/** Option keys of the arrays the op writes its results to (out, sumOut). */
export function outputOptions(op: OpDescriptor): string[] {
  return keysOf(op, (k) => {
    const o = op.options[k];
    return o.kind === 'array' && argOf(op, o.arg).role === 'output';
  });
}
export const optionsOfKind = (op: OpDescriptor, kind: string): string[] =>
  keysOf(op, (k) => op.options[k].kind === kind);
export const tensorParams = (op: OpDescriptor): string[] =>
  op.params.flatMap((p) => (p.kind === 'tensor' ? [p.name] : []));
export const countParams = (op: OpDescriptor): string[] =>
  op.params.flatMap((p) => (p.kind === 'count' ? [p.name] : []));
export const takesNormalizedShape = (op: OpDescriptor): boolean =>
  op.params.some((p) => p.kind === 'normalizedShape');

/** Every combination of the op's bool options. */
export function boolCombos(op: OpDescriptor): Array<Record<string, boolean>> {
  let combos: Array<Record<string, boolean>> = [{}];
  for (const key of optionsOfKind(op, 'bool')) {
    combos = combos.flatMap((c) => [
      { ...c, [key]: true },
      { ...c, [key]: false },
    ]);
  }
  return combos;
}

/** Both layouts where the op has a layout option, else the default only. */
export function layoutsOf(op: OpDescriptor): Array<Layout | undefined> {
  return optionsOfKind(op, 'layout').length ? ['channels_first', 'channels_last'] : [undefined];
}

/** Whether every flag that makes the op update its state arrays is on (statistics from the input). */
export function statsFromInput(op: OpDescriptor, bools: Record<string, boolean>): boolean {
  return op.args.every((a) => {
    if (!a.writtenWhen) return true;
    const key = optionsOfKind(op, 'bool').find((k) => op.options[k].arg === a.writtenWhen);
    return key === undefined || bools[key] !== false;
  });
}

/** All optional arrays given, none, and each one left out in turn. */
export function presenceVariants(op: OpDescriptor): Array<ReadonlySet<string>> {
  const all = optionalArrays(op);
  const out: Array<ReadonlySet<string>> = [new Set(all)];
  if (all.length) out.push(new Set());
  if (all.length > 1) for (const k of all) out.push(new Set(all.filter((x) => x !== k)));
  return out;
}

// ---- shapes --------------------------------------------------------------------------------

/** A shape an op accepts, with its other positional arguments and the sizes they give. */
export interface OpShape {
  /** The logical shape of every tensor argument. */
  shape: number[];
  normalizedShape?: number[];
  counts: Record<string, number>;
  sizes: Sizes;
  label: string;
}

/** A snapshot of the user's positionals as the descriptor's `sizes` and `check` read it. */
export function snapshotOf(
  op: OpDescriptor,
  shape: number[],
  ns: number[],
  counts: Record<string, number>,
) {
  const tensors: Record<string, { data: Float32Array; shape: number[]; label: string }> = {};
  for (const name of tensorParams(op)) {
    tensors[name] = { data: new Float32Array(0), shape: shape.slice(), label: `${name}.shape` };
  }
  return { tensors, normalizedShape: ns, counts };
}

/** The op's sizes for these positionals, or null where its shape rule rejects them. */
export function sizesFor(
  op: OpDescriptor,
  shape: number[],
  ns: number[] = [],
  counts: Record<string, number> = {},
): Sizes | null {
  try {
    return op.sizes(snapshotOf(op, shape, ns, counts));
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/** What the op computes for an accepted shape (statistics, values per statistic). */
export function describeShape(op: OpDescriptor, s: OpShape) {
  return op.describe(s.sizes, snapshotOf(op, s.shape, s.normalizedShape ?? [], s.counts));
}

/**
 * The ways `op` takes `shape`: normalizedShape over each trailing `k` of `ks` (ops that take
 * one); each count (numGroups) as the largest of the shape's dimensions and 1 to 3 that the op
 * accepts, and as 1. Empty where the op rejects the shape (its rank).
 */
export function opShapes(op: OpDescriptor, shape: readonly number[], ks = [1]): OpShape[] {
  const normalized = takesNormalizedShape(op)
    ? [...new Set(ks)].filter((k) => k >= 1 && k <= shape.length).map((k) => shape.slice(-k))
    : [undefined];
  const out: OpShape[] = [];
  for (const ns of normalized) {
    let countSets: Array<Record<string, number>> = [{}];
    for (const name of countParams(op)) {
      countSets = countSets.flatMap((c) => {
        const candidates = [...new Set([...shape, 1, 2, 3])]
          .filter((v) => v >= 1)
          .sort((a, b) => b - a)
          .filter((v) => sizesFor(op, shape.slice(), ns, { ...c, [name]: v }) !== null);
        const chosen = [...new Set([candidates[0], 1])].filter((v) => candidates.includes(v));
        return chosen.map((v) => ({ ...c, [name]: v }));
      });
    }
    for (const counts of countSets) {
      const sizes = sizesFor(op, shape.slice(), ns, counts);
      if (!sizes) continue;
      const extra = [
        ns ? `normalizedShape [${ns}]` : '',
        ...Object.entries(counts).map(([k, v]) => `${k} ${v}`),
      ].filter(Boolean);
      out.push({
        shape: shape.slice(),
        normalizedShape: ns,
        counts,
        sizes,
        label: `[${shape}]${extra.length ? ` ${extra.join(', ')}` : ''}`,
      });
    }
  }
  return out;
}

/** The length of kernel argument `name` for these sizes. */
export function argLength(op: OpDescriptor, name: string, sizes: Sizes): number {
  return (argOf(op, name).length ?? []).reduce((n, s) => n * sizes[s], 1);
}

// ---- calls ---------------------------------------------------------------------------------

export interface Variant {
  kind: Kind;
  /** The optional arrays given (option keys); the others are left out. */
  given: ReadonlySet<string>;
  /** Bool options by key; the others at their defaults. */
  bools?: Record<string, boolean>;
  layout?: Layout;
  /** eps: left out when undefined. */
  eps?: number | null;
  /** Number options (momentum) by key; 0.3 where not given. */
  numbers?: Record<string, number>;
  /**
   * Outputs allocated by the op (`alloc`), given as views at odd offsets into one buffer with
   * the inputs and the running statistics, sentinels between them (`views`), or given as the
   * input arrays the descriptor allows (`inPlace`).
   */
  out?: 'alloc' | 'views' | 'inPlace';
}

/** One call's arguments, made afresh (same values) for each backend. */
export interface Call {
  user: unknown[];
  /** The state arrays given, by option key, to compare after the call. */
  states: Record<string, Float32Array>;
  /** The input tensors' data, by tensor name. */
  inputs: Record<string, Float32Array>;
  /** Sentinels around the views that changed. */
  clobbered(): string[];
  inPlace: boolean;
}

export interface Prepared {
  label: string;
  make(): Call;
}

const SENTINEL = -12345.5;
const PAD = 3;

/** Deterministic arguments of `op` for shape `s` and variant `v`, drawn from `seed`. */
export function prepare(op: OpDescriptor, s: OpShape, v: Variant, seed: number): Prepared {
  const rng = mulberry32(seed);
  const n = s.shape.reduce((a, b) => a * b, 1);
  const tensors = Object.fromEntries(tensorParams(op).map((t) => [t, data(rng, n, v.kind)]));
  const arrays: Record<string, Float32Array> = {};
  for (const key of optionalArrays(op)) {
    if (!v.given.has(key)) continue;
    const arg = argOf(op, op.options[key].arg);
    const len = argLength(op, arg.name, s.sizes);
    arrays[key] = arg.role === 'state' ? stateValues(rng, len, arg.name, v.kind) : params(rng, len);
  }
  const isState = (key: string) => argOf(op, op.options[key].arg).role === 'state';
  const outs = outputOptions(op);
  const mode = v.out ?? 'alloc';
  const parts = [
    v.kind,
    Object.entries(v.bools ?? {})
      .map(([k, b]) => `${k} ${b}`)
      .join(' '),
    v.layout ?? '',
    optionalArrays(op).length
      ? `given {${optionalArrays(op)
          .filter((k) => v.given.has(k))
          .join(', ')}}`
      : '',
    v.eps !== undefined ? `eps ${v.eps}` : '',
    Object.entries(v.numbers ?? {})
      .map(([k, x]) => `${k} ${x}`)
      .join(' '),
    mode !== 'alloc' ? `out ${mode}` : '',
  ];
  const label = parts.filter(Boolean).join(', ');

  function make(): Call {
    const inputs: Record<string, Float32Array> = {};
    const given: Record<string, Float32Array> = {};
    const outputs: Record<string, Float32Array> = {};
    const pads: Array<[number, number]> = [];
    let buffer: Float32Array | null = null;
    if (mode === 'views') {
      const lengths = [
        ...Object.values(tensors).map((t) => t.length),
        ...outs.map((k) => argLength(op, op.options[k].arg, s.sizes)),
        ...Object.values(arrays).map((a) => a.length),
      ];
      buffer = new Float32Array(lengths.reduce((a, b) => a + b + PAD, PAD)).fill(SENTINEL);
      let at = 0;
      const view = (len: number) => {
        pads.push([at, at + PAD]);
        at += PAD;
        const vw = buffer!.subarray(at, at + len);
        at += len;
        return vw;
      };
      for (const [k, t] of Object.entries(tensors)) (inputs[k] = view(t.length)).set(t);
      for (const k of outs) outputs[k] = view(argLength(op, op.options[k].arg, s.sizes));
      for (const [k, a] of Object.entries(arrays))
        (given[k] = isState(k) ? view(a.length) : a).set(a);
      pads.push([at, buffer.length]);
    } else {
      for (const [k, t] of Object.entries(tensors)) inputs[k] = t.slice();
      for (const [k, a] of Object.entries(arrays)) given[k] = a.slice();
      if (mode === 'inPlace') {
        outs.forEach((k, i) => {
          const allowed = argOf(op, op.options[k].arg).inPlace ?? [];
          if (allowed.length) outputs[k] = inputs[allowed[i % allowed.length]];
        });
      }
    }
    const options: Record<string, unknown> = { ...given, ...outputs };
    if (v.bools) Object.assign(options, v.bools);
    const layoutKey = optionsOfKind(op, 'layout')[0];
    if (layoutKey && v.layout) options[layoutKey] = v.layout;
    const epsKey = optionsOfKind(op, 'eps')[0];
    if (epsKey && v.eps !== undefined) options[epsKey] = v.eps;
    for (const k of optionsOfKind(op, 'number')) options[k] = v.numbers?.[k] ?? 0.3;
    const user = op.params.map((p) => {
      if (p.kind === 'tensor') return { data: inputs[p.name], shape: s.shape.slice() };
      if (p.kind === 'normalizedShape') return s.normalizedShape!.slice();
      if (p.kind === 'count') return s.counts[p.name];
      return options;
    });
    const states = Object.fromEntries(Object.entries(given).filter(([k]) => isState(k)));
    return {
      user,
      states,
      inputs,
      inPlace: mode === 'inPlace' && Object.keys(outputs).length > 0,
      clobbered() {
        const bad: string[] = [];
        for (const [from, to] of pads) {
          for (let i = from; i < to; i++) {
            if (buffer![i] !== SENTINEL)
              bad.push(`buffer[${i}] outside every view is ${buffer![i]}`);
          }
        }
        return bad.slice(0, 5);
      },
    };
  }
  return { label, make };
}

/** What a call did: its error, or its result arrays and the state arrays after it. */
export interface Outcome {
  error?: { name: string; message: string };
  arrays: Record<string, Float32Array>;
  problems: string[];
}

/** The op's result as arrays by name: `out` for a single tensor, else each named tensor. */
export function resultArrays(op: OpDescriptor, result: unknown): Record<string, Float32Array> {
  if (typeof op.results === 'string')
    return { [op.results]: (result as { data: Float32Array }).data };
  const r = result as Record<string, { data: Float32Array }>;
  return Object.fromEntries(Object.keys(op.results).map((k) => [k, r[k].data]));
}

/** Runs `p` on `api`, collecting its results and what it must not have touched. */
export function runOn(op: OpDescriptor, p: Prepared, api: Api): Outcome {
  const call = p.make();
  const before = Object.fromEntries(Object.entries(call.inputs).map(([k, v]) => [k, v.slice()]));
  const statesBefore = Object.fromEntries(
    Object.entries(call.states).map(([k, v]) => [k, v.slice()]),
  );
  const problems: string[] = [];
  let result: unknown;
  try {
    result = api[op.name](...call.user);
  } catch (e) {
    const err = e as Error;
    // A call that throws changes nothing.
    for (const [k, v] of Object.entries(call.states)) {
      problems.push(...sameValues(v, statesBefore[k], `${k} after a throwing call`));
    }
    problems.push(...call.clobbered());
    return { error: { name: err.constructor.name, message: err.message }, arrays: {}, problems };
  }
  const arrays: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(resultArrays(op, result))) arrays[k] = v.slice();
  for (const [k, v] of Object.entries(call.states)) arrays[`state ${k}`] = v.slice();
  problems.push(...call.clobbered());
  if (!call.inPlace) {
    for (const [k, v] of Object.entries(call.inputs)) {
      problems.push(...sameValues(v, before[k], `${k}.data (an input)`));
    }
  }
  return { arrays, problems };
}

function sameValues(got: Float32Array, want: Float32Array, label: string): string[] {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(got[i] === want[i])) {
      return [`${label} changed at [${i}]: ${want[i]} -> ${got[i]}`];
    }
  }
  return [];
}

/** How `got` differs from `want` (the reference) beyond `tol`: errors, arrays, problems. */
export function diffOutcomes(got: Outcome, want: Outcome, tol: Tolerance = TOL): string[] {
  const out = [...got.problems];
  if (got.error || want.error) {
    const g = got.error ? `${got.error.name}: ${got.error.message}` : 'no error';
    const w = want.error ? `${want.error.name}: ${want.error.message}` : 'no error';
    if (g !== w) out.push(`threw ${g}, expected ${w}`);
    return out;
  }
  for (const [k, w] of Object.entries(want.arrays)) {
    const bad = mismatches(got.arrays[k] ?? new Float32Array(0), w, tol, 3);
    if (bad.length) out.push(`${k}: ${bad.join('; ')}`);
  }
  return out;
}

/** The largest |got - want| in units of `tol` over every array (NaN where NaN is due is 0). */
export function worstRatio(got: Outcome, want: Outcome, tol: Tolerance = TOL): number {
  if (got.error || want.error) {
    const same = got.error?.name === want.error?.name && got.error?.message === want.error?.message;
    return same ? 0 : Infinity;
  }
  let worst = got.problems.length ? Infinity : 0;
  for (const [k, w] of Object.entries(want.arrays)) {
    const g = got.arrays[k];
    if (!g || g.length !== w.length) return Infinity;
    for (let i = 0; i < w.length; i++) {
      let r: number;
      if (Number.isNaN(w[i])) r = Number.isNaN(g[i]) ? 0 : Infinity;
      else if (!Number.isFinite(w[i])) r = g[i] === w[i] ? 0 : Infinity;
      else r = Math.abs(g[i] - w[i]) / (tol.abs + tol.rel * Math.abs(w[i]));
      if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
    }
  }
  return worst;
}

/** Calls of more values than this run each layout with one flag combination in a sweep. */
const BIG_CALL = 32768;

/** The largest deviation (in units of `tol`) of each op and what went wrong, over a sweep. */
export interface SweepResult {
  worst: Record<string, number>;
  problems: string[];
  calls: number;
}

/**
 * Every op of `ops` on every shape of `shapes` it accepts, both layouts and every flag
 * combination (one in turn for calls over 32768 values), all optional arrays given, outputs as
 * unaligned views: `api` on each thread count of `threads` (through `setThreads`) against one
 * `reference` run. Data kinds take turns.
 */
export function sweep(
  ops: readonly OpDescriptor[],
  api: Api,
  reference: Api,
  shapes: ReadonlyArray<readonly number[]>,
  kinds: readonly Kind[],
  threads: readonly number[] = [],
  setThreads: (n: number) => void = () => {},
): SweepResult {
  const result: SweepResult = { worst: {}, problems: [], calls: 0 };
  let seed = 1;
  for (const op of ops) {
    let worst = 0;
    let turn = 0;
    for (const shape of shapes) {
      const big = shape.reduce((a, b) => a * b, 1) > BIG_CALL;
      for (const s of opShapes(op, shape)) {
        for (const layout of layoutsOf(op)) {
          const combos = boolCombos(op);
          // Large calls take one flag combination each, in turn, to keep the sweep short.
          for (const bools of big ? [combos[turn % combos.length]] : combos) {
            const kind = kinds[turn++ % kinds.length];
            const v: Variant = { kind, given: new Set(optionalArrays(op)), bools, layout };
            const p = prepare(op, s, { ...v, out: 'views' }, seed++);
            const want = runOn(op, p, reference);
            for (const n of threads.length ? threads : [0]) {
              if (n) setThreads(n);
              const got = runOn(op, p, api);
              result.calls++;
              const r = worstRatio(got, want);
              if (r > 1 && result.problems.length < 10) {
                const why = diffOutcomes(got, want);
                const where = `${op.name} ${s.label} ${p.label}${n ? `, ${n} threads` : ''}`;
                result.problems.push(`${where}: ${why.join('; ')}`);
              }
              worst = Math.max(worst, r);
            }
          }
        }
      }
    }
    result.worst[op.name] = worst;
  }
  return result;
}
