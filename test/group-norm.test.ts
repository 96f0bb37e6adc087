// groupNorm, GroupNorm and describeGroupNorm: semantics against a float64 formula of
// torch.nn.functional.group_norm (per sample and group of consecutive channels: mean and biased
// variance; per-channel weight and bias), its relations to LayerNorm (G = 1) and InstanceNorm
// (G = C), layouts, argument checks and the module's state dict. Semantics run on both backends.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { GroupNormOptions, Tensor } from 'normkit';
import { mulberry32, normal, randomFloats } from './helpers/prng';
import {
  type ArgumentCase,
  describeArgumentCases,
  expectClose,
  expectInvalid,
  expectSameValues,
  expectUnchanged,
  prod,
  snapshot,
  toChannelsFirst,
  toChannelsLast,
} from './helpers/tensors';

type Api = typeof normkit.reference;
const BACKENDS: ReadonlyArray<readonly [string, Api]> = [
  ['default backend', normkit],
  ['reference', normkit.reference],
];

/** torch.nn.functional.group_norm in float64 on channels-first data of logical shape (N, C, ...spatial). */
function groupNormFormula(
  x: ArrayLike<number>,
  shape: readonly number[],
  groups: number,
  weight: ArrayLike<number> | null = null,
  bias: ArrayLike<number> | null = null,
  eps = 1e-5,
): number[] {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const per = c / groups;
  const y = new Array<number>(x.length).fill(0);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < groups; g++) {
      const base = (i * c + g * per) * s;
      const count = per * s;
      let mean = 0;
      for (let k = 0; k < count; k++) mean += x[base + k];
      mean /= count;
      let variance = 0;
      for (let k = 0; k < count; k++) variance += (x[base + k] - mean) ** 2;
      variance /= count;
      for (let k = 0; k < count; k++) {
        const ch = g * per + Math.floor(k / s);
        const v = (x[base + k] - mean) / Math.sqrt(variance + eps);
        y[base + k] = v * (weight ? weight[ch] : 1) + (bias ? bias[ch] : 0);
      }
    }
  }
  return y;
}

const rng = mulberry32(0x6e0b);

/** Per-channel data with different offsets and scales, so a channel or group mix-up shows. */
function channelTensor(shape: number[]): Tensor {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const data = new Float32Array(prod(shape));
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++) data[(i * c + ch) * s + k] = 2 * ch - 3 + (ch + 1) * normal(rng);
    }
  }
  return { data, shape };
}

