// Every public entry point that takes user objects reads each value once, into a plan: tensors'
// `data` and `shape`, each shape element, each option, each state-dict entry. Values that
// change between reads (getters, Proxies that answer differently on a second read, a getter
// that detaches an ArrayBuffer read before it) must give the result of the first-read values or
// a TypeError/RangeError that changes nothing, on both backends. Read counts come from Proxies;
// results must carry shapes of their own, matching their data.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { Tensor } from 'normkit';
import {
  changingProxy,
  countingProxy,
  defineChanging,
  detach,
  expectCorrectOrInvalid,
  expectReadOnce,
  expectSameValues,
  prod,
  type ReadCounts,
  snapshot,
} from './helpers/tensors';
import {
  argLength,
  boolCombos,
  layoutsOf,
  opShapes,
  optionalArrays,
  outputOptions,
  prepare,
  statsFromInput,
  type Variant,
} from './helpers/op-cases';
import { OP_LIST, pascal } from './helpers/ops';

type Api = typeof normkit.reference;
const BACKENDS: ReadonlyArray<readonly [string, Api]> = [
  ['default backend', normkit],
  ['reference', normkit.reference],
];

/** One op's call: fresh valid positional arguments, and where the user objects sit in them. */
interface OpCall {
  name: keyof Api;
  /** Positions of the tensor arguments. */
  tensors: number[];
  /** Position of an array normalizedShape, if any. */
  shapeAt?: number;
  optionsAt: number;
  /** Fresh, identical each time: tensors as plain objects, an options object. */
  fresh(): unknown[];
}

const seq = (n: number, f: (i: number) => number) =>
  Float32Array.from({ length: n }, (_, i) => f(i));
const tensor = (shape: number[], f: (i: number) => number): Tensor => ({
  data: seq(prod(shape), f),
  shape,
});

/**
 * Each op's call, from its descriptor: a [2, 4, 3] input (normalizedShape its last axis,
 * numGroups the largest count the op accepts), every optional array and output given, the flags
 * that update state on, the first layout, eps and every number option off their defaults.
 */
const OPS: readonly OpCall[] = OP_LIST.map((op) => {
  const shape = opShapes(op, [2, 4, 3])[0];
  const variant: Variant = {
    kind: 'normal',
    given: new Set(optionalArrays(op)),
    bools: boolCombos(op).find((b) => statsFromInput(op, b)) ?? {},
    layout: layoutsOf(op)[0],
    eps: 0.25,
  };
  const prepared = prepare(op, shape, variant, 7);
  const optionsAt = op.params.findIndex((p) => p.kind === 'options');
  const shapeAt = op.params.findIndex((p) => p.kind === 'normalizedShape');
  return {
    name: op.name as keyof Api,
    tensors: op.params.flatMap((p, i) => (p.kind === 'tensor' ? [i] : [])),
    ...(shapeAt >= 0 ? { shapeAt } : {}),
    optionsAt,
    fresh: () => {
      const user = prepared.make().user;
      const options = user[optionsAt] as Record<string, unknown>;
      for (const k of outputOptions(op)) {
        options[k] = new Float32Array(argLength(op, op.options[k].arg, shape.sizes));
      }
      return user;
    },
  };
});

/** The keys a reader of every element of `a` gets: '0', '1', ... */
const indexKeys = (a: readonly unknown[]) => a.map((_, i) => String(i));

function call(api: Api, op: OpCall, args: readonly unknown[]): unknown {
  return (api[op.name] as (...a: unknown[]) => unknown)(...args);
}

/** The tensors of a result: one, or `output` and `sum`. */
function tensorsOf(result: unknown): Tensor[] {
  const r = result as Record<string, Tensor>;
  return 'data' in r ? [r as unknown as Tensor] : [r.output, r.sum];
}

/** Every Float32Array of a fresh argument list: tensors' data and array options. */
function arraysOf(op: OpCall, args: readonly unknown[]): Float32Array[] {
  const arrays = op.tensors.map((t) => (args[t] as Tensor).data);
  for (const v of Object.values(args[op.optionsAt] as object)) {
    if (v instanceof Float32Array) arrays.push(v);
  }
  return arrays;
}

