// The async twin of every op (`<op>Async`, from the registry) and `forwardAsync` of every module
// class: the same results as the sync call; a bad argument rejects (never throws) with the sync
// call's error; an aborted signal rejects a call not yet started with an AbortError and changes
// nothing; running statistics and numBatchesTracked change only when the promise resolves, all
// at once; concurrent calls are each right, and calls sharing running statistics add up as one
// after the other would; inputs in flight survive transfers (copied or refused, never detached),
// from this realm or another; SharedArrayBuffer-backed arrays work; and the event loop stays
// responsive (native backend). Everything here runs on the default backend; the last test runs
// this whole file again on the reference backend (NORMKIT_BACKEND=js) in a child mocha.
import { spawnSync } from 'child_process';
import { getEventListeners } from 'events';
import * as path from 'path';
import { MessageChannel } from 'worker_threads';
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { Tensor } from 'normkit';
import { asyncName, changed, runCallAsync, runOnAsync } from './helpers/async-calls';
import {
  boolCombos,
  diffOutcomes,
  layoutsOf,
  opShapes,
  optionalArrays,
  optionsOfKind,
  outputOptions,
  prepare,
  presenceVariants,
  resultArrays,
  runOn,
  statsFromInput,
  tensorParams,
  TOL,
  type Call,
  type OpShape,
  type Outcome,
  type Prepared,
  type Variant,
} from './helpers/op-cases';
import { asApi, defaultBackendSkipReason, OP_LIST, type OpDescriptor } from './helpers/ops';
import { mulberry32, randomFloats } from './helpers/prng';
import { childScript, expectSameValues, parseReport, REPO_ROOT, runNode } from './helpers/tensors';

const api = asApi(normkit);
const hasStates = (op: OpDescriptor) => op.args.some((a) => a.role === 'state');
const optionsAt = (op: OpDescriptor) => op.params.findIndex((p) => p.kind === 'options');

/** Shapes every op takes (rank 3 and 4); a call of over 2 x 32768 values, split over threads. */
const SMALL = [
  [3, 4, 5],
  [2, 6, 3, 4],
];
const LARGE = [8, 4, 2048];

/** The first way `op` takes `shape` (normalizedShape over the last dimension, the most groups). */
const shapeOf = (op: OpDescriptor, shape: number[]): OpShape => opShapes(op, shape)[0];

/** Every optional array given, statistics from the input where the op has such flags. */
function updating(op: OpDescriptor, extra: Partial<Variant> = {}): Variant {
  const bools = boolCombos(op).find((b) => statsFromInput(op, b)) ?? {};
  return { kind: 'normal', given: new Set(optionalArrays(op)), bools, ...extra };
}

/** The sync call's error message as its async twin words it: `signal` is one more option. */
const asyncMessage = (message: string) =>
  message.replace(/^(Expected one of the options .*?)( for options\.)/, '$1, signal$2');

/** The promise `p` must be, and the error it rejects with. */
async function rejectionOf(p: unknown, label: string): Promise<Error> {
  expect(p, `${label}: returns a Promise`).to.be.instanceOf(Promise);
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  expect.fail(`${label}: resolved, expected a rejection`);
}

function expectAbortError(e: unknown, label: string): void {
  expect(e, `${label}: a DOMException`).to.be.instanceOf(DOMException);
  expect((e as DOMException).name, label).to.equal('AbortError');
}

/** Every Float32Array a call could touch: its inputs and every array among its options. */
function arraysOf(op: OpDescriptor, call: Call): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(call.inputs)) out[`${k}.data`] = v;
  for (const [k, v] of Object.entries(call.user[optionsAt(op)] as object)) {
    if (v instanceof Float32Array) out[`options.${k}`] = v;
  }
  return out;
}

const copies = (r: Record<string, Float32Array>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice()]));

function unchanged(now: Record<string, Float32Array>, before: Record<string, Float32Array>) {
  return Object.entries(now).flatMap(([k, v]) => changed(v, before[k], k));
}

/** `p` with every output given explicitly (fresh zeroed arrays), so tests can hold them. */
function withOutputs(op: OpDescriptor, p: Prepared, s: OpShape): Prepared {
  const lengthOf = (key: string) =>
    (op.args.find((a) => a.name === op.options[key].arg)!.length ?? []).reduce(
      (n, d) => n * s.sizes[d],
      1,
    );
  return {
    label: `${p.label}, outputs given`,
    make() {
      const call = p.make();
      const options = call.user[optionsAt(op)] as Record<string, unknown>;
      for (const key of outputOptions(op)) options[key] = new Float32Array(lengthOf(key));
      return call;
    },
  };
}

// ---- module cases -------------------------------------------------------------------------

