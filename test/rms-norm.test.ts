// rmsNorm, RMSNorm and describeRmsNorm: semantics against torch.nn.functional.rms_norm's formula
// y = x * rsqrt(mean(x^2) + eps) * weight (eps omitted: float32 epsilon, 2^-23), argument
// checks, and the module's state dict. Every semantic check runs on both backends.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { Tensor } from 'normkit';
import { mulberry32, randomFloats } from './helpers/prng';
import {
  type ArgumentCase,
  describeArgumentCases,
  expectClose,
  expectInvalid,
  expectSameValues,
  prod,
} from './helpers/tensors';

type Api = typeof normkit.reference;
const BACKENDS: ReadonlyArray<readonly [string, Api]> = [
  ['default backend', normkit],
  ['reference', normkit.reference],
];

const FLOAT32_EPS = 2 ** -23;

/** torch.nn.functional.rms_norm in float64: rows of `cols` values, x * rsqrt(mean(x^2) + eps) * w. */
function rmsNormFormula(
  x: ArrayLike<number>,
  cols: number,
  weight: ArrayLike<number> | null = null,
  eps = FLOAT32_EPS,
): number[] {
  const y: number[] = [];
  for (let r = 0; r < x.length / cols; r++) {
    let sq = 0;
    for (let i = 0; i < cols; i++) sq += x[r * cols + i] ** 2;
    const rstd = 1 / Math.sqrt(sq / cols + eps);
    for (let i = 0; i < cols; i++) y.push(x[r * cols + i] * rstd * (weight ? weight[i] : 1));
  }
  return y;
}

const rng = mulberry32(0x5a5e);

function randomTensor(shape: number[], mean = 0, std = 1): Tensor {
  return { data: randomFloats(rng, prod(shape), mean, std), shape };
}