interface Outcome {
  results: Array<{ data: Float32Array; shape: number[] }>;
  /** Every array of the call afterwards (outputs and running statistics written). */
  arrays: Float32Array[];
}

/** The call with plain values: what the first-read values must give. */
function baseline(api: Api, op: OpCall): Outcome {
  const args = op.fresh();
  const results = tensorsOf(call(api, op, args)).map((t) => ({
    data: t.data.slice(),
    shape: [...t.shape],
  }));
  return { results, arrays: snapshot(arraysOf(op, args)) as Float32Array[] };
}

/** A result equal to the baseline, with shapes of its own that match its data. */
function expectBaseline(
  result: unknown,
  expected: Outcome,
  arrays: readonly Float32Array[],
  userShapes: readonly unknown[],
): void {
  const got = tensorsOf(result);
  expect(got.length).to.equal(expected.results.length);
  got.forEach((t, i) => {
    expect(Array.isArray(t.shape), 'result.shape is an array').to.equal(true);
    expect(prod(t.shape), 'prod(result.shape)').to.equal(t.data.length);
    expect([...t.shape]).to.deep.equal(expected.results[i].shape);
    for (const s of userShapes)
      expect(t.shape, "result.shape is the caller's array").to.not.equal(s);
    expectSameValues(t.data, expected.results[i].data, `result ${i}`);
  });
  if (got.length === 2) expect(got[0].shape).to.not.equal(got[1].shape);
  arrays.forEach((a, i) => expectSameValues(a, expected.arrays[i], `array ${i} after the call`));
}

/** A wrong value of the same key, to answer a second read with. */
function wrongValue(v: unknown): unknown {
  if (v instanceof Float32Array) return new Float32Array(v.length + 1);
  if (typeof v === 'number') return NaN;
  if (typeof v === 'boolean') return 'yes';
  if (typeof v === 'string') return 'channels_sideways';
  if (Array.isArray(v)) return [...v, 2];
  return undefined;
}

/** A copy of `o` with `key` moved last, as a getter returning `get()`. */
function withLastGetter(o: object, key: string, get: () => unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...o };
  delete copy[key];
  Object.defineProperty(copy, key, { enumerable: true, configurable: true, get });
  return copy;
}