interface Module {
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor;
  forwardAsync(
    input: Tensor,
    options?: { out?: Float32Array; signal?: AbortSignal },
  ): Promise<Tensor>;
  weight: Float32Array | null;
  bias?: Float32Array | null;
  runningMean?: Float32Array | null;
  runningVar?: Float32Array | null;
  numBatchesTracked?: number;
  training?: boolean;
  train?(mode?: boolean): unknown;
}

interface ModuleCase {
  label: string;
  make(): Module;
  shape: number[];
  /** The modes to test: training (true) and/or eval (false). */
  modes: boolean[];
}

const M = normkit as unknown as Record<string, new (...args: unknown[]) => Module>;
const BOTH = [true, false];

/** Module cases by class name; every class with forwardAsync must have at least one. */
const MODULES: Record<string, ModuleCase[]> = {
  LayerNorm: [
    { label: 'LayerNorm([5])', make: () => new M.LayerNorm([5]), shape: [3, 4, 5], modes: [true] },
  ],
  RMSNorm: [
    {
      label: 'RMSNorm([4, 5])',
      make: () => new M.RMSNorm([4, 5]),
      shape: [3, 4, 5],
      modes: [true],
    },
  ],
  GroupNorm: [
    {
      label: 'GroupNorm(2, 4), channels_last',
      make: () => new M.GroupNorm(2, 4, { layout: 'channels_last' }),
      shape: [3, 4, 5],
      modes: [true],
    },
  ],
  BatchNorm1d: [
    { label: 'BatchNorm1d(4)', make: () => new M.BatchNorm1d(4), shape: [3, 4, 5], modes: BOTH },
    {
      label: 'BatchNorm1d(4, momentum null)',
      make: () => new M.BatchNorm1d(4, { momentum: null }),
      shape: [6, 4],
      modes: [true],
    },
  ],
  BatchNorm2d: [
    {
      label: 'BatchNorm2d(4), channels_last',
      make: () => new M.BatchNorm2d(4, { layout: 'channels_last' }),
      shape: [2, 4, 3, 5],
      modes: BOTH,
    },
  ],
  BatchNorm3d: [
    {
      label: 'BatchNorm3d(4)',
      make: () => new M.BatchNorm3d(4),
      shape: [2, 4, 2, 3, 2],
      modes: BOTH,
    },
  ],
  InstanceNorm1d: [
    {
      label: 'InstanceNorm1d(4, affine, tracking)',
      make: () => new M.InstanceNorm1d(4, { affine: true, trackRunningStats: true }),
      shape: [3, 4, 5],
      modes: BOTH,
    },
    {
      label: 'InstanceNorm1d(4), unbatched',
      make: () => new M.InstanceNorm1d(4),
      shape: [4, 5],
      modes: [true],
    },
  ],
  InstanceNorm2d: [
    {
      label: 'InstanceNorm2d(4, tracking), channels_last',
      make: () => new M.InstanceNorm2d(4, { trackRunningStats: true, layout: 'channels_last' }),
      shape: [2, 4, 3, 5],
      modes: BOTH,
    },
  ],
  InstanceNorm3d: [
    {
      label: 'InstanceNorm3d(4, affine)',
      make: () => new M.InstanceNorm3d(4, { affine: true }),
      shape: [2, 4, 2, 3, 2],
      modes: [true],
    },
  ],
};

/** The exported classes with a forward method, less the abstract bases. */
function moduleClasses(): Array<[string, { prototype: object }]> {
  const entries = Object.entries(normkit as Record<string, unknown>);
  return entries.filter(
    (e): e is [string, { prototype: object }] =>
      typeof e[1] === 'function' &&
      typeof (e[1] as { prototype?: { forward?: unknown } }).prototype?.forward === 'function' &&
      !e[0].endsWith('Base'),
  );
}

function input(shape: number[], seed: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return { data: randomFloats(mulberry32(seed), n, 0.5, 2), shape };
}

/** Gives `a` and `b` the same random parameters, running statistics and mode. */
function twin(a: Module, b: Module, training: boolean): void {
  const rng = mulberry32(77);
  for (const key of ['weight', 'bias', 'runningMean', 'runningVar'] as const) {
    const x = a[key];
    if (!x) continue;
    const values = randomFloats(rng, x.length, key === 'runningVar' ? 2 : 0.5, 0.3);
    x.set(values);
    b[key]!.set(values);
  }
  if (a.numBatchesTracked !== undefined) a.numBatchesTracked = b.numBatchesTracked = 3;
  a.train?.(training);
  b.train?.(training);
}

/** A module's state as plain values, for deep comparison. */
function stateOf(m: Module) {
  const arr = (x: Float32Array | null | undefined) => (x ? Array.from(x) : null);
  return {
    weight: arr(m.weight),
    bias: arr(m.bias),
    runningMean: arr(m.runningMean),
    runningVar: arr(m.runningVar),
    numBatchesTracked: m.numBatchesTracked ?? null,
  };
}

