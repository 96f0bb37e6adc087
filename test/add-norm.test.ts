// addLayerNorm and addRmsNorm (and their describe* functions): the fused residual add and norm
// of a transformer block against the unfused pair (sum exactly input + residual rounded to
// float32; output the norm of that sum), every in-place combination of out and sumOut, and the
// argument checks. Both ops share one table of checks; everything runs on both backends.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { AddNormResult, Tensor } from 'normkit';
import { mulberry32, randomFloats } from './helpers/prng';
import {
  type ArgumentCase,
  describeArgumentCases,
  expectClose,
  expectInvalid,
  expectSameValues,
  expectUnchanged,
  prod,
  snapshot,
} from './helpers/tensors';

type Api = typeof normkit.reference;
const BACKENDS: ReadonlyArray<readonly [string, Api]> = [
  ['default backend', normkit],
  ['reference', normkit.reference],
];

interface FusedOptions {
  weight?: Float32Array | null;
  bias?: Float32Array | null;
  eps?: number | null;
  out?: Float32Array;
  sumOut?: Float32Array;
}

/** One fused op and its unfused norm, called the same way. */
interface Fused {
  name: 'addLayerNorm' | 'addRmsNorm';
  norm: 'layerNorm' | 'rmsNorm';
  hasBias: boolean;
  defaultEps: number;
  fused(api: Api, input: unknown, residual: unknown, ns: unknown, o?: unknown): AddNormResult;
  unfused(api: Api, input: Tensor, ns: number | number[], o?: FusedOptions): Tensor;
}

const FUSED: readonly Fused[] = [
  {
    name: 'addLayerNorm',
    norm: 'layerNorm',
    hasBias: true,
    defaultEps: 1e-5,
    fused: (api, i, r, ns, o) =>
      api.addLayerNorm(i as Tensor, r as Tensor, ns as number, o as never),
    unfused: (api, i, ns, o) => api.layerNorm(i, ns, o as never),
  },
  {
    name: 'addRmsNorm',
    norm: 'rmsNorm',
    hasBias: false,
    defaultEps: 2 ** -23,
    fused: (api, i, r, ns, o) => api.addRmsNorm(i as Tensor, r as Tensor, ns as number, o as never),
    unfused: (api, i, ns, o) => api.rmsNorm(i, ns, o as never),
  },
];

const rng = mulberry32(0xadd5);

function randomTensor(shape: number[], mean = 0, std = 1): Tensor {
  return { data: randomFloats(rng, prod(shape), mean, std), shape };
}

/** input + residual, each sum rounded to float32. */
function float32Sum(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: a.length }, (_, i) => a[i] + b[i]);
}