for (const op of OPS) {
  describe(`${op.name} reads each user value once`, () => {
    for (const [label, api] of BACKENDS) {
      describe(label, () => {
        let expected: Outcome;
        before(() => {
          expected = baseline(api, op);
        });

        it('reads data, shape, each shape element and each option exactly once', () => {
          const args = op.fresh();
          const arrays = arraysOf(op, args);
          const counted: Array<[string, ReadCounts, PropertyKey[]]> = [];
          const userShapes: unknown[] = [];
          for (const t of op.tensors) {
            const { data, shape } = args[t] as Tensor;
            const s = countingProxy([...shape]);
            const o = countingProxy({ data, shape: s.proxy });
            args[t] = o.proxy;
            userShapes.push(s.proxy);
            counted.push([`tensor ${t}`, o.reads, ['data', 'shape']]);
            counted.push([`tensor ${t}.shape`, s.reads, ['length', ...indexKeys(shape)]]);
          }
          if (op.shapeAt !== undefined) {
            const ns = args[op.shapeAt] as number[];
            const s = countingProxy([...ns]);
            args[op.shapeAt] = s.proxy;
            userShapes.push(s.proxy);
            counted.push(['normalizedShape', s.reads, ['length', ...indexKeys(ns)]]);
          }
          const options = args[op.optionsAt] as object;
          const o = countingProxy(options);
          args[op.optionsAt] = o.proxy;
          counted.push(['options', o.reads, Object.keys(options)]);
          const result = call(api, op, args);
          expectBaseline(result, expected, arrays, userShapes);
          for (const [what, reads, keys] of counted) expectReadOnce(reads, keys, what);
          expect(o.reads.ownKeys, 'options listed once').to.equal(1);
        });

        it('uses the first answer of a shape array that answers differently on a second read', () => {
          for (const t of op.tensors) {
            const args = op.fresh();
            const arrays = arraysOf(op, args);
            const { data, shape } = args[t] as Tensor;
            const proxy = changingProxy([...shape], [...shape, 2]);
            args[t] = { data, shape: proxy };
            expectCorrectOrInvalid(
              () => call(api, op, args),
              (r) => expectBaseline(r, expected, arrays, [proxy]),
              arrays,
            );
          }
        });

        it('uses the first answer of tensor getters that answer differently on a second read', () => {
          for (const t of op.tensors) {
            const args = op.fresh();
            const arrays = arraysOf(op, args);
            const { data, shape } = args[t] as Tensor;
            const other = new Float32Array(data.length + 3);
            const first = [...shape];
            args[t] = defineChanging(defineChanging({}, 'data', data, other), 'shape', first, [
              data.length + 3,
            ]);
            expectCorrectOrInvalid(
              () => call(api, op, args),
              (r) => expectBaseline(r, expected, arrays, [first]),
              arrays,
            );
          }
        });

        if (op.shapeAt !== undefined) {
          it('uses the first answer of a normalizedShape that answers differently on a second read', () => {
            const args = op.fresh();
            const arrays = arraysOf(op, args);
            const ns = args[op.shapeAt!] as number[];
            args[op.shapeAt!] = changingProxy([...ns], [3, ...ns.map((d) => d + 1)]);
            expectCorrectOrInvalid(
              () => call(api, op, args),
              (r) => expectBaseline(r, expected, arrays, []),
              arrays,
            );
          });
        }

        it('uses the first answer of an options Proxy that answers differently on a second read', () => {
          const args = op.fresh();
          const arrays = arraysOf(op, args);
          const options = args[op.optionsAt] as Record<string, unknown>;
          const later: Record<string, unknown> = { bogus: 1 };
          for (const [k, v] of Object.entries(options)) later[k] = wrongValue(v);
          args[op.optionsAt] = changingProxy(options, later);
          expectCorrectOrInvalid(
            () => call(api, op, args),
            (r) => expectBaseline(r, expected, arrays, []),
            arrays,
          );
        });

        it('uses the first answer of each option getter that answers differently on a second read', () => {
          const keys = Object.keys(op.fresh()[op.optionsAt] as object);
          for (const key of keys) {
            const args = op.fresh();
            const arrays = arraysOf(op, args);
            const options = args[op.optionsAt] as Record<string, unknown>;
            const first = options[key];
            args[op.optionsAt] = defineChanging({ ...options }, key, first, wrongValue(first));
            expectCorrectOrInvalid(
              () => call(api, op, args),
              (r) => expectBaseline(r, expected, arrays, []),
              arrays,
              `option ${key}`,
            );
          }
        });

        it("is not fooled by an option getter that detaches input.data's buffer", () => {
          const args = op.fresh();
          const input = args[op.tensors[0]] as Tensor;
          const others = arraysOf(op, args).filter((a) => a !== input.data);
          const options = args[op.optionsAt] as Record<string, unknown>;
          const eps = options.eps;
          args[op.optionsAt] = withLastGetter(options, 'eps', () => {
            detach(input.data.buffer);
            return eps;
          });
          const how = expectCorrectOrInvalid(
            () => call(api, op, args),
            (r) => expectBaseline(r, expected, [], []),
            others,
          );
          expect(how, 'a detached input cannot give the result').to.equal('error');
        });

        it('is not fooled by a shape getter that detaches the data read before it', () => {
          const args = op.fresh();
          const { data, shape } = args[op.tensors[0]] as Tensor;
          const others = arraysOf(op, args).filter((a) => a !== data);
          args[op.tensors[0]] = defineChanging({ data }, 'shape', () => {
            detach(data.buffer);
            return shape;
          });
          expectCorrectOrInvalid(
            () => call(api, op, args),
            (r) => expectBaseline(r, expected, [], []),
            others,
          );
          expect(data.length).to.equal(0);
        });

        it('is not fooled by an option getter that detaches an array option read before it', () => {
          const args = op.fresh();
          const options = args[op.optionsAt] as Record<string, unknown>;
          // Every array option in turn: the detached one cannot be written or read.
          const arrayKeys = Object.keys(options).filter((k) => options[k] instanceof Float32Array);
          for (const key of arrayKeys) {
            const a = op.fresh();
            const o = a[op.optionsAt] as Record<string, unknown>;
            const target = o[key] as Float32Array;
            const others = arraysOf(op, a).filter((x) => x !== target);
            const eps = o.eps;
            const ordered = { [key]: target, ...o };
            a[op.optionsAt] = withLastGetter(ordered, 'eps', () => {
              detach(target.buffer);
              return eps;
            });
            const how = expectCorrectOrInvalid(
              () => call(api, op, a),
              (r) => expectBaseline(r, expected, [], []),
              others,
              `detached ${key}`,
            );
            expect(how, `detached ${key}`).to.equal('error');
          }
        });

        if (op.tensors.length === 2) {
          it("is not fooled by a residual getter that detaches input.data's buffer", () => {
            const args = op.fresh();
            const input = args[0] as Tensor;
            const residual = args[1] as Tensor;
            const others = arraysOf(op, args).filter((a) => a !== input.data);
            args[1] = defineChanging({ shape: residual.shape }, 'data', () => {
              detach(input.data.buffer);
              return residual.data;
            });
            const how = expectCorrectOrInvalid(
              () => call(api, op, args),
              (r) => expectBaseline(r, expected, [], []),
              others,
            );
            expect(how).to.equal('error');
          });
        }

        it("returns shapes of its own, unchanged when the caller's arrays change", () => {
          const args = op.fresh();
          const shapes = op.tensors.map((t) => (args[t] as Tensor).shape as number[]);
          const result = tensorsOf(call(api, op, args));
          const before = result.map((t) => [...t.shape]);
          for (const s of shapes) {
            for (const t of result) expect(t.shape).to.not.equal(s);
            s[0] = 1000;
          }
          result.forEach((t, i) => {
            expect([...t.shape]).to.deep.equal(before[i]);
            expect(prod(t.shape)).to.equal(t.data.length);
          });
        });
      });
    }
  });
}

