// The raw addon called directly, past the TypeScript checks: the one generic binding
// (native/binding/ops.cc, its table generated from the op descriptors) must re-check every kind,
// length and alias it relies on and throw, never read or write out of bounds. Every test here is
// generated from each op's descriptor: its `args` say what to get wrong and how the error must
// name it; the descriptor's reference kernel says what a correct call computes.
import { receiveMessageOnPort, MessageChannel } from 'worker_threads';
import * as path from 'path';
import { expect } from 'chai';
import * as normkit from 'normkit';
import {
  checkAccepts,
  copyArgs,
  flagCombos,
  kernelArgs,
  lengthOf,
  positional,
  required,
  SENTINEL,
  writingFlags,
} from './helpers/kernel-args';
import { opShapes, TOL, type OpShape } from './helpers/op-cases';
import { mismatches } from './helpers/conformance';
import {
  addonStatus,
  asApi,
  isArrayArg,
  isWritten,
  OP_LIST,
  type ArgSpec,
  type Fn,
  type OpDescriptor,
} from './helpers/ops';
import { childScript, expectSameValues, parseReport, REPO_ROOT, runNode } from './helpers/tensors';

const { addon, missing } = addonStatus();

/** The base shape of an op's negative tests: every size and array length at least 2. */
function baseShape(op: OpDescriptor): OpShape {
  const s = opShapes(op, [2, 6, 5]).find((x) =>
    op.args.every((a) => !isArrayArg(a) || lengthOf(a, x.sizes) >= 2),
  );
  if (!s) throw new Error(`${op.name}: no base shape`);
  return s;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The error of `fn()`, which must be a `kind` worded `Expected ... for <label>, but received ...`. */
function expectRejected(
  fn: () => unknown,
  kind: typeof TypeError | typeof RangeError,
  labels: readonly string[],
): Error {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `expected a ${kind.name} naming ${labels.join(' and ')}`).to.be.instanceOf(kind);
  const message = (error as Error).message;
  expect(message).to.match(/^Expected .+ for .+, but received .+/);
  for (const label of labels) expect(message).to.match(new RegExp(`\\b${escape(label)}\\b`));
  return error as Error;
}

/** Copies of every array of a call, to show afterwards that a rejected call wrote none. */
function arraysOf(byName: Record<string, unknown>): Array<[string, Float32Array, Float32Array]> {
  return Object.entries(byName).flatMap(([k, v]) =>
    v instanceof Float32Array ? [[k, v, v.slice()] as [string, Float32Array, Float32Array]] : [],
  );
}
function expectAllUnchanged(arrays: Array<[string, Float32Array, Float32Array]>): void {
  for (const [k, now, before] of arrays)
    expectSameValues(now, before, `${k} after a rejected call`);
}

