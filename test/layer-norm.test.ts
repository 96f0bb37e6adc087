// layerNorm, LayerNorm and describeLayerNorm: semantics against a float64 formula of
// torch.nn.functional.layer_norm, argument checks, and the module's state dict.
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
} from './helpers/tensors';

/** torch.nn.functional.layer_norm in float64: rows of `cols` values, biased variance. */
function layerNormFormula(
  x: ArrayLike<number>,
  cols: number,
  weight: ArrayLike<number> | null = null,
  bias: ArrayLike<number> | null = null,
  eps = 1e-5,
): number[] {
  const y: number[] = [];
  for (let r = 0; r < x.length / cols; r++) {
    let mean = 0;
    for (let i = 0; i < cols; i++) mean += x[r * cols + i];
    mean /= cols;
    let variance = 0;
    for (let i = 0; i < cols; i++) variance += (x[r * cols + i] - mean) ** 2;
    variance /= cols;
    for (let i = 0; i < cols; i++) {
      const v = (x[r * cols + i] - mean) / Math.sqrt(variance + eps);
      y.push(v * (weight ? weight[i] : 1) + (bias ? bias[i] : 0));
    }
  }
  return y;
}

const rng = mulberry32(0x1a7e);

function randomTensor(shape: number[], mean = 0, std = 1): Tensor {
  return {
    data: randomFloats(
      rng,
      shape.reduce((a, b) => a * b, 1),
      mean,
      std,
    ),
    shape,
  };
}