describe('rmsNorm', () => {
  for (const [label, api] of BACKENDS) {
    describe(`semantics (${label})`, () => {
      it('gives the worked example: [[3, 4], [0, 5]] over the last axis', () => {
        const y = api.rmsNorm({ data: new Float32Array([3, 4, 0, 5]), shape: [2, 2] }, [2]);
        expect(y.shape).to.deep.equal([2, 2]);
        expect(y.data).to.be.instanceOf(Float32Array);
        // Both rows: mean square 12.5, no centring.
        const s = Math.sqrt(12.5 + FLOAT32_EPS);
        expectClose(y.data, [3 / s, 4 / s, 0, 5 / s]);
        expectClose(y.data, [0.8485281, 1.1313708, 0, 1.4142135]);
      });

      it('matches the float64 formula with a weight, over one or several trailing axes', () => {
        const x = randomTensor([3, 4, 5], 1.5, 2);
        const w20 = randomFloats(rng, 20);
        const w5 = randomFloats(rng, 5);
        expectClose(api.rmsNorm(x, 5, { weight: w5 }).data, rmsNormFormula(x.data, 5, w5));
        expectClose(
          api.rmsNorm(x, [4, 5], { weight: w20 }).data,
          rmsNormFormula(x.data, 20, w20),
          undefined,
          '2 dims',
        );
        expectClose(api.rmsNorm(x, [3, 4, 5]).data, rmsNormFormula(x.data, 60), undefined, 'all');
        expectSameValues(
          api.rmsNorm(x, [5], { weight: null }).data,
          api.rmsNorm(x, 5).data,
          'weight null is no weight',
        );
      });

      it('does not centre: a constant row becomes sign(x) / sqrt(1 + eps / x^2)', () => {
        const y = api.rmsNorm({ data: new Float32Array([2, 2, 2, -3, -3, -3]), shape: [2, 3] }, 3);
        expectClose(y.data, [1, 1, 1, -1, -1, -1]);
        const ln = api.layerNorm({ data: new Float32Array([2, 2, 2]), shape: [3] }, 3);
        expectSameValues(ln.data, [0, 0, 0], 'layer norm centres');
      });

      it('uses float32 epsilon (2^-23) when eps is omitted or null, as PyTorch', () => {
        // Mean square 2^-25, comparable to eps: y0 = 2^-12 / sqrt(2^-25 + eps).
        const x: Tensor = { data: new Float32Array([2 ** -12, 0]), shape: [1, 2] };
        const omitted = api.rmsNorm(x, 2).data;
        expectClose(omitted, [Math.sqrt(2 / 5), 0], { abs: 1e-7, rel: 1e-6 });
        expectSameValues(api.rmsNorm(x, 2, { eps: null }).data, omitted, 'null');
        expectSameValues(api.rmsNorm(x, 2, {}).data, omitted, 'empty options');
        expectSameValues(api.rmsNorm(x, 2, { eps: FLOAT32_EPS }).data, omitted, '2^-23');
        // Not LayerNorm's 1e-5, and an explicit eps is used as given.
        const e5 = api.rmsNorm(x, 2, { eps: 1e-5 }).data;
        expectClose(e5, [2 ** -12 / Math.sqrt(2 ** -25 + 1e-5), 0], { abs: 1e-7, rel: 1e-6 });
        expect(Math.abs(e5[0] - omitted[0])).to.be.greaterThan(0.5);
        expectClose(api.rmsNorm(x, 2, { eps: 0 }).data, [Math.SQRT2, 0], { abs: 1e-7, rel: 1e-6 });
        expectClose(api.rmsNorm(x, 2, { eps: 3 }).data, rmsNormFormula(x.data, 2, null, 3));
      });

      it('normalizes a rank-1 input as one row, a number normalizedShape as its array', () => {
        const x: Tensor = { data: new Float32Array([1, -2, 2]), shape: [3] };
        const y = api.rmsNorm(x, 3);
        expect(y.shape).to.deep.equal([3]);
        expectClose(y.data, [1 / Math.sqrt(3), -2 / Math.sqrt(3), 2 / Math.sqrt(3)]);
        expectSameValues(api.rmsNorm(x, [3]).data, y.data);
      });

      it("follows PyTorch's x * rsqrt(mean(x^2) + eps) for NaN and infinities, row by row", () => {
        const clean = randomTensor([6, 4]);
        const weight = randomFloats(rng, 4);
        const dirty = clean.data.slice();
        dirty[1 * 4 + 2] = Infinity; // rsqrt(inf) = 0: inf * 0 is NaN, the rest 0
        dirty[2 * 4 + 0] = -Infinity;
        dirty[3 * 4 + 1] = NaN; // a NaN makes the mean square NaN: the row is NaN
        dirty[4 * 4 + 0] = Infinity;
        dirty[4 * 4 + 3] = NaN;
        const y = api.rmsNorm({ data: dirty, shape: [6, 4] }, 4, { weight }).data;
        const expected = api.rmsNorm(clean, 4, { weight }).data;
        expectSameValues(y.subarray(4, 8), [0, 0, NaN, 0], 'row with +inf');
        expectSameValues(y.subarray(8, 12), [NaN, 0, 0, 0], 'row with -inf');
        expectSameValues(y.subarray(12, 16), [NaN, NaN, NaN, NaN], 'row with NaN');
        expectSameValues(y.subarray(16, 20), [NaN, NaN, NaN, NaN], 'row with inf and NaN');
        for (const r of [0, 5]) {
          expectSameValues(y.subarray(r * 4, r * 4 + 4), expected.subarray(r * 4, r * 4 + 4));
        }
      });

      it('gives NaN for an all-zero row with eps 0 (0 * rsqrt(0)), 0 with the default eps', () => {
        const x: Tensor = { data: new Float32Array([0, 0, 0]), shape: [1, 3] };
        expectSameValues(api.rmsNorm(x, 3, { eps: 0 }).data, [NaN, NaN, NaN]);
        expectSameValues(api.rmsNorm(x, 3).data, [0, 0, 0]);
      });

      it('writes into out and in place (out === input.data), returning that array', () => {
        const x = randomTensor([4, 6]);
        const weight = randomFloats(rng, 6);
        const expected = api.rmsNorm(x, 6, { weight }).data;
        const out = new Float32Array(24).fill(-1);
        expect(api.rmsNorm(x, 6, { weight, out }).data).to.equal(out);
        expectSameValues(out, expected, 'out');
        const y = api.rmsNorm(x, 6, { weight, out: x.data });
        expect(y.data).to.equal(x.data);
        expectSameValues(x.data, expected, 'in place');
      });

      it('gives empty results for zero-size tensors', () => {
        const weight = new Float32Array(4).fill(2);
        const noRows = api.rmsNorm({ data: new Float32Array(0), shape: [0, 4] }, 4, { weight });
        expect(noRows.data.length).to.equal(0);
        expect(noRows.shape).to.deep.equal([0, 4]);
        const noCols = api.rmsNorm({ data: new Float32Array(0), shape: [3, 0] }, [0], {
          weight: new Float32Array(0),
        });
        expect(noCols.data.length).to.equal(0);
        expect(noCols.shape).to.deep.equal([3, 0]);
        expect(
          api.rmsNorm({ data: new Float32Array(0), shape: [2, 0, 3] }, [0, 3]).data.length,
        ).to.equal(0);
      });
    });
  }

  describe('argument checks', () => {
    type Case = ArgumentCase<Api>;
    const x = (): Tensor => ({
      data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5),
      shape: [3, 4],
    });
    // Each case: a valid call on (3, 4) over [4] with a weight and out, one thing made wrong.
    const plain = (
      kind: Case['kind'],
      argument: string,
      name: string,
      call: (input: Tensor, weight: Float32Array, out: Float32Array) => unknown[],
    ): Case => ({
      name,
      kind,
      argument,
      make() {
        const input = x();
        const weight = new Float32Array([1, 2, 3, 4]);
        const out = new Float32Array(12).fill(42);
        return {
          arrays: [input.data, weight, out],
          call: (api) =>
            api.rmsNorm(...(call(input, weight, out) as Parameters<typeof api.rmsNorm>)),
        };
      },
    });

    const cases: Case[] = [
      plain(TypeError, 'input', 'input null', (_, weight, out) => [null, 4, { weight, out }]),
      plain(TypeError, 'input.data', 'data a Float64Array', (_, weight, out) => [
        { data: new Float64Array(12), shape: [3, 4] },
        4,
        { weight, out },
      ]),
      plain(TypeError, 'input.shape', 'shape a string', (i, weight, out) => [
        { data: i.data, shape: '3,4' },
        4,
        { weight, out },
      ]),
      plain(RangeError, 'input.shape', 'negative dim', (i, weight, out) => [
        { data: i.data, shape: [-3, -4] },
        4,
        { weight, out },
      ]),
      plain(RangeError, 'input.data', 'prod(shape) !== data.length', (i, weight, out) => [
        { data: i.data, shape: [4, 4] },
        4,
        { weight, out },
      ]),
      plain(RangeError, 'normalizedShape', 'not the trailing dims', (i, weight, out) => [
        i,
        3,
        { weight, out },
      ]),
      plain(RangeError, 'normalizedShape', 'more dims than the input', (i, weight, out) => [
        i,
        [2, 3, 4],
        { weight, out },
      ]),
      plain(RangeError, 'normalizedShape', 'empty', (i, weight, out) => [i, [], { weight, out }]),
      plain(TypeError, 'normalizedShape', 'a string', (i, weight, out) => [
        i,
        '4',
        { weight, out },
      ]),
      plain(TypeError, 'weight', 'weight a plain array', (i, _, out) => [
        i,
        4,
        { weight: [1, 1, 1, 1], out },
      ]),
      plain(RangeError, 'weight', 'weight of 3 values', (i, weight, out) => [
        i,
        4,
        { weight: weight.subarray(0, 3), out },
      ]),
      plain(TypeError, 'options.bias', 'a bias (RMSNorm has none)', (i, weight, out) => [
        i,
        4,
        { weight, bias: new Float32Array(4), out },
      ]),
      plain(RangeError, 'eps', 'eps negative', (i, weight, out) => [
        i,
        4,
        { weight, eps: -1, out },
      ]),
      plain(RangeError, 'eps', 'eps infinite', (i, weight, out) => [
        i,
        4,
        { weight, eps: Infinity, out },
      ]),
      plain(TypeError, 'eps', 'eps a string', (i, weight, out) => [
        i,
        4,
        { weight, eps: '1e-6', out },
      ]),
      plain(RangeError, 'out', 'out too long', (i, weight) => [
        i,
        4,
        { weight, out: new Float32Array(13) },
      ]),
      plain(TypeError, 'out', 'out a Float64Array', (i, weight) => [
        i,
        4,
        { weight, out: new Float64Array(12) },
      ]),
      {
        name: 'out partly overlapping the input',
        kind: RangeError,
        argument: 'out',
        make() {
          const buffer = new Float32Array(16).map((_, i) => i);
          const input: Tensor = { data: buffer.subarray(0, 12), shape: [3, 4] };
          return {
            arrays: [buffer],
            call: (api) => api.rmsNorm(input, 4, { out: buffer.subarray(4, 16) }),
          };
        },
      },
      {
        name: 'out sharing memory with weight',
        kind: RangeError,
        argument: 'out',
        make() {
          const input = x();
          const buffer = new Float32Array(14).fill(1);
          return {
            arrays: [input.data, buffer],
            call: (api) =>
              api.rmsNorm(input, 4, {
                weight: buffer.subarray(10, 14),
                out: buffer.subarray(0, 12),
              }),
          };
        },
      },
      plain(TypeError, 'options', 'options a number', (i) => [i, 4, 1e-6]),
      plain(TypeError, 'options.epsilon', 'an unknown option', (i, weight, out) => [
        i,
        4,
        { weight, epsilon: 1e-6, out },
      ]),
    ];

    describeArgumentCases(cases, BACKENDS, 'input, weight or out');
  });
});