describe('typed arrays are judged by their internal slots, read once', () => {
  for (const [label, api] of BACKENDS) {
    it(`rejects a Proxy over a Float32Array as data (${label})`, () => {
      const data = new Float32Array(8).fill(1);
      const e = () => api.rmsNorm({ data: new Proxy(data, {}), shape: [2, 4] }, 4);
      expect(e).to.throw(TypeError, /^Expected a Float32Array for input\.data, but received/);
    });

    it(`uses the real length of a subclass that lies about it (${label})`, () => {
      class Liar extends Float32Array {
        get length(): number {
          return 8;
        }
      }
      const data = new Liar(6).fill(2);
      expect(() => api.layerNorm({ data, shape: [2, 4] }, 4)).to.throw(RangeError, /input\.data/);
      const out = new Liar(4);
      const y = api.rmsNorm({ data: new Float32Array([3, 4, 3, 4]), shape: [4] }, 4, { out });
      expect(y.data).to.equal(out);
      expect(Array.from(new Float32Array(out.buffer))).to.deep.equal(
        Array.from(api.rmsNorm({ data: new Float32Array([3, 4, 3, 4]), shape: [4] }, 4).data),
      );
    });
  }
});

// ---- module methods, describe* and constructors (default backend) -----------------------------

type Module = {
  forward(input: Tensor, options?: { out?: Float32Array }): Tensor;
  stateDict(): Record<string, unknown>;
  loadStateDict(dict: unknown): void;
  weight?: Float32Array | null;
  bias?: Float32Array | null;
  runningMean?: Float32Array | null;
  runningVar?: Float32Array | null;
  numBatchesTracked?: number;
};

interface ModuleCase {
  name: string;
  make(): Module;
  input(): Tensor;
}