describe('async twins', function () {
  this.timeout(60000);

  it('every op of the registry has an async twin, and every module class a forwardAsync', () => {
    const missing = OP_LIST.map(asyncName).filter((n) => typeof api[n] !== 'function');
    expect(missing).to.deep.equal([]);
    const classes = moduleClasses();
    expect(classes.length).to.be.greaterThan(0);
    const lacking = classes.filter(
      ([, c]) => typeof (c.prototype as { forwardAsync?: unknown }).forwardAsync !== 'function',
    );
    expect(lacking.map(([n]) => n)).to.deep.equal([]);
  });

  for (const op of OP_LIST) {
    describe(asyncName(op), () => {
      before(function () {
        if (defaultBackendSkipReason(op)) this.skip();
      });

      it('gives what the sync call gives: every layout, flag, optional array, output mode', async () => {
        const problems: string[] = [];
        let seed = 100;
        for (const shape of SMALL) {
          for (const s of opShapes(op, shape)) {
            for (const layout of layoutsOf(op)) {
              for (const bools of boolCombos(op)) {
                const variants: Variant[] = presenceVariants(op).map((given) => ({
                  kind: 'normal',
                  given,
                  bools,
                  layout,
                }));
                const all = { kind: 'offset' as const, given: new Set(optionalArrays(op)) };
                variants.push(
                  { ...all, bools, layout, out: 'views' },
                  { ...all, bools, layout, out: 'inPlace' },
                );
                for (const v of variants) {
                  const p = prepare(op, s, v, seed++);
                  const got = await runOnAsync(op, p, api);
                  const want = runOn(op, p, api);
                  // The same kernel on the same data: identical values.
                  const bad = diffOutcomes(got, want, { abs: 0, rel: 0 });
                  problems.push(...bad.map((b) => `${s.label} ${p.label}: ${b}`));
                }
              }
            }
          }
        }
        expect(problems.slice(0, 10), `${problems.length} problems`).to.deep.equal([]);
      });

      it('returns results with shapes of their own, as the sync call does', async () => {
        const p = prepare(op, shapeOf(op, SMALL[0]), updating(op), 7);
        const call = p.make();
        const a = await (api[asyncName(op)](...call.user) as Promise<unknown>);
        const b = api[op.name](...p.make().user);
        const shapes = (r: unknown) =>
          Object.values(typeof op.results === 'string' ? { r } : (r as object)).map(
            (t) => (t as Tensor).shape,
          );
        expect(shapes(a)).to.deep.equal(shapes(b));
        const callerShapes = call.user.map((u) => (u as Tensor | null)?.shape);
        for (const sh of shapes(a)) expect(callerShapes.includes(sh)).to.equal(false);
      });

      describe('bad arguments reject (never throw) with the sync call error, changing nothing', () => {
        for (const bad of badArguments(op)) {
          it(bad.label, async () => {
            const s = shapeOf(op, SMALL[0]);
            const p = withOutputs(op, prepare(op, s, updating(op), 11), s);
            let syncError: Error | undefined;
            try {
              api[op.name](...bad.mutate(p.make().user));
            } catch (e) {
              syncError = e as Error;
            }
            expect(syncError, 'the sync call throws').to.be.instanceOf(Error);
            const call = p.make();
            const user = bad.mutate(call.user);
            const arrays = arraysOf(op, call);
            const before = copies(arrays);
            let pending: unknown;
            expect(() => {
              pending = api[asyncName(op)](...user);
            }).not.to.throw();
            const e = await rejectionOf(pending, bad.label);
            expect(e.constructor).to.equal(syncError!.constructor);
            expect(e.message).to.equal(asyncMessage(syncError!.message));
            expect(unchanged(arrays, before)).to.deep.equal([]);
          });
        }
      });

      it('rejects a signal that is not an AbortSignal with a TypeError naming signal', async () => {
        const s = shapeOf(op, SMALL[0]);
        for (const signal of ['abort', {}, null, new AbortController()]) {
          const call = prepare(op, s, updating(op), 3).make();
          const options = call.user[optionsAt(op)] as object;
          call.user[optionsAt(op)] = { ...options, signal };
          const e = await rejectionOf(api[asyncName(op)](...call.user), String(signal));
          expect(e).to.be.instanceOf(TypeError);
          expect(e.message).to.match(/^Expected an AbortSignal for signal, but received /);
        }
      });

      it('an already-aborted signal rejects with an AbortError and changes nothing', async () => {
        const s = shapeOf(op, SMALL[0]);
        for (const signal of [AbortSignal.abort(), AbortSignal.abort(new Error('why'))]) {
          const p = withOutputs(op, prepare(op, s, updating(op), 5), s);
          const call = p.make();
          const arrays = arraysOf(op, call);
          const before = copies(arrays);
          const options = call.user[optionsAt(op)] as object;
          call.user[optionsAt(op)] = { ...options, signal };
          expectAbortError(
            await rejectionOf(api[asyncName(op)](...call.user), 'aborted'),
            'aborted',
          );
          expect(unchanged(arrays, before)).to.deep.equal([]);
        }
      });

      it('checks the arguments before the signal: a bad argument with an aborted signal rejects with its own error', async () => {
        const call = prepare(op, shapeOf(op, SMALL[0]), updating(op), 5).make();
        call.user[optionsAt(op)] = { signal: AbortSignal.abort(), eps: 'x', bogus: 1 };
        const e = await rejectionOf(api[asyncName(op)](...call.user), 'bad and aborted');
        expect(e).to.be.instanceOf(TypeError);
      });

      it('aborting calls in flight: each resolves with the full result or rejects with an AbortError having changed nothing', async () => {
        const s = shapeOf(op, [32, 8, 4096]);
        const prepared = Array.from({ length: 8 }, (_, i) =>
          withOutputs(op, prepare(op, s, updating(op), 40 + i), s),
        );
        const wants = prepared.map((p) => runOn(op, p, api));
        const controller = new AbortController();
        const calls = prepared.map((p) => p.make());
        const pending = calls.map((c) => runCallAsync(op, c, api, { signal: controller.signal }));
        // Some calls are running by now, others queued (8 calls, 4 pool threads by default).
        controller.abort();
        const outcomes = await Promise.all(pending);
        const problems = outcomes.flatMap((got, i) => {
          if (got.error) {
            const ok = got.error.name === 'AbortError' ? [] : [`rejected with ${got.error.name}`];
            return [...ok, ...got.problems].map((b) => `call ${i}: ${b}`);
          }
          return diffOutcomes(got, wants[i], TOL).map((b) => `call ${i}: ${b}`);
        });
        expect(problems.slice(0, 10)).to.deep.equal([]);
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      });

      if (hasStates(op)) {
        it('updates the running statistics only when the promise resolves, all at once', async () => {
          const problems: string[] = [];
          let seed = 60;
          for (const shape of [SMALL[0], LARGE]) {
            const s = shapeOf(op, shape);
            for (const bools of boolCombos(op).filter((b) => statsFromInput(op, b))) {
              for (const layout of layoutsOf(op)) {
                const p = prepare(op, s, updating(op, { bools, layout }), seed++);
                // runOnAsync checks the states right after the call returns its promise.
                const got = await runOnAsync(op, p, api);
                const bad = diffOutcomes(got, runOn(op, p, api), { abs: 0, rel: 0 });
                problems.push(...bad.map((b) => `${s.label} ${p.label}: ${b}`));
              }
            }
          }
          expect(problems.slice(0, 10)).to.deep.equal([]);
        });
      }

      it('16 concurrent calls, each with its own arrays, are each right', async () => {
        const s = shapeOf(op, LARGE);
        const prepared = Array.from({ length: 16 }, (_, i) => {
          const layout = layoutsOf(op)[i % layoutsOf(op).length];
          return prepare(op, s, updating(op, { layout, kind: i % 2 ? 'offset' : 'normal' }), i);
        });
        const outcomes = await Promise.all(prepared.map((p) => runOnAsync(op, p, api)));
        const problems = outcomes.flatMap((got, i) =>
          diffOutcomes(got, runOn(op, prepared[i], api), TOL).map((b) => `call ${i}: ${b}`),
        );
        expect(problems.slice(0, 10)).to.deep.equal([]);
      });

      if (hasStates(op)) {
        it('4 concurrent calls updating the same running statistics leave what the 4 calls one after the other leave', async () => {
          const s = shapeOf(op, SMALL[1]);
          const prepared = [0, 1, 2, 3].map((i) => prepare(op, s, updating(op), 80 + i));
          /** The 4 calls made afresh, all sharing the first call's state arrays. */
          const sharing = () => {
            const calls = prepared.map((p) => p.make());
            for (const c of calls.slice(1)) {
              const options = c.user[optionsAt(op)] as Record<string, unknown>;
              for (const key of Object.keys(c.states)) options[key] = calls[0].states[key];
            }
            return calls;
          };
          const calls = sharing();
          const states = calls[0].states;
          await Promise.all(calls.map((c) => api[asyncName(op)](...c.user)));
          const orders = permutations([0, 1, 2, 3]).map((order) => {
            const serial = sharing();
            for (const i of order) api[op.name](...serial[i].user);
            return { order, states: serial[0].states };
          });
          const close = orders.filter((o) =>
            Object.keys(states).every((k) => closeTo(states[k], o.states[k])),
          );
          const seen = Object.fromEntries(
            Object.entries(states).map(([k, v]) => [k, Array.from(v.slice(0, 3))]),
          );
          const oneAfterOther = Object.fromEntries(
            Object.entries(orders[0].states).map(([k, v]) => [k, Array.from(v.slice(0, 3))]),
          );
          expect(
            close.length,
            `running statistics ${JSON.stringify(seen)} match no serial order (order 0123: ${JSON.stringify(oneAfterOther)})`,
          ).to.be.greaterThan(0);
        });
      }

      describe('inputs in flight', () => {
        /** A call of `op` with every array given and its outputs held, mid-sized. */
        const inFlight = (seed: number) => {
          const s = shapeOf(op, [4, 6, 1024]);
          return withOutputs(op, prepare(op, s, updating(op), seed), s);
        };

        it('transferring any array of the call with structuredClone copies it (or is refused), never detaches it', async () => {
          const p = inFlight(21);
          const want = runOn(op, p, api);
          const call = p.make();
          const arrays = arraysOf(op, call);
          const inputs = Object.fromEntries(
            Object.entries(arrays).filter(([k]) => k.endsWith('.data')),
          );
          const before = copies(inputs);
          const pending = api[asyncName(op)](...call.user) as Promise<unknown>;
          const problems: string[] = [];
          for (const [k, a] of Object.entries(arrays)) {
            const length = a.length;
            const buffer = a.buffer as ArrayBuffer;
            try {
              const copy = structuredClone(buffer, { transfer: [buffer] });
              if (copy.byteLength !== buffer.byteLength)
                problems.push(`${k}: copy of another size`);
            } catch (e) {
              if ((e as Error).name !== 'DataCloneError') problems.push(`${k}: threw ${String(e)}`);
            }
            if (a.length !== length) problems.push(`${k}: detached (length ${a.length})`);
          }
          expect(problems).to.deep.equal([]);
          const result = await pending;
          expect(unchanged(inputs, before)).to.deep.equal([]);
          const got: Outcome = { arrays: {}, problems: [] };
          for (const [k, v] of Object.entries(resultArrays(op, result))) got.arrays[k] = v;
          for (const [k, v] of Object.entries(call.states)) got.arrays[`state ${k}`] = v;
          expect(diffOutcomes(got, want, { abs: 0, rel: 0 })).to.deep.equal([]);
        });

        it('posting an input with its buffer in the transfer list copies it (or is refused); the call is unaffected', async () => {
          const p = inFlight(22);
          const want = runOn(op, p, api);
          const call = p.make();
          const name = tensorParams(op)[0];
          const x = call.inputs[name];
          const before = x.slice();
          const pending = api[asyncName(op)](...call.user) as Promise<unknown>;
          const { port1, port2 } = new MessageChannel();
          try {
            const received = new Promise<Float32Array>((resolve) => {
              port2.once('message', (m: Float32Array) => resolve(m));
            });
            let posted = true;
            try {
              port1.postMessage(x, [x.buffer as ArrayBuffer]);
            } catch (e) {
              expect((e as Error).name).to.equal('DataCloneError');
              posted = false;
            }
            expect(x.length, 'the input is not detached').to.equal(before.length);
            if (posted) expectSameValues(await received, before, 'the copy received');
          } finally {
            port1.close();
            port2.close();
          }
          const result = await pending;
          expectSameValues(x, before, `${name}.data after the call`);
          const got = resultArrays(op, result);
          for (const [k, v] of Object.entries(want.arrays)) {
            if (!k.startsWith('state ')) expectSameValues(got[k], v, k);
          }
        });

        it('ArrayBuffer.prototype.transfer (where Node has it) cannot detach an input in flight', async function () {
          const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => unknown })
            .transfer;
          if (typeof transfer !== 'function') this.skip();
          const p = inFlight(23);
          const call = p.make();
          const x = Object.values(call.inputs)[0];
          const before = x.slice();
          const pending = api[asyncName(op)](...call.user) as Promise<unknown>;
          try {
            transfer!.call(x.buffer as ArrayBuffer);
          } catch (e) {
            expect(e).to.be.instanceOf(TypeError);
          }
          expect(x.length).to.equal(before.length);
          await pending;
          expectSameValues(x, before, 'input');
        });

        it('a Float32Array from another realm (vm context) is held as safely as one from this realm (child process)', () => {
          // Validation accepts other realms' Float32Arrays, so their buffers must be held too: a
          // detached input's memory is freed by the next GC, under the kernel (a crash, hence the
          // child process).
          const r = runNode(['--expose-gc', '-e', childScript(foreignRealmScript(op))], {
            NORMKIT_BACKEND: process.env.NORMKIT_BACKEND,
          });
          const report = parseReport<{ problems: string[] }>(r);
          expect(report.result.problems).to.deep.equal([]);
        });

        it('works on arrays backed by a SharedArrayBuffer (inputs, parameters, states, outputs)', async () => {
          const s = shapeOf(op, SMALL[1]);
          const p = withOutputs(op, prepare(op, s, updating(op), 25), s);
          const want = runOn(op, p, api);
          const call = p.make();
          const shared = (a: Float32Array) => {
            const b = new Float32Array(new SharedArrayBuffer(a.byteLength + 8), 4, a.length);
            b.set(a);
            return b;
          };
          op.params.forEach((q, i) => {
            if (q.kind !== 'tensor') return;
            const t = call.user[i] as Tensor;
            call.inputs[q.name] = shared(t.data as Float32Array);
            call.user[i] = { data: call.inputs[q.name], shape: t.shape };
          });
          const options = call.user[optionsAt(op)] as Record<string, unknown>;
          for (const [k, v] of Object.entries(options)) {
            if (v instanceof Float32Array) options[k] = shared(v);
          }
          for (const k of Object.keys(call.states)) call.states[k] = options[k] as Float32Array;
          const result = await (api[asyncName(op)](...call.user) as Promise<unknown>);
          const got: Outcome = { arrays: { ...resultArrays(op, result) }, problems: [] };
          for (const [k, v] of Object.entries(call.states)) got.arrays[`state ${k}`] = v;
          expect(diffOutcomes(got, want, { abs: 0, rel: 0 })).to.deep.equal([]);
          for (const v of Object.values(got.arrays)) {
            expect(v.buffer).to.be.instanceOf(SharedArrayBuffer);
          }
        });
      });
    });
  }

  describe('one AbortSignal shared by many calls', () => {
    it('16 concurrent calls on one signal: no process warning, and no listener left on it', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      try {
        const controller = new AbortController();
        const x = { data: randomFloats(mulberry32(9), 64 * 1024), shape: [64, 1024] };
        const ys = await Promise.all(
          Array.from({ length: 16 }, () =>
            normkit.layerNormAsync(x, 1024, { signal: controller.signal }),
          ),
        );
        const want = normkit.layerNorm(x, 1024).data;
        for (const y of ys) expectSameValues(y.data, want, 'result');
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
        await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings).to.deep.equal([]);
    });
  });

  describe('16 concurrent layerNormAsync calls reading one input', () => {
    it('each writes its own out, all equal to the sync result', async () => {
      const x = { data: randomFloats(mulberry32(4), 256 * 768), shape: [256, 768] };
      const weight = randomFloats(mulberry32(5), 768, 1, 0.2);
      const want = normkit.layerNorm(x, 768, { weight }).data;
      const outs = Array.from({ length: 16 }, () => new Float32Array(x.data.length));
      const ys = await Promise.all(
        outs.map((out) => normkit.layerNormAsync(x, 768, { weight, out })),
      );
      ys.forEach((y, i) => {
        expect(y.data).to.equal(outs[i]);
        expectSameValues(y.data, want, `call ${i}`);
      });
    });
  });

  describe('forwardAsync of every module class', () => {
    for (const [name] of moduleClasses()) {
      describe(name, () => {
        it('has a test case here', () => {
          expect(MODULES[name], `add ${name} to MODULES`).to.not.equal(undefined);
        });
        for (const c of MODULES[name] ?? []) {
          for (const training of c.modes) {
            const mode = `${c.label}, ${training ? 'training' : 'eval'}`;

            it(`${mode}: the result and state of forward, the state changing only when it resolves`, async () => {
              const [a, b] = [c.make(), c.make()];
              twin(a, b, training);
              const x = input(c.shape, 1);
              const want = a.forward(x);
              const before = stateOf(b);
              const pending = b.forwardAsync(input(c.shape, 1));
              expect(pending).to.be.instanceOf(Promise);
              expect(stateOf(b), 'state right after the call').to.deep.equal(before);
              const got = await pending;
              expect(got.shape).to.deep.equal(want.shape);
              expectSameValues(got.data, want.data, 'result');
              expect(stateOf(b), 'state after it resolves').to.deep.equal(stateOf(a));
              // With out: the result is written there.
              const out = new Float32Array(want.data.length);
              const withOut = await b.forwardAsync(input(c.shape, 2), { out });
              expect(withOut.data).to.equal(out);
              expectSameValues(out, a.forward(input(c.shape, 2)).data, 'out');
              expect(stateOf(b)).to.deep.equal(stateOf(a));
            });

            it(`${mode}: an aborted signal rejects with an AbortError, changing nothing`, async () => {
              const m = c.make();
              twin(m, c.make(), training);
              const before = stateOf(m);
              const out = new Float32Array(c.shape.reduce((p, d) => p * d, 1)).fill(3.5);
              const signal = AbortSignal.abort();
              const e = await rejectionOf(m.forwardAsync(input(c.shape, 3), { out, signal }), name);
              expectAbortError(e, name);
              expect(stateOf(m)).to.deep.equal(before);
              expect(
                out.every((v) => v === 3.5),
                'out untouched',
              ).to.equal(true);
            });
          }

          it(`${c.label}: bad arguments reject with forward's error, changing nothing`, async () => {
            const cases: Array<[string, unknown[]]> = [
              ['input null', [null]],
              [
                'input.data shorter than its shape',
                [{ data: new Float32Array(1), shape: c.shape }],
              ],
              ['an unknown option', [input(c.shape, 1), { bogus: 1 }]],
              ['out too short', [input(c.shape, 1), { out: new Float32Array(1) }]],
              ['options not an object', [input(c.shape, 1), 7]],
            ];
            for (const [label, args] of cases) {
              const m = c.make();
              const before = stateOf(m);
              let syncError: Error | undefined;
              try {
                (m.forward as (...a: unknown[]) => unknown)(...args);
              } catch (e) {
                syncError = e as Error;
              }
              expect(syncError, `${label}: forward throws`).to.be.instanceOf(Error);
              let pending: unknown;
              expect(() => {
                pending = (m.forwardAsync as (...a: unknown[]) => unknown)(...args);
              }, label).not.to.throw();
              const e = await rejectionOf(pending, label);
              expect(e.constructor, label).to.equal(syncError!.constructor);
              expect(e.message, label).to.equal(asyncMessage(syncError!.message));
              expect(stateOf(m), label).to.deep.equal(before);
            }
          });
        }
      });
    }

    it('BatchNorm1d (cumulative average) with 8 forwardAsync calls at once: the running statistics and numBatchesTracked of 8 forward calls', async () => {
      const [a, b] = [
        new normkit.BatchNorm1d(4, { momentum: null }),
        new normkit.BatchNorm1d(4, { momentum: null }),
      ];
      const xs = Array.from({ length: 8 }, (_, i) => input([6, 4, 5], 100 + i));
      for (const x of xs) a.forward(x);
      await Promise.all(xs.map((x) => b.forwardAsync(x)));
      expect(b.numBatchesTracked).to.equal(8);
      // The cumulative average does not depend on the order of the batches.
      expect(closeTo(b.runningMean!, a.runningMean!), 'runningMean').to.equal(true);
      expect(closeTo(b.runningVar!, a.runningVar!), 'runningVar').to.equal(true);
    });
  });

  describe('the event loop', () => {
    it('a 1 ms interval is never late by more than 20 ms while ten layerNormAsync calls of [8192, 768] run (native)', async function () {
      if (normkit.backend !== 'native') this.skip();
      const x = { data: randomFloats(mulberry32(8), 8192 * 768), shape: [8192, 768] };
      await normkit.layerNormAsync(x, 768); // warm-up: pool threads, pages
      const want = normkit.layerNorm({ data: x.data.subarray(0, 768 * 4), shape: [4, 768] }, 768);
      // The bound is about normkit, not about a shared CI machine: other processes can steal the
      // core the event loop runs on, so the measurement gets three tries and the best counts.
      // (The same ten calls made synchronously block the loop for 100 ms and more.)
      const attempts: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const pending = Array.from({ length: 10 }, () => normkit.layerNormAsync(x, 768));
        let worst = 0;
        let ticks = 0;
        let last = performance.now();
        const timer = setInterval(() => {
          const now = performance.now();
          worst = Math.max(worst, now - last - 1);
          last = now;
          ticks++;
        }, 1);
        let ys: Tensor[];
        try {
          ys = await Promise.all(pending);
          worst = Math.max(worst, performance.now() - last - 1);
        } finally {
          clearInterval(timer);
        }
        for (const y of ys) expectSameValues(y.data.subarray(0, 768 * 4), want.data, 'rows 0-3');
        expect(ticks).to.be.greaterThan(0);
        attempts.push(`${worst.toFixed(1)} ms (${ticks} ticks)`);
        if (worst <= 20) return;
      }
      expect.fail(`the timer was late by more than 20 ms in every try: ${attempts.join(', ')}`);
    });
  });

  describe('the reference backend', () => {
    it('passes this file with NORMKIT_BACKEND=js (child mocha)', function () {
      // In the child the default backend is the reference: this test skips itself there.
      if (normkit.backend !== 'native') this.skip();
      this.timeout(300000);
      const env: NodeJS.ProcessEnv = { ...process.env, NORMKIT_BACKEND: 'js' };
      delete env.NORMKIT_NUM_THREADS;
      const mocha = path.join(REPO_ROOT, 'node_modules/mocha/bin/mocha.js');
      const r = spawnSync(
        process.execPath,
        [mocha, '--no-config', '--reporter', 'json', '--timeout', '120000', __filename],
        { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 280000, maxBuffer: 64 << 20 },
      );
      if (r.error) throw r.error;
      let report: {
        stats: { passes: number; failures: number };
        failures: Array<{ fullTitle: string; err: { message: string } }>;
      };
      try {
        report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
      } catch {
        expect.fail(`child mocha printed no report (status ${r.status}): ${r.stderr.slice(-2000)}`);
      }
      const failures = report.failures.map((f) => `${f.fullTitle}: ${f.err.message.slice(0, 300)}`);
      expect(failures).to.deep.equal([]);
      expect(report.stats.passes).to.be.greaterThan(20);
    });
  });
});