describe('RMSNorm', () => {
  it('has PyTorch defaults: weight ones, eps null (float32 epsilon)', () => {
    const norm = new normkit.RMSNorm([2, 3]);
    expect(norm.normalizedShape).to.deep.equal([2, 3]);
    expect(norm.eps).to.equal(null);
    expect(norm.elementwiseAffine).to.equal(true);
    expect(norm.weight).to.be.instanceOf(Float32Array);
    expectSameValues(norm.weight!, [1, 1, 1, 1, 1, 1], 'weight');
    expect(new normkit.RMSNorm(4, { eps: null }).eps).to.equal(null);
    expect(new normkit.RMSNorm(4, { eps: 1e-6 }).eps).to.equal(1e-6);
  });

  it('copies normalizedShape and keeps it frozen', () => {
    const shape = [2, 5];
    const norm = new normkit.RMSNorm(shape);
    shape[1] = 7;
    expect(norm.normalizedShape).to.deep.equal([2, 5]);
    expect(Object.isFrozen(norm.normalizedShape)).to.equal(true);
    expect(new normkit.RMSNorm(5).normalizedShape).to.deep.equal([5]);
  });

  it('forwards with its own weight and eps (default 2^-23)', () => {
    const norm = new normkit.RMSNorm(4);
    const weight = randomFloats(rng, 4);
    norm.weight!.set(weight);
    const x = randomTensor([3, 4]);
    const y = norm.forward(x);
    expect(y.shape).to.deep.equal([3, 4]);
    expectClose(y.data, rmsNormFormula(x.data, 4, weight));
    expectSameValues(y.data, normkit.rmsNorm(x, 4, { weight }).data, 'functional');
    const small: Tensor = { data: new Float32Array([2 ** -12, 0]), shape: [1, 2] };
    expectSameValues(new normkit.RMSNorm(2).forward(small).data, normkit.rmsNorm(small, 2).data);
    const withEps = new normkit.RMSNorm(2, { eps: 0.5 });
    expectClose(withEps.forward(small).data, rmsNormFormula(small.data, 2, null, 0.5));
  });

  it('has no weight with elementwiseAffine false', () => {
    const norm = new normkit.RMSNorm([2, 2], { elementwiseAffine: false });
    expect(norm.weight).to.equal(null);
    const x = randomTensor([3, 2, 2]);
    expectClose(norm.forward(x).data, rmsNormFormula(x.data, 4));
    expect(norm.stateDict()).to.deep.equal({});
    norm.loadStateDict({});
    expectInvalid(
      () => norm.loadStateDict({ weight: new Float32Array(4) }),
      RangeError,
      'dict.weight',
    );
  });

  it('forwards into out, in place included', () => {
    const norm = new normkit.RMSNorm(3);
    const x = randomTensor([2, 3]);
    const expected = norm.forward(x).data;
    const out = new Float32Array(6);
    expect(norm.forward(x, { out }).data).to.equal(out);
    expectSameValues(out, expected);
    expect(norm.forward(x, { out: x.data }).data).to.equal(x.data);
    expectSameValues(x.data, expected, 'in place');
  });

  it('rejects bad constructor arguments', () => {
    expectInvalid(
      () => new normkit.RMSNorm('4' as unknown as number),
      TypeError,
      'normalizedShape',
    );
    expectInvalid(() => new normkit.RMSNorm(-1), RangeError, 'normalizedShape');
    expectInvalid(() => new normkit.RMSNorm([]), RangeError, 'normalizedShape');
    expectInvalid(() => new normkit.RMSNorm(4, { eps: -1 }), RangeError, 'eps');
    expectInvalid(
      () => new normkit.RMSNorm(4, { eps: '0' as unknown as number }),
      TypeError,
      'eps',
    );
    expectInvalid(
      () => new normkit.RMSNorm(4, { elementwiseAffine: 1 as unknown as boolean }),
      TypeError,
      'elementwiseAffine',
    );
    expectInvalid(() => new normkit.RMSNorm(4, { bias: true } as never), TypeError, 'options.bias');
  });

  it('rejects bad forward calls, changing nothing', () => {
    const norm = new normkit.RMSNorm(4);
    const out = new Float32Array(6).fill(1);
    expectInvalid(
      () => norm.forward({ data: new Float32Array(6), shape: [2, 3] }, { out }),
      RangeError,
      'normalizedShape',
    );
    expectInvalid(() => norm.forward(randomTensor([2, 4]), { out }), RangeError, 'out');
    expectInvalid(
      () => norm.forward(randomTensor([2, 4]), { eps: 1 } as never),
      TypeError,
      'options.eps',
    );
    expectSameValues(out, new Array(6).fill(1), 'out');
    expectSameValues(norm.weight!, [1, 1, 1, 1], 'weight');
  });

  describe('state dict', () => {
    it('returns a copy under the key weight, and loads one back', () => {
      const a = new normkit.RMSNorm(3);
      a.weight!.set([1, 2, 3]);
      const d = a.stateDict();
      expect(Object.keys(d)).to.deep.equal(['weight']);
      expectSameValues(d.weight!, [1, 2, 3]);
      expect(d.weight).to.not.equal(a.weight);
      d.weight![0] = 100;
      expect(a.weight![0]).to.equal(1);
      const b = new normkit.RMSNorm(3);
      b.loadStateDict(d);
      expectSameValues(b.weight!, [100, 2, 3]);
      d.weight![1] = 200;
      expect(b.weight![1]).to.equal(2);
    });

    it('rejects a wrong length, kind, missing or extra key, changing nothing', () => {
      const norm = new normkit.RMSNorm(3);
      norm.weight!.set([1, 2, 3]);
      const bad: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
        [{ weight: new Float32Array(4) }, RangeError, 'dict.weight'],
        [{ weight: new Float64Array(3) }, TypeError, 'dict.weight'],
        [{}, TypeError, 'dict.weight'],
        [{ weight: new Float32Array(3), bias: new Float32Array(3) }, RangeError, 'dict.bias'],
        [null, TypeError, 'dict'],
        ['weight', TypeError, 'dict'],
      ];
      for (const [dict, kind, argument] of bad) {
        expectInvalid(() => norm.loadStateDict(dict as normkit.RMSNormStateDict), kind, argument);
        expectSameValues(norm.weight!, [1, 2, 3], `weight after ${argument}`);
      }
    });
  });
});