const MODULES: readonly ModuleCase[] = [
  {
    name: 'RMSNorm',
    make: () => new normkit.RMSNorm([4]) as unknown as Module,
    input: () => tensor([3, 4], (i) => Math.sin(i) + 0.5),
  },
  {
    name: 'LayerNorm',
    make: () => new normkit.LayerNorm(4) as unknown as Module,
    input: () => tensor([3, 4], (i) => Math.cos(i) * 2),
  },
  {
    name: 'GroupNorm',
    make: () => new normkit.GroupNorm(2, 4) as unknown as Module,
    input: () => tensor([2, 4, 3], (i) => Math.sin(i * 1.7)),
  },
  {
    name: 'InstanceNorm1d (affine, tracking)',
    make: () =>
      new normkit.InstanceNorm1d(3, { affine: true, trackRunningStats: true }) as unknown as Module,
    input: () => tensor([2, 3, 4], (i) => Math.cos(i * 0.3) * 3),
  },
  {
    name: 'InstanceNorm2d (unbatched)',
    make: () => new normkit.InstanceNorm2d(2, { trackRunningStats: true }) as unknown as Module,
    input: () => tensor([2, 3, 2], (i) => Math.sin(i * 0.8) * 2),
  },
  {
    name: 'BatchNorm1d',
    make: () => new normkit.BatchNorm1d(3) as unknown as Module,
    input: () => tensor([4, 3, 2], (i) => Math.sin(i * 0.5)),
  },
];

interface ModuleState {
  arrays: Array<Float32Array | null>;
  numBatchesTracked: number | undefined;
}

function stateOf(m: Module): ModuleState {
  return {
    arrays: snapshot([m.weight, m.bias, m.runningMean, m.runningVar]),
    numBatchesTracked: m.numBatchesTracked,
  };
}

function expectState(m: Module, s: ModuleState, label: string): void {
  const now = stateOf(m);
  now.arrays.forEach((a, i) => {
    if (a) expectSameValues(a, s.arrays[i]!, `${label}: state array ${i}`);
    else expect(s.arrays[i]).to.equal(null);
  });
  expect(now.numBatchesTracked, `${label}: numBatchesTracked`).to.equal(s.numBatchesTracked);
}

/** A state dict for `m` with every array a fresh, distinct value. */
function dictFor(m: Module): Record<string, unknown> {
  const d = m.stateDict();
  let k = 0;
  for (const key of Object.keys(d)) {
    const v = d[key];
    if (v instanceof Float32Array) d[key] = seq(v.length, (i) => 1.5 + i + 10 * k++);
    else d[key] = 5;
  }
  return d;
}