describe('groupNorm', () => {
  for (const [label, api] of BACKENDS) {
    describe(`semantics (${label})`, () => {
      it('gives the worked example: (1, 4, 2) in 2 groups', () => {
        const x: Tensor = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [1, 4, 2] };
        const y = api.groupNorm(x, 2);
        expect(y.shape).to.deep.equal([1, 4, 2]);
        // Each group of 2 channels x 2 values: mean 2.5 (or 6.5), biased variance 1.25.
        const s = Math.sqrt(1.25 + 1e-5);
        const g = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
        expectClose(y.data, [...g, ...g]);
      });

      it('scales and shifts per channel, not per group', () => {
        const x: Tensor = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [1, 4, 2] };
        const weight = new Float32Array([1, 2, 3, 4]);
        const bias = new Float32Array([0, 1, 0, -1]);
        const s = Math.sqrt(1.25 + 1e-5);
        const z = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
        expectClose(api.groupNorm(x, 2, { weight, bias }).data, [
          z[0],
          z[1],
          2 * z[2] + 1,
          2 * z[3] + 1,
          3 * z[0],
          3 * z[1],
          4 * z[2] - 1,
          4 * z[3] - 1,
        ]);
        expectClose(
          api.groupNorm(x, 2, { weight }).data,
          groupNormFormula(x.data, x.shape, 2, weight),
          undefined,
          'weight only',
        );
        expectClose(
          api.groupNorm(x, 2, { bias, weight: null }).data,
          groupNormFormula(x.data, x.shape, 2, null, bias),
          undefined,
          'bias only',
        );
      });

      for (const [shape, groups] of [
        [[3, 6], 3],
        [[2, 6, 5], 2],
        [[2, 4, 3, 3], 4],
        [[2, 6, 2, 2, 3], 3],
        [[1, 8, 7], 1],
        [[2, 4, 1, 1, 1, 2], 2],
      ] as Array<[number[], number]>) {
        it(`matches the formula at rank ${shape.length}, shape [${shape}], ${groups} groups`, () => {
          const x = channelTensor(shape);
          const c = shape[1];
          const weight = randomFloats(rng, c);
          const bias = randomFloats(rng, c);
          const y = api.groupNorm(x, groups, { weight, bias, eps: 1e-3 });
          expect(y.shape).to.deep.equal(shape);
          expectClose(y.data, groupNormFormula(x.data, shape, groups, weight, bias, 1e-3));
        });
      }

      it('adds eps to the variance before the square root (default 1e-5)', () => {
        // One group of [0, 2]: mean 1, biased variance 1.
        const x: Tensor = { data: new Float32Array([0, 2]), shape: [1, 2] };
        expectClose(api.groupNorm(x, 1, { eps: 0 }).data, [-1, 1]);
        expectClose(api.groupNorm(x, 1, { eps: 3 }).data, [-0.5, 0.5]);
        expectClose(api.groupNorm(x, 1).data, [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5)]);
      });

      it('with one group equals layerNorm over (C, ...spatial), weight spread per channel', () => {
        const shape = [3, 4, 5];
        const x = channelTensor(shape);
        const weight = randomFloats(rng, 4);
        const bias = randomFloats(rng, 4);
        const spread = (p: Float32Array) =>
          Float32Array.from({ length: 20 }, (_, i) => p[(i / 5) | 0]);
        expectClose(api.groupNorm(x, 1).data, api.layerNorm(x, [4, 5]).data, undefined, 'plain');
        expectClose(
          api.groupNorm(x, 1, { weight, bias }).data,
          api.layerNorm(x, [4, 5], { weight: spread(weight), bias: spread(bias) }).data,
          undefined,
          'affine',
        );
      });

      it('with one group per channel equals instanceNorm', () => {
        for (const shape of [
          [2, 3, 5],
          [2, 4, 2, 3],
        ]) {
          const x = channelTensor(shape);
          const c = shape[1];
          const weight = randomFloats(rng, c);
          const bias = randomFloats(rng, c);
          expectClose(api.groupNorm(x, c).data, api.instanceNorm(x).data, undefined, `[${shape}]`);
          expectClose(
            api.groupNorm(x, c, { weight, bias }).data,
            api.instanceNorm(x, { weight, bias }).data,
            undefined,
            `[${shape}] affine`,
          );
        }
      });

      it('normalizes a group of one value (C = G, rank 2) to exactly the bias', () => {
        const bias = new Float32Array([0.5, -2, 7]);
        const y = api.groupNorm(
          { data: new Float32Array([3, -40, 1e6, 1, 2, 3]), shape: [2, 3] },
          3,
          { weight: new Float32Array([9, 9, 9]), bias },
        );
        expectSameValues(y.data, [...bias, ...bias]);
      });

      it('makes a group with NaN or an infinity all NaN and leaves the other groups alone', () => {
        const shape = [2, 4, 3];
        const x = channelTensor(shape);
        const weight = randomFloats(rng, 4);
        const bias = randomFloats(rng, 4);
        const clean = api.groupNorm(x, 2, { weight, bias }).data;
        const dirty = x.data.slice();
        dirty[(1 * 4 + 2) * 3 + 1] = NaN; // sample 1, channel 2: group 1
        dirty[(0 * 4 + 1) * 3 + 2] = -Infinity; // sample 0, channel 1: group 0
        const y = api.groupNorm({ data: dirty, shape }, 2, { weight, bias }).data;
        const group = (n: number, g: number) => [(n * 4 + 2 * g) * 3, (n * 4 + 2 * g + 2) * 3];
        for (const [n, g] of [
          [1, 1],
          [0, 0],
        ]) {
          const [a, b] = group(n, g);
          expectSameValues(y.subarray(a, b), new Array(6).fill(NaN), `sample ${n} group ${g}`);
        }
        for (const [n, g] of [
          [0, 1],
          [1, 0],
        ]) {
          const [a, b] = group(n, g);
          expectSameValues(y.subarray(a, b), clean.subarray(a, b), `sample ${n} group ${g}`);
        }
        const inf = x.data.slice();
        inf[0] = Infinity;
        const yi = api.groupNorm({ data: inf, shape }, 4).data;
        expectSameValues(yi.subarray(0, 3), [NaN, NaN, NaN], 'a lone infinity');
      });

      describe('layout channels_last', () => {
        for (const [shape, groups] of [
          [[3, 6], 2],
          [[2, 6, 5], 3],
          [[2, 4, 3, 3], 2],
          [[1, 6, 2, 2, 2], 6],
        ] as Array<[number[], number]>) {
          it(`equals the transposed channels_first result for [${shape}], ${groups} groups`, () => {
            const x = channelTensor(shape);
            const c = shape[1];
            const weight = randomFloats(rng, c);
            const bias = randomFloats(rng, c);
            const first = api.groupNorm(x, groups, { weight, bias });
            const last = api.groupNorm({ data: toChannelsLast(x.data, shape), shape }, groups, {
              weight,
              bias,
              layout: 'channels_last',
            });
            expect(last.shape).to.deep.equal(shape);
            expectClose(toChannelsFirst(last.data, shape), first.data, { abs: 1e-6, rel: 1e-6 });
            expectSameValues(
              api.groupNorm(x, groups, { weight, bias, layout: 'channels_first' }).data,
              first.data,
              'channels_first said',
            );
          });
        }

        it('is read from the stored order: (N, L, C) with groups of consecutive channels', () => {
          // Logical (1, 4, 2) stored (1, 2, 4): channels 0 and 1 hold 1, 3 and 2, 4.
          const stored = new Float32Array([1, 2, 100, 104, 3, 4, 110, 114]);
          const y = api.groupNorm({ data: stored, shape: [1, 4, 2] }, 2, {
            layout: 'channels_last',
          });
          const s0 = Math.sqrt(1.25 + 1e-5); // {1, 2, 3, 4}: mean 2.5
          const s1 = Math.sqrt(29 + 1e-5); // {100, 104, 110, 114}: mean 107
          expectClose(y.data, [
            -1.5 / s0,
            -0.5 / s0,
            -7 / s1,
            -3 / s1,
            0.5 / s0,
            1.5 / s0,
            3 / s1,
            7 / s1,
          ]);
        });
      });

      for (const layout of ['channels_first', 'channels_last'] as const) {
        it(`writes into out and in place (out === input.data), ${layout}`, () => {
          const x = channelTensor([2, 6, 4]);
          const weight = randomFloats(rng, 6);
          const expected = api.groupNorm(x, 3, { weight, layout }).data;
          const out = new Float32Array(48).fill(9);
          expect(api.groupNorm(x, 3, { weight, layout, out }).data).to.equal(out);
          expectSameValues(out, expected, 'out');
          const y = api.groupNorm(x, 3, { weight, layout, out: x.data });
          expect(y.data).to.equal(x.data);
          expectSameValues(x.data, expected, 'in place');
        });
      }

      it('gives empty results for zero-size tensors', () => {
        for (const layout of ['channels_first', 'channels_last'] as const) {
          for (const [shape, groups] of [
            [[0, 4, 3], 2],
            [[2, 4, 0], 4],
            [[2, 0, 3], 1],
            [[0, 6], 3],
          ] as Array<[number[], number]>) {
            const y = api.groupNorm({ data: new Float32Array(0), shape }, groups, {
              weight: new Float32Array(shape[1]),
              bias: new Float32Array(shape[1]),
              layout,
            });
            expect(y.data.length, `[${shape}] ${layout}`).to.equal(0);
            expect(y.shape).to.deep.equal(shape);
          }
        }
      });
    });
  }

  describe('argument checks', () => {
    type Case = ArgumentCase<Api>;

    // A valid call on (2, 4, 3) in 2 groups, with every array it could touch.
    function setup() {
      const input: Tensor = {
        data: Float32Array.from({ length: 24 }, (_, i) => Math.cos(i) * 2),
        shape: [2, 4, 3],
      };
      const weight = new Float32Array([1, 2, 3, 4]);
      const bias = new Float32Array([-1, 0, 1, 2]);
      const out = new Float32Array(24).fill(42);
      const options: GroupNormOptions = { weight, bias, out };
      return { input, options, arrays: [input.data, weight, bias, out] };
    }

    const withArgs = (
      kind: Case['kind'],
      argument: string,
      name: string,
      change: (
        o: Record<string, unknown>,
        s: ReturnType<typeof setup>,
      ) => { input?: unknown; numGroups?: unknown } | void,
    ): Case => ({
      name,
      kind,
      argument,
      make() {
        const s = setup();
        const o: Record<string, unknown> = { ...s.options };
        const r = change(o, s) || {};
        const input = 'input' in r ? r.input : s.input;
        const numGroups = 'numGroups' in r ? r.numGroups : 2;
        return {
          arrays: s.arrays,
          call: (api) => api.groupNorm(input as Tensor, numGroups as number, o as GroupNormOptions),
        };
      },
    });
    const withInput = (
      kind: Case['kind'],
      argument: string,
      name: string,
      input: (s: ReturnType<typeof setup>) => unknown,
    ) => withArgs(kind, argument, name, (_, s) => ({ input: input(s) }));
    const withGroups = (kind: Case['kind'], name: string, numGroups: unknown) =>
      withArgs(kind, 'numGroups', name, () => ({ numGroups }));

    const cases: Case[] = [
      withInput(TypeError, 'input', 'input a string', () => 'x'),
      withInput(TypeError, 'input.data', 'data a Float64Array', () => ({
        data: new Float64Array(24),
        shape: [2, 4, 3],
      })),
      withInput(TypeError, 'input.shape', 'shape missing', (s) => ({ data: s.input.data })),
      withInput(RangeError, 'input.shape', 'fractional dim', (s) => ({
        data: s.input.data,
        shape: [2, 4, 3.5],
      })),
      withInput(RangeError, 'input.data', 'prod(shape) !== data.length', (s) => ({
        data: s.input.data,
        shape: [2, 4, 4],
      })),
      withInput(RangeError, 'input.shape', 'rank 1', (s) => ({ data: s.input.data, shape: [24] })),
      withInput(RangeError, 'input.shape', 'rank 0', (s) => ({
        data: s.input.data.subarray(0, 1),
        shape: [],
      })),
      withGroups(RangeError, 'numGroups 0', 0),
      withGroups(RangeError, 'numGroups negative', -2),
      withGroups(RangeError, 'numGroups fractional', 1.5),
      withGroups(RangeError, 'numGroups NaN', NaN),
      withGroups(TypeError, 'numGroups a string', '2'),
      withGroups(TypeError, 'numGroups missing', undefined),
      withGroups(RangeError, 'channels not divisible by numGroups', 3),
      withGroups(RangeError, 'more groups than channels', 8),
      withArgs(RangeError, 'weight', 'weight of numGroups values, not C', (o) => {
        o.weight = new Float32Array(2);
      }),
      withArgs(TypeError, 'weight', 'weight a plain array', (o) => {
        o.weight = [1, 1, 1, 1];
      }),
      withArgs(RangeError, 'bias', 'bias too long', (o) => {
        o.bias = new Float32Array(5);
      }),
      withArgs(TypeError, 'bias', 'bias a Float64Array', (o) => {
        o.bias = new Float64Array(4);
      }),
      withArgs(RangeError, 'eps', 'eps negative', (o) => {
        o.eps = -1e-5;
      }),
      withArgs(TypeError, 'eps', 'eps a boolean', (o) => {
        o.eps = true;
      }),
      withArgs(RangeError, 'layout', 'layout unknown', (o) => {
        o.layout = 'NHWC';
      }),
      withArgs(TypeError, 'layout', 'layout a boolean', (o) => {
        o.layout = true;
      }),
      withArgs(RangeError, 'out', 'out too short', (o) => {
        o.out = new Float32Array(23);
      }),
      withArgs(TypeError, 'out', 'out an Array', (o) => {
        o.out = new Array(24).fill(0);
      }),
      withArgs(RangeError, 'out', 'out sharing memory with weight', (o, s) => {
        const buffer = new Float32Array(26).fill(1);
        s.arrays.push(buffer);
        o.weight = buffer.subarray(22, 26);
        o.out = buffer.subarray(0, 24);
      }),
      withArgs(RangeError, 'out', 'out the bias itself (C values, N = 1, L = 1)', (o, s) => {
        o.out = s.options.bias;
        return { input: { data: s.input.data.subarray(0, 4), shape: [1, 4] } };
      }),
      withArgs(RangeError, 'out', 'out partly overlapping the input', (o, s) => {
        const buffer = new Float32Array(27);
        buffer.set(s.input.data);
        s.arrays.push(buffer);
        o.out = buffer.subarray(3, 27);
        return { input: { data: buffer.subarray(0, 24), shape: [2, 4, 3] } };
      }),
      withArgs(TypeError, 'options.numGroups', 'numGroups as an option', (o) => {
        o.numGroups = 2;
      }),
      withArgs(TypeError, 'options.affine', 'a module option', (o) => {
        o.affine = true;
      }),
      {
        name: 'options an array',
        kind: TypeError,
        argument: 'options',
        make() {
          const s = setup();
          return {
            arrays: s.arrays,
            call: (api) => api.groupNorm(s.input, 2, [] as unknown as GroupNormOptions),
          };
        },
      },
    ];

    describeArgumentCases(cases, BACKENDS, 'input, parameter or out');

    it('names the channel count and shape in the divisibility error', () => {
      const e = expectInvalid(
        () => normkit.groupNorm({ data: new Float32Array(12), shape: [2, 6] }, 4),
        RangeError,
        'numGroups',
      );
      expect(e.message).to.contain('6 channels');
      expect(e.message).to.match(/received 4$/);
    });
  });
});