describe('layerNorm', () => {
  describe('semantics', () => {
    it('matches the float64 formula with weight and bias', () => {
      const x = randomTensor([4, 7], 3, 2);
      const weight = randomFloats(rng, 7);
      const bias = randomFloats(rng, 7);
      const y = normkit.layerNorm(x, [7], { weight, bias });
      expect(y.shape).to.deep.equal([4, 7]);
      expect(y.data).to.be.instanceOf(Float32Array);
      expectClose(y.data, layerNormFormula(x.data, 7, weight, bias));
    });

    it('treats an omitted weight as 1 and an omitted bias as 0, each on its own', () => {
      const x = randomTensor([5, 6]);
      const weight = randomFloats(rng, 6);
      const bias = randomFloats(rng, 6);
      expectClose(normkit.layerNorm(x, 6).data, layerNormFormula(x.data, 6), undefined, 'neither');
      expectClose(
        normkit.layerNorm(x, 6, { weight }).data,
        layerNormFormula(x.data, 6, weight),
        undefined,
        'weight',
      );
      expectClose(
        normkit.layerNorm(x, 6, { bias }).data,
        layerNormFormula(x.data, 6, null, bias),
        undefined,
        'bias',
      );
      expectClose(
        normkit.layerNorm(x, 6, { weight: null, bias: null }).data,
        layerNormFormula(x.data, 6),
        undefined,
        'null',
      );
    });

    it('gives each row mean 0 and variance var / (var + eps) without affine parameters', () => {
      const x = randomTensor([3, 50], -7, 5);
      const y = normkit.layerNorm(x, 50).data;
      for (let r = 0; r < 3; r++) {
        const row = Array.from(y.subarray(r * 50, r * 50 + 50));
        const mean = row.reduce((a, b) => a + b, 0) / 50;
        const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 50;
        expect(mean).to.be.closeTo(0, 1e-5);
        expect(variance).to.be.closeTo(1, 1e-4);
      }
    });

    it('takes normalizedShape as a number or a one-element array alike', () => {
      const x = randomTensor([2, 3, 4]);
      const a = normkit.layerNorm(x, 4).data;
      const b = normkit.layerNorm(x, [4]).data;
      expectSameValues(a, b);
      expectClose(a, layerNormFormula(x.data, 4));
    });

    it('normalizes over every trailing axis of a multi-dimensional normalizedShape', () => {
      const x = randomTensor([2, 3, 4, 5]);
      const weight = randomFloats(rng, 20);
      const bias = randomFloats(rng, 20);
      expectClose(
        normkit.layerNorm(x, [4, 5], { weight, bias }).data,
        layerNormFormula(x.data, 20, weight, bias),
      );
      expectClose(
        normkit.layerNorm(x, [3, 4, 5]).data,
        layerNormFormula(x.data, 60),
        undefined,
        '3 dims',
      );
      // Over the whole tensor: one statistic.
      expectClose(
        normkit.layerNorm(x, [2, 3, 4, 5]).data,
        layerNormFormula(x.data, 120),
        undefined,
        'all dims',
      );
      // Not the same as normalizing the last axis alone.
      const last = normkit.layerNorm(x, 5).data;
      expect(Array.from(last)).to.not.deep.equal(Array.from(normkit.layerNorm(x, [4, 5]).data));
    });

    it('normalizes a rank-1 input as one row', () => {
      const x: Tensor = { data: new Float32Array([1, 2, 3, 4]), shape: [4] };
      const y = normkit.layerNorm(x, 4);
      expect(y.shape).to.deep.equal([4]);
      // mean 2.5, biased variance 1.25
      const s = Math.sqrt(1.25 + 1e-5);
      expectClose(y.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
    });

    it('adds eps to the variance before the square root', () => {
      const x: Tensor = { data: new Float32Array([0, 2]), shape: [1, 2] };
      // mean 1, biased variance 1: y = +-1 / sqrt(1 + eps)
      expectClose(normkit.layerNorm(x, 2, { eps: 0 }).data, [-1, 1]);
      expectClose(normkit.layerNorm(x, 2, { eps: 3 }).data, [-0.5, 0.5]);
      expectClose(
        normkit.layerNorm(x, 2, { eps: 0.5 }).data,
        layerNormFormula(x.data, 2, null, null, 0.5),
      );
      const small = randomTensor([2, 9], 0, 1e-3);
      const y = normkit.layerNorm(small, 9, { eps: 1e-2 }).data;
      expectClose(y, layerNormFormula(small.data, 9, null, null, 1e-2));
      // A large eps against a small variance shrinks the output towards 0.
      expect(Math.max(...Array.from(y).map(Math.abs))).to.be.lessThan(0.1);
    });

    it('gives exactly the bias (or 0) for constant rows and width-1 rows', () => {
      const weight = new Float32Array([2, -3, 0.5]);
      const bias = new Float32Array([0.1, -7.25, 3.3]);
      const x: Tensor = {
        data: new Float32Array([0.1, 0.1, 0.1, -4, -4, -4, 1e4, 1e4, 1e4]),
        shape: [3, 3],
      };
      const y = normkit.layerNorm(x, 3, { weight, bias }).data;
      expectSameValues(y, [...bias, ...bias, ...bias]);
      expectSameValues(normkit.layerNorm(x, 3).data, new Array(9).fill(0), 'no affine');
      const col: Tensor = { data: new Float32Array([5, -2, 1e30]), shape: [3, 1] };
      expectSameValues(
        normkit.layerNorm(col, 1, { bias: new Float32Array([0.75]) }).data,
        [0.75, 0.75, 0.75],
        'width 1',
      );
    });

    it('makes a row with NaN or an infinity all NaN and leaves the other rows alone', () => {
      const clean = randomTensor([5, 4]);
      const dirty = clean.data.slice();
      dirty[1 * 4 + 2] = NaN;
      dirty[2 * 4 + 0] = Infinity;
      dirty[3 * 4 + 3] = -Infinity;
      const weight = randomFloats(rng, 4);
      const bias = randomFloats(rng, 4);
      const y = normkit.layerNorm({ data: dirty, shape: [5, 4] }, 4, { weight, bias }).data;
      const expected = normkit.layerNorm(clean, 4, { weight, bias }).data;
      for (const r of [1, 2, 3]) {
        expect(
          Array.from(y.subarray(r * 4, r * 4 + 4)).every(Number.isNaN),
          `row ${r} is all NaN`,
        ).to.equal(true);
      }
      for (const r of [0, 4]) {
        expectSameValues(
          y.subarray(r * 4, r * 4 + 4),
          expected.subarray(r * 4, r * 4 + 4),
          `row ${r}`,
        );
      }
    });

    it('gives empty results for zero-size tensors', () => {
      const noRows = normkit.layerNorm({ data: new Float32Array(0), shape: [0, 4] }, 4, {
        weight: new Float32Array(4),
        bias: new Float32Array(4),
      });
      expect(noRows.data.length).to.equal(0);
      expect(noRows.shape).to.deep.equal([0, 4]);
      const noCols = normkit.layerNorm({ data: new Float32Array(0), shape: [3, 0] }, [0]);
      expect(noCols.data.length).to.equal(0);
      expect(noCols.shape).to.deep.equal([3, 0]);
      const out = new Float32Array(0);
      expect(
        normkit.layerNorm({ data: new Float32Array(0), shape: [2, 0, 5] }, 5, { out }).data,
      ).to.equal(out);
    });

    it('returns a new tensor and leaves the input alone', () => {
      const x = randomTensor([3, 8]);
      const before = x.data.slice();
      const y = normkit.layerNorm(x, 8);
      expect(y.data).to.not.equal(x.data);
      expect(y.shape).to.not.equal(x.shape);
      expect(y.shape).to.deep.equal(x.shape);
      expectSameValues(x.data, before, 'input');
    });

    it('writes in place when out is input.data, and returns that array', () => {
      const x = randomTensor([6, 33]);
      const weight = randomFloats(rng, 33);
      const bias = randomFloats(rng, 33);
      const expected = normkit.layerNorm(x, 33, { weight, bias }).data;
      const data = x.data;
      const y = normkit.layerNorm(x, 33, { weight, bias, out: data });
      expect(y.data).to.equal(data);
      expectSameValues(data, expected, 'in place');
    });

    it('writes into a separate out and returns that same array', () => {
      const x = randomTensor([4, 10]);
      const out = new Float32Array(40).fill(9);
      const y = normkit.layerNorm(x, 10, { out });
      expect(y.data).to.equal(out);
      expectClose(out, layerNormFormula(x.data, 10));
      // A view of the input's buffer that does not overlap it is memory apart from it.
      const buffer = new Float32Array(80);
      buffer.set(x.data);
      const input: Tensor = { data: buffer.subarray(0, 40), shape: [4, 10] };
      const apart = buffer.subarray(40, 80);
      expect(normkit.layerNorm(input, 10, { out: apart }).data).to.equal(apart);
      expectSameValues(apart, out, 'view out');
    });
  });

  describe('argument checks', () => {
    type Case = ArgumentCase<Pick<typeof normkit, 'layerNorm'>>;

    const x = (): Tensor => ({
      data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
      shape: [3, 4],
    });
    const sentinel = (n = 12) => new Float32Array(n).fill(42);
    const plain = (
      kind: Case['kind'],
      argument: string,
      name: string,
      call: (input: Tensor, out: Float32Array) => unknown,
    ): Case => ({
      name,
      kind,
      argument,
      make() {
        const input = x();
        const out = sentinel();
        return {
          arrays: [input.data, out],
          call: (api) => api.layerNorm(...(call(input, out) as Parameters<typeof api.layerNorm>)),
        };
      },
    });

    const cases: Case[] = [
      plain(TypeError, 'input', 'input null', (_, out) => [null, 4, { out }]),
      plain(TypeError, 'input', 'input a number', (_, out) => [3, 4, { out }]),
      plain(TypeError, 'input.data', 'data a Float64Array', (_, out) => [
        { data: new Float64Array(12), shape: [3, 4] },
        4,
        { out },
      ]),
      plain(TypeError, 'input.data', 'data a plain array', (_, out) => [
        { data: new Array(12).fill(0), shape: [3, 4] },
        4,
        { out },
      ]),
      plain(TypeError, 'input.shape', 'shape not an array', (i, out) => [
        { data: i.data, shape: '3,4' },
        4,
        { out },
      ]),
      plain(TypeError, 'input.shape', 'shape missing', (i, out) => [{ data: i.data }, 4, { out }]),
      plain(TypeError, 'input.shape', 'shape with a string', (i, out) => [
        { data: i.data, shape: [3, '4'] },
        4,
        { out },
      ]),
      plain(RangeError, 'input.shape', 'negative dim', (i, out) => [
        { data: i.data, shape: [-3, -4] },
        4,
        { out },
      ]),
      plain(RangeError, 'input.shape', 'fractional dim', (i, out) => [
        { data: i.data, shape: [1.5, 8] },
        8,
        { out },
      ]),
      plain(RangeError, 'input.shape', 'NaN dim', (i, out) => [
        { data: i.data, shape: [NaN, 4] },
        4,
        { out },
      ]),
      plain(RangeError, 'input.shape', 'infinite dim', (i, out) => [
        { data: i.data, shape: [Infinity, 4] },
        4,
        { out },
      ]),
      plain(RangeError, 'input.data', 'prod(shape) !== data.length', (i, out) => [
        { data: i.data, shape: [2, 4] },
        4,
        { out },
      ]),
      plain(RangeError, 'normalizedShape', 'not the trailing dims', (i, out) => [i, 3, { out }]),
      plain(RangeError, 'normalizedShape', 'trailing dims in the wrong order', (i, out) => [
        i,
        [4, 3],
        { out },
      ]),
      plain(RangeError, 'normalizedShape', 'more dims than the input', (i, out) => [
        i,
        [1, 3, 4],
        { out },
      ]),
      plain(RangeError, 'normalizedShape', 'empty', (i, out) => [i, [], { out }]),
      plain(RangeError, 'normalizedShape', 'fractional', (i, out) => [i, 4.5, { out }]),
      plain(RangeError, 'normalizedShape', 'negative', (i, out) => [i, -4, { out }]),
      plain(RangeError, 'normalizedShape', 'NaN', (i, out) => [i, NaN, { out }]),
      plain(TypeError, 'normalizedShape', 'a string', (i, out) => [i, '4', { out }]),
      plain(TypeError, 'normalizedShape', 'an array with a string', (i, out) => [
        i,
        ['4'],
        { out },
      ]),
      plain(TypeError, 'weight', 'weight a Float64Array', (i, out) => [
        i,
        4,
        { weight: new Float64Array(4), out },
      ]),
      plain(TypeError, 'weight', 'weight a plain array', (i, out) => [
        i,
        4,
        { weight: [1, 1, 1, 1], out },
      ]),
      plain(RangeError, 'weight', 'weight too short', (i, out) => [
        i,
        4,
        { weight: new Float32Array(3), out },
      ]),
      plain(RangeError, 'bias', 'bias too long', (i, out) => [
        i,
        4,
        { bias: new Float32Array(5), out },
      ]),
      plain(TypeError, 'bias', 'bias a number', (i, out) => [i, 4, { bias: 0, out }]),
      plain(RangeError, 'eps', 'eps negative', (i, out) => [i, 4, { eps: -1e-5, out }]),
      plain(RangeError, 'eps', 'eps NaN', (i, out) => [i, 4, { eps: NaN, out }]),
      plain(TypeError, 'eps', 'eps a string', (i, out) => [i, 4, { eps: '1e-5', out }]),
      plain(RangeError, 'out', 'out too short', (i) => [i, 4, { out: new Float32Array(11) }]),
      plain(TypeError, 'out', 'out a Float64Array', (i) => [i, 4, { out: new Float64Array(12) }]),
      plain(TypeError, 'options', 'options a number', (i) => [i, 4, 5]),
      plain(TypeError, 'options.epsilon', 'an unknown option', (i, out) => [
        i,
        4,
        { epsilon: 1e-5, out },
      ]),
      {
        name: 'out aliasing weight',
        kind: RangeError,
        argument: 'out',
        make() {
          const input = x();
          const weight = new Float32Array(12).fill(2);
          return {
            arrays: [input.data, weight],
            call: (api) => api.layerNorm(input, 4, { weight: weight.subarray(0, 4), out: weight }),
          };
        },
      },
      {
        name: 'out aliasing bias',
        kind: RangeError,
        argument: 'out',
        make() {
          const input = x();
          const buffer = new Float32Array(16).fill(3);
          const out = buffer.subarray(0, 12);
          return {
            arrays: [input.data, buffer],
            call: (api) => api.layerNorm(input, 4, { bias: buffer.subarray(10, 14), out }),
          };
        },
      },
      {
        name: 'out partly overlapping the input',
        kind: RangeError,
        argument: 'out',
        make() {
          const buffer = new Float32Array(16).map((_, i) => i);
          const input: Tensor = { data: buffer.subarray(0, 12), shape: [3, 4] };
          return {
            arrays: [buffer],
            call: (api) => api.layerNorm(input, 4, { out: buffer.subarray(4, 16) }),
          };
        },
      },
    ];

    describeArgumentCases(
      cases,
      [
        ['default backend', normkit],
        ['reference', normkit.reference],
      ],
      'input or out',
    );

    it('shows the received value briefly in the message', () => {
      const e = expectInvalid(
        () =>
          normkit.layerNorm(
            { data: new Float64Array(12) as unknown as Float32Array, shape: [3, 4] },
            4,
          ),
        TypeError,
        'input.data',
      );
      expect(e.message).to.equal(
        'Expected a Float32Array for input.data, but received Float64Array(12)',
      );
      const s = expectInvalid(
        () => normkit.layerNorm({ data: new Float32Array(6), shape: [2, 3, -1] }, 3),
        RangeError,
        'input.shape',
      );
      expect(s.message).to.contain('[2, 3, -1]');
    });
  });
});

describe('LayerNorm', () => {
  it('has PyTorch defaults: weight ones, bias zeros, eps 1e-5', () => {
    const ln = new normkit.LayerNorm([3, 4]);
    expect(ln.normalizedShape).to.deep.equal([3, 4]);
    expect(ln.eps).to.equal(1e-5);
    expect(ln.elementwiseAffine).to.equal(true);
    expect(ln.weight).to.be.instanceOf(Float32Array);
    expectSameValues(ln.weight!, new Array(12).fill(1), 'weight');
    expect(ln.bias).to.be.instanceOf(Float32Array);
    expectSameValues(ln.bias!, new Array(12).fill(0), 'bias');
  });

  it('takes normalizedShape as a number and copies an array', () => {
    expect(new normkit.LayerNorm(5).normalizedShape).to.deep.equal([5]);
    const shape = [2, 5];
    const ln = new normkit.LayerNorm(shape);
    shape[1] = 7;
    expect(ln.normalizedShape).to.deep.equal([2, 5]);
    expect(ln.weight!.length).to.equal(10);
  });

  it('has no parameters with elementwiseAffine false, and no bias with bias false', () => {
    const none = new normkit.LayerNorm(4, { elementwiseAffine: false });
    expect(none.weight).to.equal(null);
    expect(none.bias).to.equal(null);
    const noBias = new normkit.LayerNorm(4, { bias: false });
    expectSameValues(noBias.weight!, [1, 1, 1, 1]);
    expect(noBias.bias).to.equal(null);
    const x = randomTensor([3, 4]);
    expectClose(none.forward(x).data, layerNormFormula(x.data, 4));
    noBias.weight!.set([1, 2, 3, 4]);
    expectClose(noBias.forward(x).data, layerNormFormula(x.data, 4, [1, 2, 3, 4]));
  });

  it('forwards with its own weight, bias and eps', () => {
    const ln = new normkit.LayerNorm([2, 3], { eps: 0.25 });
    const weight = randomFloats(rng, 6);
    const bias = randomFloats(rng, 6);
    ln.weight!.set(weight);
    ln.bias!.set(bias);
    const x = randomTensor([4, 2, 3]);
    const y = ln.forward(x);
    expect(y.shape).to.deep.equal([4, 2, 3]);
    expectClose(y.data, layerNormFormula(x.data, 6, weight, bias, 0.25));
    expectSameValues(
      y.data,
      normkit.layerNorm(x, [2, 3], { weight, bias, eps: 0.25 }).data,
      'functional',
    );
  });

  it('forwards into out, in place included', () => {
    const ln = new normkit.LayerNorm(4);
    const x = randomTensor([2, 4]);
    const expected = ln.forward(x).data;
    const out = new Float32Array(8);
    expect(ln.forward(x, { out }).data).to.equal(out);
    expectSameValues(out, expected);
    expect(ln.forward(x, { out: x.data }).data).to.equal(x.data);
    expectSameValues(x.data, expected, 'in place');
  });

  it('rejects bad constructor arguments and bad forward inputs', () => {
    expectInvalid(
      () => new normkit.LayerNorm('4' as unknown as number),
      TypeError,
      'normalizedShape',
    );
    expectInvalid(() => new normkit.LayerNorm(-1), RangeError, 'normalizedShape');
    expectInvalid(() => new normkit.LayerNorm(4, { eps: -1 }), RangeError, 'eps');
    expectInvalid(
      () => new normkit.LayerNorm(4, { elementwiseAffine: 1 as unknown as boolean }),
      TypeError,
      'elementwiseAffine',
    );
    expectInvalid(
      () => new normkit.LayerNorm(4, { bias: 'no' as unknown as boolean }),
      TypeError,
      'bias',
    );
    expectInvalid(
      () => new normkit.LayerNorm(4, { affine: true } as never),
      TypeError,
      'options.affine',
    );
    const ln = new normkit.LayerNorm(4);
    const out = new Float32Array(6).fill(1);
    expectInvalid(
      () => ln.forward({ data: new Float32Array(6), shape: [2, 3] }, { out }),
      RangeError,
      'normalizedShape',
    );
    expectSameValues(out, new Array(6).fill(1), 'out');
    const x = randomTensor([2, 4]);
    expectInvalid(() => ln.forward(x, { out: new Float32Array(7) }), RangeError, 'out');
  });

  describe('state dict', () => {
    it('returns copies under the keys weight and bias', () => {
      const ln = new normkit.LayerNorm(3);
      ln.weight!.set([1, 2, 3]);
      ln.bias!.set([4, 5, 6]);
      const d = ln.stateDict();
      expect(Object.keys(d).sort()).to.deep.equal(['bias', 'weight']);
      expectSameValues(d.weight!, [1, 2, 3]);
      expectSameValues(d.bias!, [4, 5, 6]);
      expect(d.weight).to.not.equal(ln.weight);
      d.weight![0] = 100;
      d.bias![0] = 100;
      expectSameValues(ln.weight!, [1, 2, 3], 'module weight');
      expectSameValues(ln.bias!, [4, 5, 6], 'module bias');
      expect(
        Object.keys(new normkit.LayerNorm(3, { elementwiseAffine: false }).stateDict()),
      ).to.deep.equal([]);
      expect(Object.keys(new normkit.LayerNorm(3, { bias: false }).stateDict())).to.deep.equal([
        'weight',
      ]);
    });

    it('round-trips through loadStateDict, which copies the values in', () => {
      const a = new normkit.LayerNorm([2, 2]);
      a.weight!.set([0.5, -1, 2, 3]);
      a.bias!.set([1, 0, -1, 0.25]);
      const b = new normkit.LayerNorm([2, 2]);
      const dict = a.stateDict();
      b.loadStateDict(dict);
      expectSameValues(b.weight!, a.weight!);
      expectSameValues(b.bias!, a.bias!);
      dict.weight![0] = 99;
      expect(b.weight![0]).to.equal(0.5);
      const x = randomTensor([3, 2, 2]);
      expectSameValues(b.forward(x).data, a.forward(x).data, 'forward');
      const none = new normkit.LayerNorm(2, { elementwiseAffine: false });
      none.loadStateDict({});
    });

    it('rejects a wrong length, a missing key, an extra key or a wrong type, changing nothing', () => {
      const ln = new normkit.LayerNorm(3);
      ln.weight!.set([1, 2, 3]);
      ln.bias!.set([4, 5, 6]);
      const good = () => ({
        weight: new Float32Array([7, 8, 9]),
        bias: new Float32Array([7, 8, 9]),
      });
      const check = (
        dict: unknown,
        kind: typeof TypeError | typeof RangeError,
        argument: string,
      ) => {
        expectInvalid(() => ln.loadStateDict(dict as normkit.LayerNormStateDict), kind, argument);
        expectSameValues(ln.weight!, [1, 2, 3], `weight after ${argument}`);
        expectSameValues(ln.bias!, [4, 5, 6], `bias after ${argument}`);
      };
      check({ ...good(), bias: new Float32Array(4) }, RangeError, 'dict.bias');
      check({ ...good(), weight: new Float32Array(2) }, RangeError, 'dict.weight');
      check({ weight: good().weight }, TypeError, 'dict.bias');
      check({ ...good(), running_mean: new Float32Array(3) }, RangeError, 'dict.running_mean');
      check({ ...good(), weight: new Float64Array(3) }, TypeError, 'dict.weight');
      check({ ...good(), bias: [1, 2, 3] }, TypeError, 'dict.bias');
      check(null, TypeError, 'dict');
      check([good().weight], TypeError, 'dict');
      expectInvalid(
        () => new normkit.LayerNorm(3, { bias: false }).loadStateDict(good()),
        RangeError,
        'dict.bias',
      );
    });
  });
});

describe('describeLayerNorm', () => {
  it('gives the worked example: (2, 3, 4) over [4]', () => {
    expect(normkit.describeLayerNorm([2, 3, 4], [4])).to.deep.equal({
      statistics: 6,
      valuesPerStatistic: 4,
      paramShape: [4],
    });
  });

  it('handles a number, several normalized dims and zero sizes', () => {
    expect(normkit.describeLayerNorm([2, 3, 4], 4)).to.deep.equal({
      statistics: 6,
      valuesPerStatistic: 4,
      paramShape: [4],
    });
    expect(normkit.describeLayerNorm([2, 3, 4], [3, 4])).to.deep.equal({
      statistics: 2,
      valuesPerStatistic: 12,
      paramShape: [3, 4],
    });
    expect(normkit.describeLayerNorm([5], [5])).to.deep.equal({
      statistics: 1,
      valuesPerStatistic: 5,
      paramShape: [5],
    });
    expect(normkit.describeLayerNorm([0, 8], 8)).to.deep.equal({
      statistics: 0,
      valuesPerStatistic: 8,
      paramShape: [8],
    });
    const ns = [4];
    const d = normkit.describeLayerNorm([2, 4], ns);
    expect(d.paramShape).to.not.equal(ns);
  });

  it('agrees with what layerNorm normalizes', () => {
    const x = randomTensor([3, 2, 5]);
    const d = normkit.describeLayerNorm(x.shape, [2, 5]);
    expect(d.statistics * d.valuesPerStatistic).to.equal(x.data.length);
    expectClose(normkit.layerNorm(x, [2, 5]).data, layerNormFormula(x.data, d.valuesPerStatistic));
  });

  it('rejects mismatched or malformed shapes', () => {
    expectInvalid(() => normkit.describeLayerNorm([2, 3, 4], [3]), RangeError, 'normalizedShape');
    expectInvalid(() => normkit.describeLayerNorm([4], [2, 4]), RangeError, 'normalizedShape');
    expectInvalid(() => normkit.describeLayerNorm([2, 3, 4], []), RangeError, 'normalizedShape');
    expectInvalid(() => normkit.describeLayerNorm([2, -3, 4], [4]), RangeError, 'shape');
    expectInvalid(
      () => normkit.describeLayerNorm('2,3' as unknown as number[], [3]),
      TypeError,
      'shape',
    );
  });
});