describe('module methods read each user value once', () => {
  for (const c of MODULES) {
    describe(c.name, () => {
      // The forward of a fresh module with plain values: what the first-read values must give.
      const forwardBaseline = () => {
        const m = c.make();
        const x = c.input();
        const out = new Float32Array(x.data.length);
        const y = m.forward(x, { out });
        return { data: y.data.slice(), shape: [...y.shape], state: stateOf(m) };
      };

      it('forward reads data, shape, each element and out once, returning a shape of its own', () => {
        const expected = forwardBaseline();
        const m = c.make();
        const x = c.input();
        const s = countingProxy([...x.shape]);
        const t = countingProxy({ data: x.data, shape: s.proxy });
        const out = new Float32Array(x.data.length);
        const o = countingProxy({ out });
        const y = m.forward(t.proxy as Tensor, o.proxy);
        expectReadOnce(t.reads, ['data', 'shape'], 'input');
        expectReadOnce(s.reads, ['length', ...indexKeys(x.shape)], 'input.shape');
        expectReadOnce(o.reads, ['out'], 'options');
        expect(y.data).to.equal(out);
        expectSameValues(y.data, expected.data);
        expect(y.shape).to.not.equal(s.proxy);
        expect([...y.shape]).to.deep.equal(expected.shape);
        expect(prod(y.shape)).to.equal(y.data.length);
        expectState(m, expected.state, 'after forward');
      });

      it('forward uses the first answer of values that change on a second read', () => {
        const expected = forwardBaseline();
        const variants: Array<[string, (x: Tensor, out: Float32Array) => [unknown, unknown]]> = [
          [
            'shape Proxy',
            (x, out) => [
              { data: x.data, shape: changingProxy([...x.shape], [1, ...x.shape]) },
              { out },
            ],
          ],
          [
            'data getter',
            (x, out) => [
              defineChanging({ shape: x.shape }, 'data', x.data, new Float32Array(2)),
              { out },
            ],
          ],
          [
            'options Proxy',
            (x, out) => [x, changingProxy({ out }, { out: new Float32Array(1), extra: 1 })],
          ],
          ['out getter', (x, out) => [x, defineChanging({}, 'out', out, new Float32Array(3))]],
        ];
        for (const [what, make] of variants) {
          const m = c.make();
          const before = stateOf(m);
          const x = c.input();
          const out = new Float32Array(x.data.length);
          const [input, options] = make(x, out);
          const how = expectCorrectOrInvalid(
            () => m.forward(input as Tensor, options as { out: Float32Array }),
            (y) => {
              expectSameValues(y.data, expected.data, what);
              expect([...y.shape]).to.deep.equal(expected.shape);
              expect(prod(y.shape)).to.equal(y.data.length);
              expectState(m, expected.state, what);
            },
            [x.data],
            what,
          );
          if (how === 'error') expectState(m, before, what);
        }
      });

      it("forward is not fooled by an out getter that detaches input.data's buffer", () => {
        const m = c.make();
        m.forward(c.input()); // some state to keep
        const before = stateOf(m);
        const x = c.input();
        const out = new Float32Array(x.data.length).fill(4);
        const options = defineChanging({}, 'out', () => {
          detach(x.data.buffer);
          return out;
        });
        const how = expectCorrectOrInvalid(
          () => m.forward(x, options),
          () => {},
          [out],
        );
        expect(how).to.equal('error');
        expectState(m, before, 'after the detach');
      });

      it('loadStateDict reads each key once and loads the first-read values', () => {
        const m = c.make();
        const dict = dictFor(m);
        const keys = Object.keys(dict);
        const d = countingProxy({ ...dict });
        m.loadStateDict(d.proxy);
        expectReadOnce(d.reads, keys, 'dict');
        expect(d.reads.ownKeys).to.equal(1);
        const loaded = m.stateDict();
        expect(Object.keys(loaded).sort()).to.deep.equal([...keys].sort());
        for (const key of keys) {
          if (dict[key] instanceof Float32Array)
            expectSameValues(loaded[key] as Float32Array, dict[key] as Float32Array, key);
          else expect(loaded[key]).to.equal(dict[key]);
        }
      });

      it('loadStateDict uses the first answer of values that change on a second read', () => {
        const reference = c.make();
        const dict = dictFor(reference);
        reference.loadStateDict(dict);
        const expected = stateOf(reference);
        const later: Record<string, unknown> = { extra: new Float32Array(1) };
        for (const [k, v] of Object.entries(dict))
          later[k] = v instanceof Float32Array ? new Float32Array(v.length + 1) : -1;
        const variants: Array<[string, () => unknown]> = [
          ['dict Proxy', () => changingProxy({ ...dict }, later)],
          ...Object.keys(dict).map(
            (key) =>
              [`${key} getter`, () => defineChanging({ ...dict }, key, dict[key], later[key])] as [
                string,
                () => unknown,
              ],
          ),
        ];
        for (const [what, make] of variants) {
          const m = c.make();
          const before = stateOf(m);
          const how = expectCorrectOrInvalid(
            () => m.loadStateDict(make()),
            () => expectState(m, expected, what),
            [],
            what,
          );
          if (how === 'error') expectState(m, before, what);
        }
      });

      it('loadStateDict is not fooled by a getter that detaches an array read before it, changing nothing', () => {
        const keys = Object.keys(dictFor(c.make()));
        for (const key of keys) {
          const m = c.make();
          m.forward(c.input());
          const before = stateOf(m);
          const dict = dictFor(m);
          const target = dict[key];
          const rest = keys.filter((k) => k !== key);
          if (!(target instanceof Float32Array) || rest.length === 0) continue;
          // `key` first, the other keys after it, the last of them a getter that detaches it.
          const ordered: Record<string, unknown> = { [key]: target };
          for (const k of rest) ordered[k] = dict[k];
          const lastKey = rest[rest.length - 1];
          const d = withLastGetter(ordered, lastKey, () => {
            detach(target.buffer);
            return dict[lastKey];
          });
          const how = expectCorrectOrInvalid(
            () => m.loadStateDict(d),
            () => {},
            [],
            key,
          );
          expect(how, `detached ${key}`).to.equal('error');
          expectState(m, before, `detached ${key}`);
        }
      });
    });
  }
});