describe('GroupNorm', () => {
  it('has PyTorch defaults: affine, weight ones, bias zeros, eps 1e-5, channels_first', () => {
    const gn = new normkit.GroupNorm(2, 6);
    expect(gn.numGroups).to.equal(2);
    expect(gn.numChannels).to.equal(6);
    expect(gn.eps).to.equal(1e-5);
    expect(gn.affine).to.equal(true);
    expect(gn.layout).to.equal('channels_first');
    expectSameValues(gn.weight!, [1, 1, 1, 1, 1, 1], 'weight');
    expectSameValues(gn.bias!, [0, 0, 0, 0, 0, 0], 'bias');
    expect(gn.weight).to.be.instanceOf(Float32Array);
    expect(gn.bias).to.be.instanceOf(Float32Array);
  });

  it('forwards with its own groups, weight, bias and eps', () => {
    const gn = new normkit.GroupNorm(3, 6, { eps: 0.01 });
    const weight = randomFloats(rng, 6);
    const bias = randomFloats(rng, 6);
    gn.weight!.set(weight);
    gn.bias!.set(bias);
    const x = channelTensor([2, 6, 2, 3]);
    const y = gn.forward(x);
    expect(y.shape).to.deep.equal([2, 6, 2, 3]);
    expectClose(y.data, groupNormFormula(x.data, x.shape, 3, weight, bias, 0.01));
    expectSameValues(
      y.data,
      normkit.groupNorm(x, 3, { weight, bias, eps: 0.01 }).data,
      'functional',
    );
  });

  it('has no parameters without affine', () => {
    const gn = new normkit.GroupNorm(2, 4, { affine: false });
    expect(gn.weight).to.equal(null);
    expect(gn.bias).to.equal(null);
    const x = channelTensor([3, 4, 5]);
    expectClose(gn.forward(x).data, groupNormFormula(x.data, x.shape, 2));
    expect(gn.stateDict()).to.deep.equal({});
    gn.loadStateDict({});
  });

  it('with layout channels_last takes the logical shape and stores channels last', () => {
    const first = new normkit.GroupNorm(2, 4);
    const last = new normkit.GroupNorm(2, 4, { layout: 'channels_last' });
    expect(last.layout).to.equal('channels_last');
    const x = channelTensor([2, 4, 3, 2]);
    const yFirst = first.forward(x);
    const yLast = last.forward({ data: toChannelsLast(x.data, x.shape), shape: x.shape });
    expectClose(toChannelsFirst(yLast.data, x.shape), yFirst.data, { abs: 1e-6, rel: 1e-6 });
  });

  it('forwards into out, in place included', () => {
    const gn = new normkit.GroupNorm(1, 2);
    const x = channelTensor([2, 2, 3]);
    const expected = gn.forward(x).data;
    const out = new Float32Array(12);
    expect(gn.forward(x, { out }).data).to.equal(out);
    expectSameValues(out, expected);
    expect(gn.forward(x, { out: x.data }).data).to.equal(x.data);
    expectSameValues(x.data, expected, 'in place');
  });

  it('rejects bad constructor arguments', () => {
    expectInvalid(() => new normkit.GroupNorm(0, 4), RangeError, 'numGroups');
    expectInvalid(() => new normkit.GroupNorm(1.5, 3), RangeError, 'numGroups');
    expectInvalid(() => new normkit.GroupNorm('2' as unknown as number, 4), TypeError, 'numGroups');
    expectInvalid(() => new normkit.GroupNorm(2, 0), RangeError, 'numChannels');
    expectInvalid(
      () => new normkit.GroupNorm(2, null as unknown as number),
      TypeError,
      'numChannels',
    );
    expectInvalid(() => new normkit.GroupNorm(4, 6), RangeError, 'numChannels');
    expectInvalid(() => new normkit.GroupNorm(2, 4, { eps: -1 }), RangeError, 'eps');
    expectInvalid(
      () => new normkit.GroupNorm(2, 4, { affine: 'yes' as unknown as boolean }),
      TypeError,
      'affine',
    );
    expectInvalid(
      () => new normkit.GroupNorm(2, 4, { layout: 'nchw' as never }),
      RangeError,
      'layout',
    );
    expectInvalid(
      () => new normkit.GroupNorm(2, 4, { num_groups: 2 } as never),
      TypeError,
      'options.num_groups',
    );
  });

  it('rejects bad forward calls, changing nothing', () => {
    const gn = new normkit.GroupNorm(2, 4);
    gn.weight!.set([1, 2, 3, 4]);
    const out = new Float32Array(12).fill(5);
    const failures: Array<[() => unknown, typeof TypeError | typeof RangeError, string]> = [
      [() => gn.forward(channelTensor([12]), { out }), RangeError, 'input.shape'],
      [
        () => gn.forward(channelTensor([1, 4, 3]), { out: new Float32Array(11) }),
        RangeError,
        'out',
      ],
      [
        () => gn.forward(channelTensor([1, 4, 3]), { out, eps: 1 } as never),
        TypeError,
        'options.eps',
      ],
      [() => gn.forward(undefined as unknown as Tensor, { out }), TypeError, 'input'],
    ];
    for (const [call, kind, argument] of failures) {
      expectInvalid(call, kind, argument);
      expectSameValues(out, new Array(12).fill(5), `out after ${argument}`);
      expectSameValues(gn.weight!, [1, 2, 3, 4], `weight after ${argument}`);
    }
    // A channel count other than numChannels: PyTorch rejects the weight of the wrong size.
    expect(() => gn.forward(channelTensor([1, 6, 2]), { out })).to.throw(
      RangeError,
      /^Expected .+ for (weight|input\.shape\[1\]), but received .+/,
    );
    expectSameValues(out, new Array(12).fill(5), 'out after a channel mismatch');
  });

  describe('state dict', () => {
    it('returns copies under the keys weight and bias, and loads them back', () => {
      const a = new normkit.GroupNorm(2, 4);
      a.weight!.set([1, 2, 3, 4]);
      a.bias!.set([5, 6, 7, 8]);
      const d = a.stateDict();
      expect(Object.keys(d).sort()).to.deep.equal(['bias', 'weight']);
      expect(d.weight).to.not.equal(a.weight);
      d.bias![0] = 100;
      expect(a.bias![0]).to.equal(5);
      const b = new normkit.GroupNorm(2, 4);
      b.loadStateDict(d);
      expectSameValues(b.weight!, [1, 2, 3, 4]);
      expectSameValues(b.bias!, [100, 6, 7, 8]);
      d.weight![0] = 50;
      expect(b.weight![0]).to.equal(1);
    });

    it('rejects bad dicts strictly, changing nothing', () => {
      const gn = new normkit.GroupNorm(2, 4);
      gn.weight!.set([1, 2, 3, 4]);
      const before = snapshot([gn.weight, gn.bias]);
      const good = () => ({
        weight: new Float32Array(4).fill(7),
        bias: new Float32Array(4).fill(7),
      });
      const bad: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
        [{ ...good(), weight: new Float32Array(2) }, RangeError, 'dict.weight'],
        [{ ...good(), bias: new Float64Array(4) }, TypeError, 'dict.bias'],
        [{ weight: good().weight }, TypeError, 'dict.bias'],
        [{ ...good(), running_mean: new Float32Array(4) }, RangeError, 'dict.running_mean'],
        [[good().weight], TypeError, 'dict'],
        [undefined, TypeError, 'dict'],
      ];
      for (const [dict, kind, argument] of bad) {
        expectInvalid(() => gn.loadStateDict(dict as normkit.GroupNormStateDict), kind, argument);
        expectUnchanged([gn.weight, gn.bias], before, `state after ${argument}`);
      }
      expectInvalid(
        () => new normkit.GroupNorm(2, 4, { affine: false }).loadStateDict(good()),
        RangeError,
        'dict.weight',
      );
    });
  });
});