describe('describeRmsNorm', () => {
  it('gives the worked example: (8, 128, 768) over 768', () => {
    expect(normkit.describeRmsNorm([8, 128, 768], 768)).to.deep.equal({
      statistics: 1024,
      valuesPerStatistic: 768,
      paramShape: [768],
    });
  });

  it('handles several normalized dims and zero sizes, returning its own paramShape', () => {
    const ns = [3, 4];
    const d = normkit.describeRmsNorm([2, 3, 4], ns);
    expect(d).to.deep.equal({ statistics: 2, valuesPerStatistic: 12, paramShape: [3, 4] });
    expect(d.paramShape).to.not.equal(ns);
    expect(normkit.describeRmsNorm([0, 5], 5)).to.deep.equal({
      statistics: 0,
      valuesPerStatistic: 5,
      paramShape: [5],
    });
  });

  it('agrees with what rmsNorm normalizes', () => {
    const x = randomTensor([2, 3, 5]);
    const d = normkit.describeRmsNorm(x.shape, [3, 5]);
    expect(d.statistics * d.valuesPerStatistic).to.equal(x.data.length);
    expectClose(normkit.rmsNorm(x, [3, 5]).data, rmsNormFormula(x.data, d.valuesPerStatistic));
  });

  it('rejects mismatched or malformed shapes', () => {
    expectInvalid(() => normkit.describeRmsNorm([2, 3, 4], [3]), RangeError, 'normalizedShape');
    expectInvalid(() => normkit.describeRmsNorm([2, 4], []), RangeError, 'normalizedShape');
    expectInvalid(() => normkit.describeRmsNorm([2, -4], [4]), RangeError, 'shape');
    expectInvalid(
      () => normkit.describeRmsNorm(null as unknown as number[], [4]),
      TypeError,
      'shape',
    );
  });
});