describe('binding layer (raw addon)', function () {
  before(function () {
    if (!addon) {
      // Only acceptable where the package itself runs without the addon.
      expect(normkit.backend, 'the addon does not load but the package says native').to.equal('js');
      this.skip();
    }
  });

  it('is the same module as build/Release/normkit.node', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const direct = require(path.join(REPO_ROOT, 'build', 'Release', 'normkit.node')) as Record<
      string,
      Fn
    >;
    expect(direct.getNumThreads).to.equal(addon!.getNumThreads);
    expect(Object.keys(addon!)).to.include.members(['getNumThreads', 'setNumThreads', 'simdPath']);
  });

  it("exports every descriptor's kernel", function () {
    if (missing.length) this.skip(); // a build older than the descriptors: see the per-op suites
    for (const op of OP_LIST) expect(addon![op.kernel], op.kernel).to.be.a('function');
  });

  for (const op of OP_LIST) {
    describe(`${op.kernel}(${op.args.map((a) => a.name).join(', ')})`, function () {
      let kernel: Fn;
      before(function () {
        // The addon registers every kernel from one generated table: one missing means a build
        // older than the descriptors, whose other kernels take other arguments too.
        if (!addon || missing.length) this.skip();
        kernel = addon[op.kernel];
      });

      const arrays = op.args.filter(isArrayArg);
      const base = baseShape(op);
      const call = (byName: Record<string, unknown>) => kernel(...positional(op, byName));

      it('computes what the reference kernel computes, saved statistics and states included', () => {
        const shapes = [
          [2, 6, 5],
          [3, 4, 7, 2],
          [5, 3],
        ].flatMap((s) => opShapes(op, s, [1, 2]));
        let seed = 1;
        for (const s of shapes) {
          for (const flags of flagCombos(op)) {
            for (const bare of [false, true]) {
              const label = `${s.label} ${JSON.stringify(flags)}${bare ? ' without optional arrays' : ''}`;
              const got = kernelArgs(op, s.sizes, { flags, bare, seed: seed++ });
              // Calls the op itself rejects (one value per channel in training) are left out.
              if (!checkAccepts(op, s, got)) continue;
              const want = copyArgs(got);
              call(got);
              op.reference(...(positional(op, want) as Parameters<typeof op.reference>));
              for (const a of arrays) {
                const g = got[a.name] as Float32Array | null;
                const w = want[a.name] as Float32Array | null;
                if (!w) continue;
                const bad = mismatches(g!, w, TOL);
                expect(bad, `${label}: ${a.name}`).to.deep.equal([]);
                if (isWritten(a, got)) {
                  expect(g!.includes(SENTINEL), `${label}: ${a.name} fully written`).to.equal(
                    false,
                  );
                }
              }
            }
          }
        }
      });

      for (const a of arrays) {
        const flags = writingFlags(op);
        it(`${a.name}: not a Float32Array is a TypeError naming ${a.label}, nothing written`, () => {
          const len = lengthOf(a, base.sizes);
          const wrongs: unknown[] = [new Float64Array(len), Array.from({ length: len }, () => 1)];
          wrongs.push(new Int32Array(len), new Uint8Array(len * 4), 'data', 3, {});
          if (required(a, flags)) wrongs.push(null, undefined);
          for (const wrong of wrongs) {
            const byName = kernelArgs(op, base.sizes, { flags });
            const before = arraysOf(byName);
            byName[a.name] = wrong;
            expectRejected(() => call(byName), TypeError, [a.label]);
            expectAllUnchanged(before);
          }
        });

        it(`${a.name}: one element more or fewer is a RangeError naming ${a.label}, nothing written`, () => {
          const len = lengthOf(a, base.sizes);
          for (const n of [len - 1, len + 1, 0]) {
            if (n === len) continue;
            const byName = kernelArgs(op, base.sizes, { flags });
            const before = arraysOf(byName);
            byName[a.name] = new Float32Array(n).fill(SENTINEL);
            expectRejected(() => call(byName), RangeError, [a.label]);
            expectAllUnchanged(before);
          }
        });

        if (a.role === 'state') {
          it(`${a.name}: required when ${a.writtenWhen} is false (it is read), optional when true`, () => {
            const read = kernelArgs(op, base.sizes, { flags: { [a.writtenWhen!]: false } });
            const before = arraysOf(read);
            read[a.name] = null;
            expectRejected(() => call(read), TypeError, [a.label]);
            expectAllUnchanged(before);
            const written = kernelArgs(op, base.sizes, { flags: { [a.writtenWhen!]: true } });
            written[a.name] = null;
            expect(() => call(written)).to.not.throw();
          });
        }
      }

      // Every array the kernel writes, against every other array of the call: a partial overlap
      // is rejected naming both, and so is the same memory, except where the descriptor allows
      // the written array to be that input itself (in place).
      const flags = writingFlags(op);
      const probe = kernelArgs(op, base.sizes, { flags });
      for (const w of arrays.filter((x) => isWritten(x, probe))) {
        for (const o of arrays.filter((x) => x !== w)) {
          it(`${w.name} overlapping ${o.name}: RangeError naming ${w.label} and ${o.label}, nothing written`, () => {
            const lw = lengthOf(w, base.sizes);
            const lo = lengthOf(o, base.sizes);
            // One element shared, with o first and with w first.
            for (const wFirst of [false, true]) {
              const byName = kernelArgs(op, base.sizes, { flags });
              const shared = new Float32Array(lw + lo - 1).fill(SENTINEL);
              const ov = wFirst ? shared.subarray(lw - 1) : shared.subarray(0, lo);
              const wv = wFirst ? shared.subarray(0, lw) : shared.subarray(lo - 1);
              if (o.role !== 'output' && o.role !== 'saved') ov.set(byName[o.name] as Float32Array);
              byName[o.name] = ov;
              byName[w.name] = wv;
              const before = arraysOf(byName);
              const sharedBefore = shared.slice();
              expectRejected(() => call(byName), RangeError, [w.label, o.label]);
              expectAllUnchanged(before);
              expectSameValues(shared, sharedBefore, 'the shared buffer');
            }
          });

          if (lengthOf(w, base.sizes) !== lengthOf(o, base.sizes)) continue;
          const allowed = (w.inPlace ?? []).includes(o.name);
          it(`${w.name} as ${o.name} itself: ${allowed ? 'in place, as the reference computes it' : `RangeError naming ${w.label} and ${o.label}`}`, () => {
            const byName = kernelArgs(op, base.sizes, { flags });
            if (!allowed) {
              byName[w.name] = byName[o.name];
              const before = arraysOf(byName);
              expectRejected(() => call(byName), RangeError, [w.label, o.label]);
              expectAllUnchanged(before);
              return;
            }
            const want = copyArgs(byName);
            op.reference(...(positional(op, want) as Parameters<typeof op.reference>));
            byName[w.name] = byName[o.name];
            call(byName);
            expect(
              mismatches(byName[w.name] as Float32Array, want[w.name] as Float32Array, TOL),
            ).to.deep.equal([]);
          });
        }
      }

      const sizes = op.args.filter((a) => a.kind === 'size');
      it('sizes: negative, fractional, above 2^53 or not finite are RangeErrors naming input.shape', () => {
        for (const s of sizes) {
          for (const bad of [-1, -0.5, 2.5, 2 ** 53 + 2, 2 ** 64, NaN, Infinity, -Infinity]) {
            const byName = kernelArgs(op, base.sizes, { flags });
            const before = arraysOf(byName);
            byName[s.name] = bad;
            expectRejected(() => call(byName), RangeError, [s.label]);
            expectAllUnchanged(before);
          }
          for (const bad of ['3', null, undefined, 3n, true]) {
            const byName = kernelArgs(op, base.sizes, { flags });
            byName[s.name] = bad;
            expectRejected(() => call(byName), TypeError, [s.label]);
          }
        }
      });

      it('sizes whose product overflows 64 bits are RangeErrors, not a wrapped-around length', () => {
        for (const a of arrays.filter((x) => (x.length ?? []).length >= 2)) {
          for (const big of [2 ** 32, 2 ** 53]) {
            const byName = kernelArgs(op, base.sizes, { flags });
            const before = arraysOf(byName);
            for (const s of a.length!) byName[s] = big;
            const e = expectRejected(() => call(byName), RangeError, []);
            // The first array whose length uses them fails, on the overflow or on its length.
            expect(e.message).to.match(/fits in 64 bits|elements for/);
            expectAllUnchanged(before);
          }
        }
        // The input's sizes all at 2^32: the overflow itself.
        const input = arrays[0];
        const byName = kernelArgs(op, base.sizes, { flags });
        for (const s of input.length!) byName[s] = 2 ** 32;
        const e = expectRejected(() => call(byName), RangeError, ['input.shape']);
        expect(e.message).to.match(/product fits in 64 bits/);
      });

      it('sizes that promise more than the arrays hold are RangeErrors naming the array', () => {
        for (const s of sizes) {
          const byName = kernelArgs(op, base.sizes, { flags });
          const before = arraysOf(byName);
          byName[s.name] = (base.sizes[s.name] as number) + 1;
          const users = arrays.filter(
            (a) => (a.length ?? []).includes(s.name) && byName[a.name] !== null,
          );
          if (!users.length) continue;
          const e = expectRejected(() => call(byName), RangeError, []);
          expect(users.map((a) => a.label).some((l) => e.message.includes(`for ${l},`))).to.equal(
            true,
          );
          expectAllUnchanged(before);
        }
      });

      it('flags and scalars of the wrong type are TypeErrors naming them', () => {
        for (const a of op.args.filter((x) => x.kind === 'bool' || x.kind === 'number')) {
          const wrongs =
            a.kind === 'bool' ? [0, 1, 'yes', null, undefined] : ['1e-5', null, undefined, 1n];
          for (const wrong of wrongs) {
            const byName = kernelArgs(op, base.sizes, { flags });
            const before = arraysOf(byName);
            byName[a.name] = wrong;
            expectRejected(() => call(byName), TypeError, [a.label]);
            expectAllUnchanged(before);
          }
        }
      });

      it('missing arguments are TypeErrors naming one that is required', () => {
        const full = positional(op, kernelArgs(op, base.sizes, { flags }));
        for (let n = 0; n < op.args.length; n++) {
          const left = op.args.slice(n).filter((a) => !isArrayArg(a) || required(a, flags));
          if (!left.length) {
            expect(() => kernel(...full.slice(0, n))).to.not.throw();
            continue;
          }
          const e = expectRejected(() => kernel(...full.slice(0, n)), TypeError, []);
          const named = left.map((a) => a.label).filter((l) => e.message.includes(`for ${l},`));
          expect(named, e.message).to.not.be.empty;
        }
      });

      it('any size from 0 up, arrays to match: no crash, no write outside an array (child process)', function () {
        this.timeout(30000);
        const helper = path.join(__dirname, 'helpers', 'kernel-args.js');
        const cases = path.join(__dirname, 'helpers', 'op-cases.js');
        const ops = path.join(__dirname, 'helpers', 'ops.js');
        const body = [
          `const { sizeSweep } = require(${JSON.stringify(helper)});`,
          `const { opShapes } = require(${JSON.stringify(cases)});`,
          `const { OPS, addonStatus } = require(${JSON.stringify(ops)});`,
          `const op = OPS[${JSON.stringify(op.name)}];`,
          `const base = opShapes(op, [2, 6, 5]).find((s) => Object.values(s.sizes).every((v) => v >= 2));`,
          'const kernel = addonStatus().addon[op.kernel];',
          "result = sizeSweep(op, kernel, base, [0, 1, 3, 4, 7, 13], (w) => process.stderr.write(w + '\\n'));",
        ].join('\n');
        const r = runNode(['-e', childScript(body)]);
        const lines = r.stderr.trim().split('\n');
        expect(
          r.status,
          `child exited ${r.status} (signal?) during: ${lines[lines.length - 1]}`,
        ).to.equal(0);
        expect(parseReport<string[]>(r).result).to.deep.equal([]);
      });
    });
  }

  describe('SharedArrayBuffer views of the same memory through different buffer objects', () => {
    // Two SharedArrayBuffer objects over one memory (structuredClone, a message round trip)
    // look unrelated to JavaScript; the binding compares addresses, so it still sees the overlap.
    const secondObject: Array<[string, (sab: SharedArrayBuffer) => SharedArrayBuffer]> = [
      ['the same object', (sab) => sab],
      ['structuredClone', (sab) => structuredClone(sab)],
      [
        'a MessageChannel round trip',
        (sab) => {
          const { port1, port2 } = new MessageChannel();
          port1.postMessage(sab);
          const m = receiveMessageOnPort(port2)!.message as SharedArrayBuffer;
          port1.close();
          return m;
        },
      ],
    ];

    for (const op of OP_LIST) {
      const outs = op.args.filter((a) => a.role === 'output' && (a.inPlace ?? []).length);
      for (const w of outs) {
        const inputName = w.inPlace![0];
        for (const [how, second] of secondObject) {
          it(`${op.kernel}: ${w.name} over ${inputName}'s memory via ${how}: partial rejected, exact in place`, function () {
            if (!addon || missing.length) this.skip();
            const base = baseShape(op);
            const input = op.args.find((a) => a.name === inputName) as ArgSpec;
            const len = lengthOf(input, base.sizes);
            const flags = writingFlags(op);
            const sab = new SharedArrayBuffer((len + 1) * 4);
            const byName = kernelArgs(op, base.sizes, { flags });
            const x = new Float32Array(sab, 0, len);
            x.set(byName[inputName] as Float32Array);
            const other = second(sab);
            expect(new Float32Array(other)[0]).to.equal(x[0]);
            byName[inputName] = x;
            byName[w.name] = new Float32Array(other, 4, len);
            const bytes = new Uint8Array(sab).slice();
            expectRejected(() => addon![op.kernel](...positional(op, byName)), RangeError, [
              w.label,
              input.label,
            ]);
            expect(Buffer.from(new Uint8Array(sab)).equals(Buffer.from(bytes))).to.equal(true);
            // The same address and length is the input itself: in place, allowed.
            const want = copyArgs(byName);
            want[w.name] = new Float32Array(len);
            op.reference(...(positional(op, want) as Parameters<typeof op.reference>));
            byName[w.name] = new Float32Array(other, 0, len);
            addon![op.kernel](...positional(op, byName));
            expect(mismatches(x, want[w.name] as Float32Array, TOL)).to.deep.equal([]);
          });
        }
      }
    }

    it('through the public API on the native backend, the binding rejects what JavaScript cannot see', function () {
      const op = OP_LIST.find((o) => o.params[0].kind === 'tensor' && 'out' in o.options)!;
      if (normkit.backend !== 'native' || missing.includes(op.kernel)) this.skip();
      const shape = [4, 8];
      const sab = new SharedArrayBuffer((32 + 1) * 4);
      const x = new Float32Array(sab, 0, 32);
      x.forEach((_, i) => (x[i] = Math.sin(i)));
      const out = new Float32Array(structuredClone(sab), 4, 32);
      const user = op.params.map((p) =>
        p.kind === 'tensor'
          ? { data: p.name === 'input' ? x : x.slice(), shape }
          : p.kind === 'normalizedShape'
            ? [8]
            : p.kind === 'count'
              ? 1
              : { out },
      );
      const before = x.slice();
      expectRejected(() => asApi(normkit)[op.name](...user), RangeError, ['out']);
      expectSameValues(x, before, 'input');
    });
  });

  describe('runtime functions', () => {
    let original = 1;
    before(() => {
      original = addon!.getNumThreads() as number;
    });
    after(() => {
      addon!.setNumThreads(original);
    });

    it('setNumThreads rejects bad counts', () => {
      expect(() => addon!.setNumThreads(0)).to.throw(RangeError);
      expect(() => addon!.setNumThreads(5000)).to.throw(RangeError);
      expect(() => addon!.setNumThreads(-1)).to.throw(RangeError);
      expect(() => addon!.setNumThreads('2')).to.throw(TypeError);
      expect(() => addon!.setNumThreads()).to.throw(TypeError);
      expect(addon!.getNumThreads()).to.equal(original);
    });

    it('copyBaseline rejects a short y', () => {
      const y = new Float32Array(3).fill(7);
      expect(() => addon!.copyBaseline(new Float32Array(4), y, 1, 0)).to.throw(RangeError, /y/);
      expect(() => addon!.copyBaseline(new Float64Array(4), new Float32Array(4), 1, 0)).to.throw(
        TypeError,
        /x/,
      );
      expectSameValues(y, [7, 7, 7]);
      const ok = new Float32Array(4);
      addon!.copyBaseline(Float32Array.from([1, 2, 3, 4]), ok, 2, 1);
      expectSameValues(ok, [3, 5, 7, 9]);
    });

    it('every kernel still computes after all the rejected calls', function () {
      if (missing.length) this.skip();
      for (const op of OP_LIST) {
        const base = baseShape(op);
        const flags = writingFlags(op);
        const got = kernelArgs(op, base.sizes, { flags });
        const want = copyArgs(got);
        addon![op.kernel](...positional(op, got));
        op.reference(...(positional(op, want) as Parameters<typeof op.reference>));
        for (const a of op.args.filter((x) => isWritten(x, got))) {
          expect(
            mismatches(got[a.name] as Float32Array, want[a.name] as Float32Array, TOL),
            `${op.name} ${a.name}`,
          ).to.deep.equal([]);
        }
      }
    });
  });
});