describe('describe* read each shape element once', () => {
  // Each op's describe* on a [2, 6, 4] shape: normalizedShape its last two axes, numGroups the
  // largest count the op accepts.
  const cases = OP_LIST.map((op) => {
    const { shape, normalizedShape, counts } = opShapes(op, [2, 6, 4], [2])[0];
    const name = `describe${pascal(op.name)}`;
    const describe = (normkit as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
    const second = normalizedShape ?? Object.values(counts)[0];
    const fn = (sh: unknown, n: unknown) => (second === undefined ? describe(sh) : describe(sh, n));
    return [name, fn, shape, second] as const;
  });
  for (const [name, fn, shape, second] of cases) {
    it(`${name} reads once and uses the first answer`, () => {
      const expected = fn(shape, second);
      const s = countingProxy([...shape]);
      const n = Array.isArray(second) ? countingProxy([...second]) : null;
      expect(fn(s.proxy, n ? n.proxy : second)).to.deep.equal(expected);
      expectReadOnce(s.reads, ['length', ...indexKeys(shape)], 'shape');
      if (n)
        expectReadOnce(n.reads, ['length', ...indexKeys(second as number[])], 'normalizedShape');
      const changing = fn(
        changingProxy([...shape], [...shape, 7]),
        Array.isArray(second) ? changingProxy([...second], [9, 9]) : second,
      );
      expect(changing).to.deep.equal(expected);
    });
  }
});

describe('module constructors read each option once', () => {
  it('RMSNorm and LayerNorm read normalizedShape and their options once', () => {
    for (const make of [
      (ns: unknown, o: unknown) => new normkit.RMSNorm(ns as number[], o as object),
      (ns: unknown, o: unknown) => new normkit.LayerNorm(ns as number[], o as object),
    ]) {
      const ns = countingProxy([2, 3]);
      const o = countingProxy({ eps: 0.5, elementwiseAffine: true });
      const m = make(ns.proxy, o.proxy);
      expectReadOnce(ns.reads, ['length', '0', '1'], 'normalizedShape');
      expectReadOnce(o.reads, ['eps', 'elementwiseAffine'], 'options');
      expect([...m.normalizedShape]).to.deep.equal([2, 3]);
      expect(m.normalizedShape).to.not.equal(ns.proxy);
      const c = make(changingProxy([2, 3], [5]), changingProxy({ eps: 0.5 }, { eps: -1, bias: 1 }));
      expect([...c.normalizedShape]).to.deep.equal([2, 3]);
      expect(c.eps).to.equal(0.5);
      expect(c.weight!.length).to.equal(6);
    }
  });

  it('GroupNorm, InstanceNorm and BatchNorm read their options once', () => {
    for (const make of [
      (o: unknown) => new normkit.GroupNorm(2, 4, o as object),
      (o: unknown) => new normkit.InstanceNorm2d(4, o as object),
      (o: unknown) => new normkit.BatchNorm2d(4, o as object),
    ]) {
      const first: Record<string, unknown> = { eps: 0.25, affine: true, layout: 'channels_last' };
      if (!(make({}) instanceof normkit.GroupNorm)) {
        first.momentum = 0.5;
        first.trackRunningStats = true;
      }
      const o = countingProxy({ ...first });
      const m = make(o.proxy) as { eps: number; layout: string; affine: boolean };
      expectReadOnce(o.reads, Object.keys(first), 'options');
      expect(o.reads.ownKeys).to.equal(1);
      const later: Record<string, unknown> = { extra: 1 };
      for (const k of Object.keys(first)) later[k] = wrongValue(first[k]);
      const c = make(changingProxy({ ...first }, later)) as typeof m;
      for (const key of Object.keys(first))
        expect((c as unknown as Record<string, unknown>)[key], key).to.equal(first[key]);
      expect(m.layout).to.equal('channels_last');
    }
  });
});