// ---- bad arguments ------------------------------------------------------------------------

interface BadArgument {
  label: string;
  mutate(user: unknown[]): unknown[];
}

/** Bad calls of `op`, each a change to a valid call's positional arguments. */
function badArguments(op: OpDescriptor): BadArgument[] {
  const at = optionsAt(op);
  const tensorAt = op.params.findIndex((p) => p.kind === 'tensor');
  const withOption = (user: unknown[], key: string, f: (v: unknown) => unknown) => {
    const u = user.slice();
    const o = { ...(u[at] as Record<string, unknown>) };
    o[key] = f(o[key]);
    u[at] = o;
    return u;
  };
  const cases: BadArgument[] = [
    {
      label: 'input is null',
      mutate: (u) => u.map((v, i) => (i === tensorAt ? null : v)),
    },
    {
      label: 'input.data is a Float64Array',
      mutate: (u) =>
        u.map((v, i) =>
          i === tensorAt
            ? { data: Float64Array.from((v as Tensor).data), shape: (v as Tensor).shape }
            : v,
        ),
    },
    {
      label: 'input.shape does not match its data',
      mutate: (u) =>
        u.map((v, i) =>
          i === tensorAt
            ? {
                data: (v as Tensor).data,
                shape: [(v as Tensor).shape[0] + 1, ...(v as Tensor).shape.slice(1)],
              }
            : v,
        ),
    },
    { label: 'options is a number', mutate: (u) => u.map((v, i) => (i === at ? 5 : v)) },
    { label: 'an unknown option', mutate: (u) => withOption(u, 'bogus', () => 1) },
  ];
  if (optionsOfKind(op, 'eps').length) {
    const key = optionsOfKind(op, 'eps')[0];
    cases.push({ label: `${key} is negative`, mutate: (u) => withOption(u, key, () => -1) });
  }
  const param = optionalArrays(op)[0];
  if (param) {
    cases.push({
      label: `${param} one value too long`,
      mutate: (u) => withOption(u, param, (v) => new Float32Array((v as Float32Array).length + 1)),
    });
  }
  for (const key of outputOptions(op)) {
    cases.push({
      label: `${key} one value too short`,
      mutate: (u) => withOption(u, key, (v) => new Float32Array((v as Float32Array).length - 1)),
    });
  }
  return cases;
}