describe('describeGroupNorm', () => {
  it('gives the worked example: (2, 6, 4, 4) in 3 groups', () => {
    expect(normkit.describeGroupNorm([2, 6, 4, 4], 3)).to.deep.equal({
      statistics: 6,
      valuesPerStatistic: 32,
      paramShape: [6],
    });
  });

  it('counts N * G statistics of C / G * spatial values at every rank', () => {
    expect(normkit.describeGroupNorm([5, 4], 2)).to.deep.equal({
      statistics: 10,
      valuesPerStatistic: 2,
      paramShape: [4],
    });
    expect(normkit.describeGroupNorm([2, 4, 3, 1, 2, 2], 1)).to.deep.equal({
      statistics: 2,
      valuesPerStatistic: 48,
      paramShape: [4],
    });
    expect(normkit.describeGroupNorm([0, 6, 3], 6)).to.deep.equal({
      statistics: 0,
      valuesPerStatistic: 3,
      paramShape: [6],
    });
  });

  it('rejects what groupNorm rejects', () => {
    expectInvalid(() => normkit.describeGroupNorm([6], 2), RangeError, 'shape');
    expectInvalid(() => normkit.describeGroupNorm([2, -6], 2), RangeError, 'shape');
    expectInvalid(() => normkit.describeGroupNorm('2,6' as never, 2), TypeError, 'shape');
    expectInvalid(() => normkit.describeGroupNorm([2, 6], 4), RangeError, 'numGroups');
    expectInvalid(() => normkit.describeGroupNorm([2, 6], 0), RangeError, 'numGroups');
    expectInvalid(() => normkit.describeGroupNorm([2, 6], '3' as never), TypeError, 'numGroups');
  });
});