for (const op of FUSED) {
  describe(op.name, () => {
    for (const [label, api] of BACKENDS) {
      describe(`semantics (${label})`, () => {
        it('gives the worked example: [1, 2, 3, 4] + [1, 1, 1, 1]', () => {
          const x: Tensor = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] };
          const residual: Tensor = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 4] };
          const { output, sum } = op.fused(api, x, residual, 4);
          expectSameValues(sum.data, [2, 3, 4, 5], 'sum');
          expect(sum.shape).to.deep.equal([1, 4]);
          expect(output.shape).to.deep.equal([1, 4]);
          if (op.hasBias) {
            const s = Math.sqrt(1.25 + 1e-5); // mean 3.5, biased variance 1.25
            expectClose(output.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
          } else {
            const s = Math.sqrt(13.5 + 2 ** -23); // mean square (4 + 9 + 16 + 25) / 4
            expectClose(output.data, [2 / s, 3 / s, 4 / s, 5 / s]);
          }
          expectSameValues(x.data, [1, 2, 3, 4], 'input unchanged');
          expectSameValues(residual.data, [1, 1, 1, 1], 'residual unchanged');
        });

        for (const [shape, ns] of [
          [[4, 8], 8],
          [[2, 3, 5], [5]],
          [
            [2, 3, 5],
            [3, 5],
          ],
          [[7], [7]],
        ] as Array<[number[], number | number[]]>) {
          it(`equals the unfused pair on [${shape}] over [${ns}], with and without parameters`, () => {
            const x = randomTensor(shape, 1, 2);
            const residual = randomTensor(shape, -0.5, 3);
            const cols = prod(typeof ns === 'number' ? [ns] : ns);
            const weight = randomFloats(rng, cols);
            const affine: FusedOptions = { weight, eps: 0.01 };
            if (op.hasBias) affine.bias = randomFloats(rng, cols);
            for (const o of [{}, affine]) {
              const { output, sum } = op.fused(api, x, residual, ns, o);
              const expectedSum = float32Sum(x.data, residual.data);
              expectSameValues(sum.data, expectedSum, 'sum: input + residual in float32');
              const unfused = op.unfused(api, { data: expectedSum, shape }, ns, o);
              expect(output.shape).to.deep.equal(shape);
              expect(sum.shape).to.deep.equal(shape);
              expectClose(output.data, unfused.data, { abs: 1e-6, rel: 1e-6 }, 'output');
              // The reference normalizes the float32 sum with the unfused row code: identical.
              if (api === normkit.reference) expectSameValues(output.data, unfused.data, 'exact');
            }
          });
        }

        it('rounds the sum to float32 before normalizing', () => {
          // 1 + 2^-24 is 1 in float32: a sum kept wider would not give a constant row.
          const x: Tensor = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 4] };
          const residual: Tensor = {
            data: new Float32Array([2 ** -24, 0, 2 ** -24, 0]),
            shape: [1, 4],
          };
          const { output, sum } = op.fused(api, x, residual, 4);
          expectSameValues(sum.data, [1, 1, 1, 1], 'sum');
          expectSameValues(output.data, op.unfused(api, sum, 4).data, 'output');
        });

        it(`uses eps ${op.defaultEps} when omitted${op.hasBias ? '' : ' or null'}`, () => {
          const x: Tensor = { data: new Float32Array([2 ** -13, -(2 ** -13)]), shape: [1, 2] };
          const residual: Tensor = { data: new Float32Array([2 ** -13, 2 ** -13]), shape: [1, 2] };
          const sum = float32Sum(x.data, residual.data);
          const omitted = op.fused(api, x, residual, 2).output.data;
          const explicit = op.fused(api, x, residual, 2, { eps: op.defaultEps }).output.data;
          expectSameValues(omitted, explicit, 'default');
          expectSameValues(
            omitted,
            op.unfused(api, { data: sum, shape: [1, 2] }, 2).data,
            'unfused',
          );
          if (!op.hasBias) {
            expectSameValues(
              op.fused(api, x, residual, 2, { eps: null }).output.data,
              omitted,
              'null',
            );
          }
          // The sum [2^-12, 0] has a mean square (and variance) far below 1e-5: eps shows.
          const none = op.fused(api, x, residual, 2, { eps: 0 }).output.data;
          expect(Math.abs(none[0] - omitted[0])).to.be.greaterThan(0.5);
        });

        it('propagates NaN into the sum element and the output row only', () => {
          const x = randomTensor([3, 4]);
          const residual = randomTensor([3, 4]);
          const clean = op.fused(api, x, residual, 4);
          const dirty = residual.data.slice();
          dirty[4 + 1] = NaN;
          const { output, sum } = op.fused(api, x, { data: dirty, shape: [3, 4] }, 4);
          const expectedSum = clean.sum.data.slice();
          expectedSum[5] = NaN;
          expectSameValues(sum.data, expectedSum, 'sum');
          expectSameValues(output.data.subarray(4, 8), [NaN, NaN, NaN, NaN], 'row 1');
          expectSameValues(output.data.subarray(0, 4), clean.output.data.subarray(0, 4), 'row 0');
          expectSameValues(output.data.subarray(8, 12), clean.output.data.subarray(8, 12), 'row 2');
        });

        it('gives empty results for zero-size tensors', () => {
          for (const [shape, ns] of [
            [[0, 4], 4],
            [[2, 0], [0]],
          ] as Array<[number[], number | number[]]>) {
            const z = (): Tensor => ({ data: new Float32Array(0), shape });
            const { output, sum } = op.fused(api, z(), z(), ns);
            expect(output.data.length).to.equal(0);
            expect(sum.data.length).to.equal(0);
            expect(output.shape).to.deep.equal(shape);
            expect(sum.shape).to.deep.equal(shape);
          }
        });

        it("returns shapes of its own: equal to input.shape, neither the caller's nor each other", () => {
          const x = randomTensor([2, 6]);
          const residual = randomTensor([2, 6]);
          const { output, sum } = op.fused(api, x, residual, [6]);
          expect(output.shape).to.not.equal(x.shape);
          expect(output.shape).to.not.equal(residual.shape);
          expect(sum.shape).to.not.equal(x.shape);
          expect(output.shape).to.not.equal(sum.shape);
          (x.shape as number[])[0] = 99;
          expect(output.shape).to.deep.equal([2, 6]);
          expect(sum.shape).to.deep.equal([2, 6]);
        });

        describe('in place', () => {
          type Target = 'none' | 'new' | 'input' | 'residual';
          const targets: Target[] = ['none', 'new', 'input', 'residual'];
          for (const outTo of targets) {
            for (const sumTo of targets) {
              if (outTo === sumTo && (outTo === 'input' || outTo === 'residual')) continue;
              it(`out: ${outTo}, sumOut: ${sumTo}`, () => {
                const x = randomTensor([3, 5]);
                const residual = randomTensor([3, 5]);
                const params: FusedOptions = { weight: randomFloats(rng, 5) };
                if (op.hasBias) params.bias = randomFloats(rng, 5);
                const expected = op.fused(
                  api,
                  { data: x.data.slice(), shape: [3, 5] },
                  { data: residual.data.slice(), shape: [3, 5] },
                  5,
                  params,
                );
                const pick = (t: Target) =>
                  t === 'new'
                    ? new Float32Array(15).fill(7)
                    : t === 'input'
                      ? x.data
                      : t === 'residual'
                        ? residual.data
                        : undefined;
                const out = pick(outTo);
                const sumOut = pick(sumTo);
                const before = snapshot([x.data, residual.data]);
                const o: FusedOptions = { ...params };
                if (out) o.out = out;
                if (sumOut) o.sumOut = sumOut;
                const { output, sum } = op.fused(api, x, residual, 5, o);
                if (out) expect(output.data, 'output.data is out').to.equal(out);
                if (sumOut) expect(sum.data, 'sum.data is sumOut').to.equal(sumOut);
                expect(output.data).to.not.equal(sum.data);
                expectSameValues(output.data, expected.output.data, 'output');
                expectSameValues(sum.data, expected.sum.data, 'sum');
                if (outTo !== 'input' && sumTo !== 'input')
                  expectUnchanged([x.data], [before[0]], 'input');
                if (outTo !== 'residual' && sumTo !== 'residual')
                  expectUnchanged([residual.data], [before[1]], 'residual');
              });
            }
          }

          it('takes one array as both input and residual, in place on it', () => {
            const data = randomFloats(rng, 8);
            const copy = data.slice();
            const doubled = float32Sum(copy, copy);
            const expected = op.unfused(api, { data: doubled, shape: [2, 4] }, 4).data;
            const t: Tensor = { data, shape: [2, 4] };
            const a = op.fused(api, t, t, 4);
            expectSameValues(a.sum.data, doubled, 'sum');
            const b = op.fused(api, t, { data, shape: [2, 4] }, 4, { sumOut: data });
            expect(b.sum.data).to.equal(data);
            expectSameValues(data, doubled, 'sumOut in place');
            expectSameValues(b.output.data, expected, 'output');
            data.set(copy);
            const c = op.fused(api, t, t, 4, { out: data });
            expect(c.output.data).to.equal(data);
            expectSameValues(data, expected, 'out in place');
            expectSameValues(c.sum.data, doubled, 'sum');
          });
        });
      });
    }

    describe('argument checks', () => {
      type Case = ArgumentCase<Api>;

      // A valid call on (3, 4) over [4], with every array it could touch.
      function setup() {
        const input: Tensor = {
          data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3),
          shape: [3, 4],
        };
        const residual: Tensor = {
          data: Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)),
          shape: [3, 4],
        };
        const weight = new Float32Array([1, 2, 3, 4]);
        const bias = new Float32Array([-1, 0, 1, 2]);
        const out = new Float32Array(12).fill(42);
        const sumOut = new Float32Array(12).fill(43);
        const options: Record<string, unknown> = { weight, out, sumOut };
        if (op.hasBias) options.bias = bias;
        return {
          input: input as unknown,
          residual: residual as unknown,
          ns: 4 as unknown,
          options,
          arrays: [input.data, residual.data, weight, bias, out, sumOut],
          data: { input: input.data, residual: residual.data, weight, bias, out, sumOut },
        };
      }
      type Setup = ReturnType<typeof setup>;

      const make = (
        kind: Case['kind'],
        argument: string,
        name: string,
        change: (s: Setup, o: Record<string, unknown>) => void,
      ): Case => ({
        name,
        kind,
        argument,
        make() {
          const s = setup();
          change(s, s.options);
          return {
            arrays: s.arrays,
            call: (api) => op.fused(api, s.input, s.residual, s.ns, s.options),
          };
        },
      });

      const cases: Case[] = [
        make(TypeError, 'input', 'input undefined', (s) => (s.input = undefined)),
        make(TypeError, 'residual', 'residual null', (s) => (s.residual = null)),
        make(TypeError, 'residual.data', 'residual.data a Float64Array', (s) => {
          s.residual = { data: new Float64Array(12), shape: [3, 4] };
        }),
        make(TypeError, 'residual.shape', 'residual.shape missing', (s) => {
          s.residual = { data: s.data.residual };
        }),
        make(RangeError, 'residual.data', 'residual of another length', (s) => {
          s.residual = { data: s.data.residual.subarray(0, 8), shape: [3, 4] };
        }),
        make(RangeError, 'residual.shape', 'residual of another shape, same size', (s) => {
          s.residual = { data: s.data.residual, shape: [4, 3] };
        }),
        make(RangeError, 'residual.shape', 'residual of another rank, same size', (s) => {
          s.residual = { data: s.data.residual, shape: [1, 3, 4] };
        }),
        make(RangeError, 'normalizedShape', 'not the trailing dims', (s) => (s.ns = [3])),
        make(RangeError, 'weight', 'weight too short', (_, o) => (o.weight = new Float32Array(3))),
        make(RangeError, 'eps', 'eps negative', (_, o) => (o.eps = -1)),
        make(RangeError, 'out', 'out too long', (_, o) => (o.out = new Float32Array(13))),
        make(TypeError, 'sumOut', 'sumOut a Float64Array', (_, o) => {
          o.sumOut = new Float64Array(12);
        }),
        make(RangeError, 'sumOut', 'sumOut too short', (_, o) => (o.sumOut = new Float32Array(4))),
        make(RangeError, 'out', 'out the same array as sumOut', (_, o) => (o.out = o.sumOut)),
        make(RangeError, 'out', 'out and sumOut both input.data', (s, o) => {
          o.out = s.data.input;
          o.sumOut = s.data.input;
        }),
        make(RangeError, 'out', 'out and sumOut both residual.data', (s, o) => {
          o.out = s.data.residual;
          o.sumOut = s.data.residual;
        }),
        make(RangeError, 'out', 'out partly overlapping sumOut', (s, o) => {
          const buffer = new Float32Array(16);
          s.arrays.push(buffer);
          o.out = buffer.subarray(0, 12);
          o.sumOut = buffer.subarray(4, 16);
        }),
        make(RangeError, 'sumOut', 'sumOut partly overlapping the residual', (s, o) => {
          const buffer = new Float32Array(16);
          buffer.set(s.data.residual);
          s.arrays.push(buffer);
          s.residual = { data: buffer.subarray(0, 12), shape: [3, 4] };
          o.sumOut = buffer.subarray(4, 16);
        }),
        make(RangeError, 'out', 'out partly overlapping the input', (s, o) => {
          const buffer = new Float32Array(14);
          buffer.set(s.data.input);
          s.arrays.push(buffer);
          s.input = { data: buffer.subarray(0, 12), shape: [3, 4] };
          o.out = buffer.subarray(2, 14);
        }),
        make(RangeError, 'sumOut', 'sumOut sharing memory with weight', (s, o) => {
          const buffer = new Float32Array(16).fill(1);
          s.arrays.push(buffer);
          o.weight = buffer.subarray(11, 15);
          o.sumOut = buffer.subarray(0, 12);
        }),
        make(RangeError, 'out', 'out sharing memory with weight', (s, o) => {
          const buffer = new Float32Array(12).fill(1);
          s.arrays.push(buffer);
          o.weight = buffer.subarray(0, 4);
          o.out = buffer;
        }),
        op.hasBias
          ? make(RangeError, 'bias', 'bias too long', (_, o) => (o.bias = new Float32Array(5)))
          : make(TypeError, 'options.bias', 'a bias (RMSNorm has none)', (_, o) => {
              o.bias = new Float32Array(4);
            }),
        make(TypeError, 'options.residualOut', 'an unknown option', (_, o) => {
          o.residualOut = new Float32Array(12);
        }),
        make(TypeError, 'options', 'options a string', (s) => {
          (s as { options: unknown }).options = 'inplace';
        }),
      ];

      describeArgumentCases(cases, BACKENDS, 'input, residual, parameter, out or sumOut');
    });
  });
}