// ---- small helpers ------------------------------------------------------------------------

/**
 * A child script: `op`'s async call on inputs made in another realm, each input's buffer then
 * transferred away and the heap collected while the call runs; reports what went wrong.
 */
function foreignRealmScript(op: OpDescriptor): string {
  const helper = (f: string) => JSON.stringify(path.join(__dirname, 'helpers', f));
  return `
const vm = require('vm');
const { OPS } = require(${helper('ops.js')});
const { opShapes, optionalArrays, boolCombos, statsFromInput, prepare, runOn, resultArrays } = require(${helper('op-cases.js')});
const op = OPS[${JSON.stringify(op.name)}];
const s = opShapes(op, [4, 6, 1024])[0];
const bools = boolCombos(op).find((b) => statsFromInput(op, b)) || {};
const p = prepare(op, s, { kind: 'normal', given: new Set(optionalArrays(op)), bools }, 24);
const want = runOn(op, p, nk);
const call = p.make();
const problems = [];
op.params.forEach((q, i) => {
  if (q.kind !== 'tensor') return;
  const x = call.user[i].data;
  const foreign = vm.runInNewContext('new Float32Array(' + x.length + ')');
  foreign.set(x);
  call.user[i] = { data: foreign, shape: call.user[i].shape };
});
const pending = nk[op.name + 'Async'](...call.user);
op.params.forEach((q, i) => {
  if (q.kind !== 'tensor') return;
  const x = call.user[i].data;
  try { structuredClone(x.buffer, { transfer: [x.buffer] }); } catch {}
  if (x.length === 0) problems.push(q.name + '.data (from another realm) detached while in flight');
});
global.gc();
pending.then((r) => {
  const got = resultArrays(op, r);
  for (const [k, v] of Object.entries(want.arrays)) {
    if (k.startsWith('state ')) continue;
    for (let i = 0; i < v.length; i++) {
      if (!(got[k][i] === v[i] || (Number.isNaN(got[k][i]) && Number.isNaN(v[i])))) {
        problems.push(k + ' differs at [' + i + ']: ' + got[k][i] + ' vs ' + v[i]);
        break;
      }
    }
  }
  result = { problems };
}, (e) => {
  result = { problems: ['rejected: ' + e] };
}).then(() => console.log(JSON.stringify({ result, warnings })));
`;
}

function closeTo(got: Float32Array, want: Float32Array): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= TOL.abs + TOL.rel * Math.abs(want[i]))) return false;
  }
  return true;
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}