describe('describeAddLayerNorm, describeAddRmsNorm', () => {
  for (const [name, describeFn, plain] of [
    ['describeAddLayerNorm', normkit.describeAddLayerNorm, normkit.describeLayerNorm],
    ['describeAddRmsNorm', normkit.describeAddRmsNorm, normkit.describeRmsNorm],
  ] as const) {
    it(`${name} gives the worked example and agrees with the plain norm`, () => {
      expect(describeFn([2, 3, 4], [4])).to.deep.equal({
        statistics: 6,
        valuesPerStatistic: 4,
        paramShape: [4],
      });
      for (const [shape, ns] of [
        [[8, 16], 16],
        [
          [2, 3, 5],
          [3, 5],
        ],
        [[0, 4], [4]],
      ] as Array<[number[], number | number[]]>) {
        expect(describeFn(shape, ns)).to.deep.equal(plain(shape, ns));
      }
    });

    it(`${name} rejects mismatched or malformed shapes`, () => {
      expectInvalid(() => describeFn([2, 3, 4], [3]), RangeError, 'normalizedShape');
      expectInvalid(() => describeFn([2, 3, 4], []), RangeError, 'normalizedShape');
      expectInvalid(() => describeFn([2, 1.5], 1.5), RangeError, 'shape');
      expectInvalid(() => describeFn(undefined as never, [4]), TypeError, 'shape');
    });
  }
});
