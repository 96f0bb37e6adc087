// instanceNorm, InstanceNorm1d/2d/3d and describeInstanceNorm: semantics against a float64
// formula of torch.nn.functional.instance_norm (each sample's channel over its spatial axes),
// PyTorch's running-statistics update (the batch mean of the per-instance updates, unbiased
// variance), layouts, argument checks, train/eval, unbatched input and state dicts. Semantics
// run on both backends.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { InstanceNormOptions, Tensor } from 'normkit';
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

interface Formula {
  y: number[];
  /** Per (sample, channel), n * C + c. */
  mean: number[];
  /** Per (sample, channel): biased (what normalizes). */
  variance: number[];
  /** Per (sample, channel): unbiased (what the running variance takes). */
  unbiased: number[];
}

/**
 * torch.nn.functional.instance_norm in float64 on channels-first data of logical shape
 * (N, C, ...spatial): each instance's own statistics when `stats` is null, else the running ones.
 */
function instanceNormFormula(
  x: ArrayLike<number>,
  shape: readonly number[],
  opts: {
    stats?: { mean: ArrayLike<number>; variance: ArrayLike<number> } | null;
    weight?: ArrayLike<number> | null;
    bias?: ArrayLike<number> | null;
    eps?: number;
  } = {},
): Formula {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const eps = opts.eps ?? 1e-5;
  const f: Formula = { y: new Array(x.length).fill(0), mean: [], variance: [], unbiased: [] };
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * s;
      let m = 0;
      for (let k = 0; k < s; k++) m += x[base + k];
      m /= s;
      let ss = 0;
      for (let k = 0; k < s; k++) ss += (x[base + k] - m) ** 2;
      f.mean.push(m);
      f.variance.push(ss / s);
      f.unbiased.push(ss / (s - 1));
      const useMean = opts.stats ? opts.stats.mean[ch] : m;
      const useVar = opts.stats ? opts.stats.variance[ch] : ss / s;
      const w = opts.weight ? opts.weight[ch] : 1;
      const b = opts.bias ? opts.bias[ch] : 0;
      for (let k = 0; k < s; k++) {
        f.y[base + k] = ((x[base + k] - useMean) / Math.sqrt(useVar + eps)) * w + b;
      }
    }
  }
  return f;
}

/**
 * PyTorch's update: instance_norm runs batch_norm over the (1, N * C, ...) reshape with the
 * running statistics repeated N times, then stores the mean over the batch of the N updates.
 */
function runningUpdate(
  running: ArrayLike<number>,
  perInstance: readonly number[],
  n: number,
  momentum: number,
): number[] {
  const c = running.length;
  return Array.from({ length: c }, (_, ch) => {
    let sum = 0;
    for (let i = 0; i < n; i++)
      sum += (1 - momentum) * running[ch] + momentum * perInstance[i * c + ch];
    return sum / n;
  });
}

const rng = mulberry32(0x1a57);

function randomTensor(shape: number[], mean = 0, std = 1): Tensor {
  return { data: randomFloats(rng, prod(shape), mean, std), shape };
}

/** Per-instance data with different offsets and scales, so a channel or sample mix-up shows. */
function instanceTensor(shape: number[]): Tensor {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const data = new Float32Array(prod(shape));
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++)
        data[(i * c + ch) * s + k] = 3 * ch - i + (ch + i + 1) * normal(rng);
    }
  }
  return { data, shape };
}

function runningStats(c: number): { runningMean: Float32Array; runningVar: Float32Array } {
  return {
    runningMean: randomFloats(rng, c),
    runningVar: Float32Array.from(randomFloats(rng, c), (v) => 0.5 + Math.abs(v)),
  };
}

describe('instanceNorm', () => {
  for (const [label, api] of BACKENDS) {
    describe(`semantics (${label})`, () => {
      it('gives the worked example: each (sample, channel) row on its own', () => {
        const x: Tensor = { data: new Float32Array([1, 2, 3, 10, 10, 40]), shape: [1, 2, 3] };
        const y = api.instanceNorm(x);
        expect(y.shape).to.deep.equal([1, 2, 3]);
        // [1, 2, 3]: mean 2, variance 2/3; [10, 10, 40]: mean 20, variance 200.
        const a = Math.sqrt(2 / 3 + 1e-5);
        const b = Math.sqrt(200 + 1e-5);
        expectClose(y.data, [-1 / a, 0, 1 / a, -10 / b, -10 / b, 20 / b]);
      });

      it('updates the running stats by hand-computed values: the mean of the per-instance updates', () => {
        // One channel, two samples: [1, 2, 3] (mean 2, unbiased var 1) and [2, 4, 9] (mean 5,
        // unbiased var 13). BatchNorm would pool them (mean 3.5, unbiased var 8.3).
        const runningMean = new Float32Array([0.5]);
        const runningVar = new Float32Array([2]);
        api.instanceNorm(
          { data: new Float32Array([1, 2, 3, 2, 4, 9]), shape: [2, 1, 3] },
          { runningMean, runningVar },
        );
        expect(runningMean[0]).to.be.closeTo(0.9 * 0.5 + 0.1 * 3.5, 1e-6); // 0.8
        expect(runningVar[0]).to.be.closeTo(0.9 * 2 + 0.1 * 7, 1e-6); // 2.5
        // momentum 0.5 on the new values
        api.instanceNorm(
          { data: new Float32Array([1, 2, 3, 2, 4, 9]), shape: [2, 1, 3] },
          { runningMean, runningVar, momentum: 0.5 },
        );
        expect(runningMean[0]).to.be.closeTo(0.5 * 0.8 + 0.5 * 3.5, 1e-6);
        expect(runningVar[0]).to.be.closeTo(0.5 * 2.5 + 0.5 * 7, 1e-6);
      });

      for (const shape of [
        [2, 3, 5],
        [3, 2, 4, 3],
        [2, 2, 2, 3, 2],
        [1, 4, 7],
        [2, 3, 2],
      ]) {
        it(`matches the formula and PyTorch's running update at rank ${shape.length}, [${shape}]`, () => {
          const x = instanceTensor(shape);
          const c = shape[1];
          const weight = randomFloats(rng, c);
          const bias = randomFloats(rng, c);
          const stats = runningStats(c);
          const rm0 = stats.runningMean.slice();
          const rv0 = stats.runningVar.slice();
          const y = api.instanceNorm(x, { ...stats, weight, bias, momentum: 0.3, eps: 1e-3 });
          const f = instanceNormFormula(x.data, shape, { weight, bias, eps: 1e-3 });
          expect(y.shape).to.deep.equal(shape);
          expectClose(y.data, f.y, undefined, 'output');
          expectClose(
            stats.runningMean,
            runningUpdate(rm0, f.mean, shape[0], 0.3),
            undefined,
            'mean',
          );
          expectClose(
            stats.runningVar,
            runningUpdate(rv0, f.unbiased, shape[0], 0.3),
            undefined,
            'var',
          );
        });
      }

      it('gives the same output with or without running stats, with one or both of them', () => {
        const x = instanceTensor([3, 2, 4]);
        const alone = api.instanceNorm(x).data;
        expectClose(alone, instanceNormFormula(x.data, x.shape).y);
        expectSameValues(api.instanceNorm(x, runningStats(2)).data, alone, 'both');
        expectSameValues(api.instanceNorm(x, { useInputStats: true }).data, alone, 'said');
        const runningMean = new Float32Array([1, 2]);
        const y = api.instanceNorm(x, { runningMean, runningVar: null });
        expectSameValues(y.data, alone, 'mean only');
        const f = instanceNormFormula(x.data, x.shape);
        expectClose(runningMean, runningUpdate([1, 2], f.mean, 3, 0.1), undefined, 'mean only');
        const runningVar = new Float32Array([3, 4]);
        api.instanceNorm(x, { runningVar });
        expectClose(runningVar, runningUpdate([3, 4], f.unbiased, 3, 0.1), undefined, 'var only');
      });

      for (const momentum of [0, 1]) {
        it(`with momentum ${momentum} ${momentum ? 'replaces' : 'keeps'} the running stats`, () => {
          const x = instanceTensor([2, 3, 4]);
          const stats = runningStats(3);
          const before = snapshot([stats.runningMean, stats.runningVar]);
          api.instanceNorm(x, { ...stats, momentum });
          const f = instanceNormFormula(x.data, x.shape);
          if (momentum === 0) {
            expectUnchanged([stats.runningMean, stats.runningVar], before, 'running stats');
          } else {
            expectClose(stats.runningMean, runningUpdate([0, 0, 0], f.mean, 2, 1));
            expectClose(stats.runningVar, runningUpdate([0, 0, 0], f.unbiased, 2, 1));
          }
        });
      }

      it('normalizes with the running stats when useInputStats is false, leaving them unchanged', () => {
        const x = instanceTensor([2, 3, 5]);
        const stats = runningStats(3);
        const weight = randomFloats(rng, 3);
        const bias = randomFloats(rng, 3);
        const before = snapshot([stats.runningMean, stats.runningVar]);
        const y = api.instanceNorm(x, { ...stats, weight, bias, useInputStats: false });
        const f = instanceNormFormula(x.data, x.shape, {
          stats: { mean: stats.runningMean, variance: stats.runningVar },
          weight,
          bias,
        });
        expectClose(y.data, f.y);
        expectUnchanged([stats.runningMean, stats.runningVar], before, 'running stats');
        // One spatial value is fine here: nothing is estimated from it.
        const one = api.instanceNorm(
          { data: new Float32Array([3, 5, 1]), shape: [1, 3, 1] },
          {
            runningMean: new Float32Array([1, 1, 1]),
            runningVar: new Float32Array([4, 16, 0]),
            useInputStats: false,
          },
        );
        expectClose(one.data, [2 / Math.sqrt(4 + 1e-5), 4 / Math.sqrt(16 + 1e-5), 0]);
      });

      it('allows runningMean and runningVar to be one array when useInputStats is false', () => {
        const stats = new Float32Array([1, 4]);
        const y = api.instanceNorm(
          { data: new Float32Array([1, 3, 4, 8]), shape: [1, 2, 2] },
          { runningMean: stats, runningVar: stats, useInputStats: false },
        );
        expectClose(y.data, [0, 2 / Math.sqrt(1 + 1e-5), 0, 4 / Math.sqrt(4 + 1e-5)]);
        expectSameValues(stats, [1, 4]);
      });

      it('equals layerNorm over the spatial axes of the (N * C, spatial) rows', () => {
        const x = instanceTensor([2, 3, 2, 4]);
        expectClose(
          api.instanceNorm(x).data,
          api.layerNorm({ data: x.data, shape: [6, 8] }, 8).data,
        );
      });

      it("makes an instance with NaN or an infinity all NaN, and its channel's running stats NaN", () => {
        const shape = [3, 3, 4];
        const x = instanceTensor(shape);
        const weight = randomFloats(rng, 3);
        const clean = { ...runningStats(3), weight };
        const dirty = {
          runningMean: clean.runningMean.slice(),
          runningVar: clean.runningVar.slice(),
          weight,
        };
        const data = x.data.slice();
        data[(1 * 3 + 1) * 4 + 2] = NaN; // sample 1, channel 1
        data[(2 * 3 + 1) * 4 + 0] = Infinity; // sample 2, channel 1
        const yClean = api.instanceNorm(x, clean).data;
        const y = api.instanceNorm({ data, shape }, dirty).data;
        for (let n = 0; n < 3; n++) {
          for (let c = 0; c < 3; c++) {
            const at = (n * 3 + c) * 4;
            const row = y.subarray(at, at + 4);
            if (c === 1 && n > 0) expectSameValues(row, [NaN, NaN, NaN, NaN], `(${n}, ${c})`);
            else expectSameValues(row, yClean.subarray(at, at + 4), `(${n}, ${c})`);
          }
        }
        expectSameValues(
          [dirty.runningMean[0], dirty.runningMean[2], dirty.runningVar[0], dirty.runningVar[2]],
          [clean.runningMean[0], clean.runningMean[2], clean.runningVar[0], clean.runningVar[2]],
          'other channels',
        );
        expect(Number.isNaN(dirty.runningMean[1]), 'running mean of channel 1').to.equal(true);
        expect(Number.isNaN(dirty.runningVar[1]), 'running var of channel 1').to.equal(true);
      });

      it("gives an infinity's channel an infinite running mean and a NaN running var, as PyTorch", () => {
        // PyTorch's batch_norm statistics: mean = sum / n (+inf), variance from (x - mean)^2
        // (inf - inf: NaN); instance_norm then averages the updates over the batch.
        const x = instanceTensor([2, 2, 3]);
        const data = x.data.slice();
        data[(1 * 2 + 1) * 3 + 1] = Infinity; // sample 1, channel 1
        const runningMean = new Float32Array([0, 0]);
        const runningVar = new Float32Array([1, 1]);
        const y = api.instanceNorm({ data, shape: x.shape }, { runningMean, runningVar }).data;
        expectSameValues(y.subarray(9, 12), [NaN, NaN, NaN], 'instance (1, 1)');
        expect(runningMean[1], 'running mean of channel 1').to.equal(Infinity);
        expect(Number.isNaN(runningVar[1]), 'running var of channel 1').to.equal(true);
        expect(Number.isFinite(runningMean[0]) && Number.isFinite(runningVar[0])).to.equal(true);
      });

      describe('layout channels_last', () => {
        for (const shape of [
          [2, 3, 5],
          [2, 4, 3, 2],
          [1, 3, 2, 2, 2],
        ]) {
          for (const useInputStats of [true, false]) {
            it(`equals the transposed channels_first result for [${shape}], useInputStats ${useInputStats}`, () => {
              const x = instanceTensor(shape);
              const c = shape[1];
              const weight = randomFloats(rng, c);
              const bias = randomFloats(rng, c);
              const first = runningStats(c);
              const last = {
                runningMean: first.runningMean.slice(),
                runningVar: first.runningVar.slice(),
              };
              const yFirst = api.instanceNorm(x, { ...first, weight, bias, useInputStats });
              const yLast = api.instanceNorm(
                { data: toChannelsLast(x.data, shape), shape },
                { ...last, weight, bias, useInputStats, layout: 'channels_last' },
              );
              expect(yLast.shape).to.deep.equal(shape);
              const tol = { abs: 1e-6, rel: 1e-6 };
              expectClose(toChannelsFirst(yLast.data, shape), yFirst.data, tol, 'output');
              expectClose(last.runningMean, first.runningMean, tol, 'running mean');
              expectClose(last.runningVar, first.runningVar, tol, 'running var');
            });
          }
        }

        it('is read from the stored order, not the logical one', () => {
          // Logical (1, 2, 3) stored (1, 3, 2): channel 0 holds 1, 2, 3 and channel 1 10, 20, 60.
          const y = api.instanceNorm(
            { data: new Float32Array([1, 10, 2, 20, 3, 60]), shape: [1, 2, 3] },
            { layout: 'channels_last' },
          );
          const a = Math.sqrt(2 / 3 + 1e-5);
          const b = Math.sqrt(1400 / 3 + 1e-5);
          expectClose(y.data, [-1 / a, -20 / b, 0, -10 / b, 1 / a, 30 / b]);
        });
      });

      for (const layout of ['channels_first', 'channels_last'] as const) {
        it(`writes into out and in place (out === input.data), ${layout}`, () => {
          for (const useInputStats of [true, false]) {
            const x = instanceTensor([3, 2, 4]);
            const stats = runningStats(2);
            const copy = {
              runningMean: stats.runningMean.slice(),
              runningVar: stats.runningVar.slice(),
            };
            const weight = randomFloats(rng, 2);
            const expected = api.instanceNorm(
              { data: x.data.slice(), shape: x.shape },
              { ...copy, weight, useInputStats, layout },
            );
            const out = new Float32Array(24).fill(3);
            const separate = api.instanceNorm(
              { data: x.data.slice(), shape: x.shape },
              { ...runningStatsLike(stats), weight, useInputStats, layout, out },
            );
            expect(separate.data).to.equal(out);
            expectSameValues(out, expected.data, 'out');
            const y = api.instanceNorm(x, { ...stats, weight, useInputStats, layout, out: x.data });
            expect(y.data).to.equal(x.data);
            expectSameValues(x.data, expected.data, 'in place');
            expectSameValues(stats.runningMean, copy.runningMean, 'running mean');
            expectSameValues(stats.runningVar, copy.runningVar, 'running var');
          }
        });
      }

      it('gives empty results for zero-size tensors and leaves the running stats alone', () => {
        for (const layout of ['channels_first', 'channels_last'] as const) {
          for (const shape of [
            [0, 3, 4],
            [2, 3, 0],
            [2, 3, 0, 5],
          ]) {
            for (const useInputStats of [true, false]) {
              const runningMean = new Float32Array([1, 2, 3]);
              const runningVar = new Float32Array([4, 5, 6]);
              const y = api.instanceNorm(
                { data: new Float32Array(0), shape },
                { runningMean, runningVar, useInputStats, layout },
              );
              expect(y.data.length, `[${shape}]`).to.equal(0);
              expect(y.shape).to.deep.equal(shape);
              expectSameValues(runningMean, [1, 2, 3], `running mean [${shape}]`);
              expectSameValues(runningVar, [4, 5, 6], `running var [${shape}]`);
            }
          }
          const noChannels = api.instanceNorm(
            { data: new Float32Array(0), shape: [2, 0, 3] },
            { runningMean: new Float32Array(0), runningVar: new Float32Array(0), layout },
          );
          expect(noChannels.data.length).to.equal(0);
        }
      });
    });
  }

  describe('argument checks', () => {
    type Case = ArgumentCase<Api>;

    // A valid call with input statistics on (2, 3, 4), with every array it could touch.
    function setup() {
      const input: Tensor = {
        data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3),
        shape: [2, 3, 4],
      };
      const runningMean = new Float32Array([0.5, 1, 1.5]);
      const runningVar = new Float32Array([2, 3, 4]);
      const weight = new Float32Array([1, 2, 3]);
      const bias = new Float32Array([-1, 0, 1]);
      const out = new Float32Array(24).fill(42);
      const options: InstanceNormOptions = { runningMean, runningVar, weight, bias, out };
      return { input, options, arrays: [input.data, runningMean, runningVar, weight, bias, out] };
    }

    const withOptions = (
      kind: Case['kind'],
      argument: string,
      name: string,
      change: (o: Record<string, unknown>, s: ReturnType<typeof setup>) => void,
      input?: (s: ReturnType<typeof setup>) => unknown,
    ): Case => ({
      name,
      kind,
      argument,
      make() {
        const s = setup();
        const o: Record<string, unknown> = { ...s.options };
        change(o, s);
        return {
          arrays: s.arrays,
          call: (api) =>
            api.instanceNorm((input ? input(s) : s.input) as Tensor, o as InstanceNormOptions),
        };
      },
    });
    const withInput = (
      kind: Case['kind'],
      argument: string,
      name: string,
      input: (s: ReturnType<typeof setup>) => unknown,
    ) => withOptions(kind, argument, name, () => {}, input);

    const cases: Case[] = [
      withInput(TypeError, 'input', 'input null', () => null),
      withInput(TypeError, 'input.data', 'data an Int32Array', () => ({
        data: new Int32Array(24),
        shape: [2, 3, 4],
      })),
      withInput(TypeError, 'input.shape', 'shape with a string', (s) => ({
        data: s.input.data,
        shape: [2, '3', 4],
      })),
      withInput(RangeError, 'input.shape', 'NaN dim', (s) => ({
        data: s.input.data,
        shape: [2, 3, NaN],
      })),
      withInput(RangeError, 'input.data', 'prod(shape) !== data.length', (s) => ({
        data: s.input.data,
        shape: [2, 3, 5],
      })),
      withInput(RangeError, 'input.shape', 'rank 1', (s) => ({ data: s.input.data, shape: [24] })),
      withOptions(
        RangeError,
        'input.shape',
        'one spatial value with useInputStats (rank 2)',
        (o) => (o.out = new Float32Array(6)),
        (s) => ({ data: s.input.data.subarray(0, 6), shape: [2, 3] }),
      ),
      withOptions(
        RangeError,
        'input.shape',
        'one spatial value with useInputStats, channels_last',
        (o) => {
          o.layout = 'channels_last';
          o.out = new Float32Array(6);
        },
        (s) => ({ data: s.input.data.subarray(0, 6), shape: [2, 3, 1, 1] }),
      ),
      withOptions(
        RangeError,
        'runningMean and runningVar',
        'useInputStats false without running stats',
        (o) => {
          o.useInputStats = false;
          delete o.runningMean;
          delete o.runningVar;
        },
      ),
      withOptions(
        RangeError,
        'runningMean and runningVar',
        'useInputStats false without runningVar',
        (o) => {
          o.useInputStats = false;
          o.runningVar = null;
        },
      ),
      withOptions(RangeError, 'runningMean', 'runningMean too long', (o) => {
        o.runningMean = new Float32Array(4);
      }),
      withOptions(TypeError, 'runningMean', 'runningMean a plain array', (o) => {
        o.runningMean = [0, 0, 0];
      }),
      withOptions(TypeError, 'runningVar', 'runningVar a Float64Array', (o) => {
        o.runningVar = new Float64Array(3);
      }),
      withOptions(RangeError, 'runningVar', 'runningVar of N * C values', (o) => {
        o.runningVar = new Float32Array(6);
      }),
      withOptions(RangeError, 'weight', 'weight too short', (o) => {
        o.weight = new Float32Array(2);
      }),
      withOptions(TypeError, 'bias', 'bias a number', (o) => {
        o.bias = 0;
      }),
      withOptions(TypeError, 'useInputStats', 'useInputStats a string', (o) => {
        o.useInputStats = 'false';
      }),
      withOptions(TypeError, 'momentum', 'momentum a string', (o) => {
        o.momentum = '0.1';
      }),
      withOptions(TypeError, 'momentum', 'momentum null', (o) => {
        o.momentum = null;
      }),
      withOptions(RangeError, 'momentum', 'momentum infinite', (o) => {
        o.momentum = Infinity;
      }),
      withOptions(RangeError, 'eps', 'eps negative', (o) => {
        o.eps = -1;
      }),
      withOptions(RangeError, 'layout', 'layout unknown', (o) => {
        o.layout = 'channels_middle';
      }),
      withOptions(RangeError, 'out', 'out too short', (o) => {
        o.out = new Float32Array(23);
      }),
      withOptions(TypeError, 'out', 'out a DataView', (o) => {
        o.out = new DataView(new ArrayBuffer(96));
      }),
      withOptions(RangeError, 'out', 'out sharing memory with runningMean', (o, s) => {
        const buffer = new Float32Array(26);
        s.arrays.push(buffer);
        o.runningMean = buffer.subarray(0, 3);
        o.out = buffer.subarray(2, 26);
      }),
      withOptions(RangeError, 'out', 'out sharing memory with runningVar (read only)', (o, s) => {
        const buffer = new Float32Array(24).fill(1);
        s.arrays.push(buffer);
        o.useInputStats = false;
        o.runningVar = buffer.subarray(21, 24);
        o.out = buffer;
      }),
      withOptions(
        RangeError,
        'out',
        'out partly overlapping the input',
        (o, s) => {
          const buffer = new Float32Array(28);
          buffer.set(s.input.data);
          s.arrays.push(buffer);
          o.out = buffer.subarray(4, 28);
        },
        (s) => {
          const buffer = s.arrays[s.arrays.length - 1];
          return { data: buffer.subarray(0, 24), shape: [2, 3, 4] };
        },
      ),
      withOptions(RangeError, 'runningMean', 'runningMean the same array as runningVar', (o) => {
        o.runningVar = o.runningMean;
      }),
      withOptions(RangeError, 'runningMean', 'runningMean a view of the input', (o, s) => {
        o.runningMean = s.input.data.subarray(3, 6);
      }),
      withOptions(RangeError, 'runningVar', 'runningVar the weight itself', (o) => {
        o.runningVar = o.weight;
      }),
      withOptions(TypeError, 'options.training', "BatchNorm's training option", (o) => {
        o.training = true;
      }),
      withOptions(TypeError, 'options.running_mean', 'a state-dict key as an option', (o) => {
        o.running_mean = new Float32Array(3);
      }),
      {
        name: 'options a boolean',
        kind: TypeError,
        argument: 'options',
        make() {
          const s = setup();
          return {
            arrays: s.arrays,
            call: (api) => api.instanceNorm(s.input, true as unknown as InstanceNormOptions),
          };
        },
      },
    ];

    describeArgumentCases(cases, BACKENDS, 'input, running stat, parameter or out');
  });
});

function runningStatsLike(s: { runningMean: Float32Array; runningVar: Float32Array }) {
  return { runningMean: s.runningMean.slice(), runningVar: s.runningVar.slice() };
}

describe('InstanceNorm1d, InstanceNorm2d, InstanceNorm3d', () => {
  it('have PyTorch defaults: no affine, no running stats, momentum 0.1, eps 1e-5', () => {
    for (const norm of [
      new normkit.InstanceNorm1d(3),
      new normkit.InstanceNorm2d(3),
      new normkit.InstanceNorm3d(3),
    ]) {
      expect(norm.numFeatures).to.equal(3);
      expect(norm.eps).to.equal(1e-5);
      expect(norm.momentum).to.equal(0.1);
      expect(norm.affine).to.equal(false);
      expect(norm.trackRunningStats).to.equal(false);
      expect(norm.layout).to.equal('channels_first');
      expect(norm.training).to.equal(true);
      for (const key of ['weight', 'bias', 'runningMean', 'runningVar'] as const)
        expect(norm[key], key).to.equal(null);
      expect(norm.stateDict()).to.deep.equal({});
    }
  });

  it('with affine and trackRunningStats own ones, zeros, zeros and ones', () => {
    const norm = new normkit.InstanceNorm2d(2, { affine: true, trackRunningStats: true });
    expectSameValues(norm.weight!, [1, 1], 'weight');
    expectSameValues(norm.bias!, [0, 0], 'bias');
    expectSameValues(norm.runningMean!, [0, 0], 'running mean');
    expectSameValues(norm.runningVar!, [1, 1], 'running var');
  });

  it('switch modes with train() and eval(), which return this', () => {
    const norm = new normkit.InstanceNorm1d(2);
    expect(norm.eval()).to.equal(norm);
    expect(norm.training).to.equal(false);
    expect(norm.train()).to.equal(norm);
    expect(norm.training).to.equal(true);
    expect(norm.train(false).training).to.equal(false);
    expectInvalid(() => norm.train(0 as unknown as boolean), TypeError, 'mode');
    expect(norm.training).to.equal(false);
  });

  it('normalize each instance, in training and in eval, without running stats', () => {
    const norm = new normkit.InstanceNorm2d(3);
    const x = instanceTensor([2, 3, 3, 2]);
    const f = instanceNormFormula(x.data, x.shape);
    expectClose(norm.forward(x).data, f.y, undefined, 'training');
    norm.eval();
    expectClose(norm.forward(x).data, f.y, undefined, 'eval');
  });

  it('in training update the running stats as PyTorch, without counting batches', () => {
    const norm = new normkit.InstanceNorm1d(3, {
      affine: true,
      trackRunningStats: true,
      momentum: 0.2,
    });
    norm.weight!.set([1, 2, 3]);
    norm.bias!.set([0, -1, 1]);
    let rm = Array.from(norm.runningMean!);
    let rv = Array.from(norm.runningVar!);
    for (let k = 1; k <= 3; k++) {
      const x = instanceTensor([2 + k, 3, 5]);
      const y = norm.forward(x);
      const f = instanceNormFormula(x.data, x.shape, { weight: norm.weight, bias: norm.bias });
      expectClose(y.data, f.y, undefined, `batch ${k} output`);
      rm = runningUpdate(rm, f.mean, x.shape[0], 0.2);
      rv = runningUpdate(rv, f.unbiased, x.shape[0], 0.2);
      expectClose(norm.runningMean!, rm, undefined, `batch ${k} running mean`);
      expectClose(norm.runningVar!, rv, undefined, `batch ${k} running var`);
    }
    // _InstanceNorm.forward never increments num_batches_tracked.
    expect(norm.numBatchesTracked).to.equal(0);
    expect(norm.stateDict().num_batches_tracked).to.equal(0);
  });

  it('in eval with trackRunningStats normalize with the running stats and leave them alone', () => {
    const norm = new normkit.InstanceNorm1d(2, { trackRunningStats: true });
    norm.forward(instanceTensor([3, 2, 4]));
    norm.eval();
    const before = snapshot([norm.runningMean, norm.runningVar]);
    const x = instanceTensor([2, 2, 6]);
    const f = instanceNormFormula(x.data, x.shape, {
      stats: { mean: norm.runningMean!, variance: norm.runningVar! },
    });
    expectClose(norm.forward(x).data, f.y);
    expectUnchanged([norm.runningMean, norm.runningVar], before, 'running stats');
    // One spatial value is fine in eval with running stats.
    expect(norm.forward({ data: new Float32Array(2), shape: [1, 2, 1] }).data.length).to.equal(2);
  });

  it('with momentum null (0 for InstanceNorm, as PyTorch) keep the running stats', () => {
    const norm = new normkit.InstanceNorm1d(2, { trackRunningStats: true, momentum: null });
    expect(norm.momentum).to.equal(null);
    norm.forward(instanceTensor([3, 2, 4]));
    expectSameValues(norm.runningMean!, [0, 0], 'running mean');
    expectSameValues(norm.runningVar!, [1, 1], 'running var');
  });

  describe('unbatched input', () => {
    for (const [name, make, shape] of [
      ['InstanceNorm1d', (o: object) => new normkit.InstanceNorm1d(3, o), [3, 5]],
      ['InstanceNorm2d', (o: object) => new normkit.InstanceNorm2d(3, o), [3, 2, 3]],
      ['InstanceNorm3d', (o: object) => new normkit.InstanceNorm3d(3, o), [3, 2, 2, 2]],
    ] as Array<[string, (o: object) => normkit.InstanceNormBase, number[]]>) {
      for (const layout of ['channels_first', 'channels_last'] as const) {
        it(`${name} takes (C, ...spatial) as a batch of one, ${layout}`, () => {
          const opts = { affine: true, trackRunningStats: true, layout };
          const unbatched = make(opts);
          const batched = make(opts);
          for (const m of [unbatched, batched]) {
            m.weight!.set([1, -2, 0.5]);
            m.bias!.set([0.25, 0, -1]);
          }
          const x = instanceTensor([1, ...shape]);
          const stored = layout === 'channels_last' ? toChannelsLast(x.data, x.shape) : x.data;
          const y = unbatched.forward({ data: stored, shape });
          const expected = batched.forward({ data: stored.slice(), shape: x.shape });
          expect(y.shape).to.deep.equal(shape);
          expectSameValues(y.data, expected.data, 'output');
          expectSameValues(unbatched.runningMean!, batched.runningMean!, 'running mean');
          expectSameValues(unbatched.runningVar!, batched.runningVar!, 'running var');
          const f = instanceNormFormula(x.data, x.shape, {
            weight: [1, -2, 0.5],
            bias: [0.25, 0, -1],
          });
          const got = layout === 'channels_last' ? toChannelsFirst(y.data, x.shape) : y.data;
          expectClose(got, f.y, undefined, 'formula');
          const out = new Float32Array(y.data.length);
          expect(unbatched.forward({ data: stored, shape }, { out }).data).to.equal(out);
        });
      }
    }

    it('names input.shape[0] for a channel mismatch and shows the shape as given', () => {
      const norm = new normkit.InstanceNorm1d(3, { affine: true });
      expectInvalid(() => norm.forward(randomTensor([4, 5])), RangeError, 'input.shape[0]');
      const e = expectInvalid(
        () => new normkit.InstanceNorm1d(3).forward(randomTensor([3, 1])),
        RangeError,
        'input.shape',
      );
      expect(e.message).to.match(/received \[3, 1\]$/);
      const d = expectInvalid(
        () => new normkit.InstanceNorm1d(3).forward({ data: new Float32Array(4), shape: [3, 2] }),
        RangeError,
        'input.data',
      );
      expect(d.message).to.contain('shape [3, 2]');
    });
  });

  describe('rank and channel checks', () => {
    const table: Array<[string, (o?: object) => normkit.InstanceNormBase, number[][], number[][]]> =
      [
        [
          'InstanceNorm1d',
          (o) => new normkit.InstanceNorm1d(2, o),
          [
            [2, 3],
            [3, 2, 3],
          ],
          [[2], [3, 2, 2, 2]],
        ],
        [
          'InstanceNorm2d',
          (o) => new normkit.InstanceNorm2d(2, o),
          [
            [2, 2, 2],
            [3, 2, 2, 2],
          ],
          [
            [3, 2],
            [3, 2, 2, 2, 2],
          ],
        ],
        [
          'InstanceNorm3d',
          (o) => new normkit.InstanceNorm3d(2, o),
          [
            [2, 2, 2, 2],
            [3, 2, 2, 2, 2],
          ],
          [
            [3, 2, 2],
            [3, 2, 2, 2, 2, 2],
          ],
        ],
      ];
    for (const [name, make, good, bad] of table) {
      it(`${name} takes ranks ${good.map((s) => s.length).join(' and ')} only, changing nothing otherwise`, () => {
        const norm = make({ trackRunningStats: true });
        for (const shape of good)
          expect(norm.forward(instanceTensor(shape)).shape).to.deep.equal(shape);
        const before = snapshot([norm.runningMean, norm.runningVar]);
        for (const shape of bad) {
          const e = expectInvalid(
            () => norm.forward(randomTensor(shape)),
            RangeError,
            'input.shape',
          );
          expect(e.message).to.contain(name);
        }
        expectUnchanged([norm.runningMean, norm.runningVar], before, 'running stats');
      });
    }

    it('reject a channel count other than numFeatures where parameters or stats depend on it', () => {
      expectInvalid(
        () => new normkit.InstanceNorm2d(3, { affine: true }).forward(randomTensor([2, 4, 2, 2])),
        RangeError,
        'input.shape[1]',
      );
      expectInvalid(
        () =>
          new normkit.InstanceNorm1d(3, { trackRunningStats: true })
            .eval()
            .forward(randomTensor([2, 2, 4])),
        RangeError,
        'input.shape[1]',
      );
      // PyTorch only warns when nothing depends on the channel count.
      const x = instanceTensor([2, 4, 3]);
      expectClose(
        new normkit.InstanceNorm1d(3).forward(x).data,
        instanceNormFormula(x.data, x.shape).y,
      );
    });
  });

  it('a failing forward leaves the running stats, the parameters and out unchanged', () => {
    const norm = new normkit.InstanceNorm2d(3, { affine: true, trackRunningStats: true });
    norm.forward(instanceTensor([2, 3, 2, 2]));
    const before = snapshot([norm.weight, norm.bias, norm.runningMean, norm.runningVar]);
    const out = new Float32Array(12).fill(5);
    const failures: Array<[() => unknown, typeof TypeError | typeof RangeError, string]> = [
      [() => norm.forward(randomTensor([3, 4]), { out }), RangeError, 'input.shape'],
      [
        () => norm.forward(randomTensor([1, 3, 2, 2]), { out: new Float32Array(11) }),
        RangeError,
        'out',
      ],
      [
        () => norm.forward(randomTensor([1, 3, 1, 1]), { out: out.subarray(0, 3) }),
        RangeError,
        'input.shape',
      ],
      [() => norm.forward(randomTensor([1, 2, 2, 3]), { out }), RangeError, 'input.shape[1]'],
      [
        () => norm.forward({ data: new Float32Array(12), shape: [1, 3, 2, 3] }, { out }),
        RangeError,
        'input.data',
      ],
      [
        () => norm.forward(randomTensor([1, 3, 2, 2]), { out: norm.runningMean! }),
        RangeError,
        'out',
      ],
      [
        () => norm.forward(randomTensor([1, 3, 2, 2]), { out, momentum: 0 } as never),
        TypeError,
        'options.momentum',
      ],
      [() => norm.forward('x' as unknown as Tensor), TypeError, 'input'],
    ];
    for (const [call, kind, argument] of failures) {
      expectInvalid(call, kind, argument);
      expectUnchanged(
        [norm.weight, norm.bias, norm.runningMean, norm.runningVar],
        before,
        `state after ${argument}`,
      );
      expectSameValues(out, new Array(12).fill(5), `out after ${argument}`);
    }
  });

  it('with layout channels_last take the logical shape and store channels last', () => {
    const first = new normkit.InstanceNorm2d(3, { trackRunningStats: true });
    const last = new normkit.InstanceNorm2d(3, {
      trackRunningStats: true,
      layout: 'channels_last',
    });
    const x = instanceTensor([2, 3, 2, 3]);
    const yFirst = first.forward(x);
    const yLast = last.forward({ data: toChannelsLast(x.data, x.shape), shape: x.shape });
    const tol = { abs: 1e-6, rel: 1e-6 };
    expectClose(toChannelsFirst(yLast.data, x.shape), yFirst.data, tol);
    expectClose(last.runningMean!, first.runningMean!, tol);
    expectClose(last.runningVar!, first.runningVar!, tol);
  });

  it('reject bad constructor arguments', () => {
    expectInvalid(() => new normkit.InstanceNorm1d(0), RangeError, 'numFeatures');
    expectInvalid(
      () => new normkit.InstanceNorm2d('3' as unknown as number),
      TypeError,
      'numFeatures',
    );
    expectInvalid(() => new normkit.InstanceNorm3d(3, { eps: -1 }), RangeError, 'eps');
    expectInvalid(() => new normkit.InstanceNorm1d(3, { momentum: NaN }), RangeError, 'momentum');
    expectInvalid(
      () => new normkit.InstanceNorm1d(3, { affine: 'true' as unknown as boolean }),
      TypeError,
      'affine',
    );
    expectInvalid(
      () => new normkit.InstanceNorm1d(3, { trackRunningStats: 1 as unknown as boolean }),
      TypeError,
      'trackRunningStats',
    );
    expectInvalid(
      () => new normkit.InstanceNorm2d(3, { layout: 'NHWC' as never }),
      RangeError,
      'layout',
    );
    expectInvalid(
      () => new normkit.InstanceNorm2d(3, { useInputStats: true } as never),
      TypeError,
      'options.useInputStats',
    );
  });

  describe('state dict', () => {
    it('returns copies under PyTorch keys, num_batches_tracked included when tracking', () => {
      const norm = new normkit.InstanceNorm1d(2, { affine: true, trackRunningStats: true });
      norm.forward(instanceTensor([2, 2, 3]));
      const d = norm.stateDict();
      expect(Object.keys(d).sort()).to.deep.equal([
        'bias',
        'num_batches_tracked',
        'running_mean',
        'running_var',
        'weight',
      ]);
      expectSameValues(d.running_mean!, norm.runningMean!);
      expect(d.running_mean).to.not.equal(norm.runningMean);
      d.running_var![0] = 99;
      expect(norm.runningVar![0]).to.not.equal(99);
      expect(
        Object.keys(new normkit.InstanceNorm1d(2, { affine: true }).stateDict()).sort(),
      ).to.deep.equal(['bias', 'weight']);
      expect(
        Object.keys(new normkit.InstanceNorm1d(2, { trackRunningStats: true }).stateDict()).sort(),
      ).to.deep.equal(['num_batches_tracked', 'running_mean', 'running_var']);
    });

    it('round-trips through loadStateDict, which copies the values in', () => {
      const a = new normkit.InstanceNorm2d(3, { affine: true, trackRunningStats: true });
      a.weight!.set([2, 3, 4]);
      a.bias!.set([-1, 0, 1]);
      a.forward(instanceTensor([2, 3, 2, 2]));
      const dict = a.stateDict();
      dict.num_batches_tracked = 7;
      const b = new normkit.InstanceNorm2d(3, { affine: true, trackRunningStats: true });
      b.loadStateDict(dict);
      for (const key of ['weight', 'bias', 'runningMean', 'runningVar'] as const)
        expectSameValues(b[key]!, a[key]!, key);
      expect(b.numBatchesTracked).to.equal(7);
      dict.running_mean![0] = 1234;
      expect(b.runningMean![0]).to.not.equal(1234);
      a.eval();
      b.eval();
      const x = instanceTensor([2, 3, 2, 2]);
      expectSameValues(b.forward(x).data, a.forward(x).data, 'eval forward');
      new normkit.InstanceNorm1d(2).loadStateDict({});
    });

    it('rejects bad dicts strictly and changes nothing', () => {
      const norm = new normkit.InstanceNorm1d(2, { affine: true, trackRunningStats: true });
      norm.forward(instanceTensor([3, 2, 4]));
      const before = snapshot([norm.weight, norm.bias, norm.runningMean, norm.runningVar]);
      const good = () => ({
        weight: new Float32Array([5, 5]),
        bias: new Float32Array([5, 5]),
        running_mean: new Float32Array([5, 5]),
        running_var: new Float32Array([5, 5]),
        num_batches_tracked: 3,
      });
      const bad: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
        [{ ...good(), running_var: new Float32Array(3) }, RangeError, 'dict.running_var'],
        [{ ...good(), running_mean: new Float64Array(2) }, TypeError, 'dict.running_mean'],
        [{ ...good(), weight: undefined }, TypeError, 'dict.weight'],
        [{ ...good(), num_batches_tracked: undefined }, TypeError, 'dict.num_batches_tracked'],
        [{ ...good(), num_batches_tracked: -1 }, RangeError, 'dict.num_batches_tracked'],
        [{ ...good(), momentum: 0.1 }, RangeError, 'dict.momentum'],
        [7, TypeError, 'dict'],
      ];
      for (const [dict, kind, argument] of bad) {
        expectInvalid(
          () => norm.loadStateDict(dict as normkit.InstanceNormStateDict),
          kind,
          argument,
        );
        expectUnchanged(
          [norm.weight, norm.bias, norm.runningMean, norm.runningVar],
          before,
          `state after ${argument}`,
        );
        expect(norm.numBatchesTracked).to.equal(0);
      }
      // Running stats in a dict for a module that does not track them, as PyTorch's
      // "Unexpected running stats buffer(s)".
      const untracked = new normkit.InstanceNorm1d(2, { affine: true });
      const { weight, bias, running_mean } = good();
      expectInvalid(
        // Not a state dict of any module (the type says so too): the loader must still reject it.
        () =>
          untracked.loadStateDict({
            weight,
            bias,
            running_mean,
          } as unknown as normkit.InstanceNormStateDict),
        RangeError,
        'dict.running_mean',
      );
      expectSameValues(untracked.weight!, [1, 1], 'untracked weight');
    });
  });
});

describe('describeInstanceNorm', () => {
  it('gives the worked example: (2, 3, 4, 4)', () => {
    expect(normkit.describeInstanceNorm([2, 3, 4, 4])).to.deep.equal({
      statistics: 6,
      valuesPerStatistic: 16,
      paramShape: [3],
    });
  });

  it('counts N * C statistics of the spatial size at every rank', () => {
    expect(normkit.describeInstanceNorm([2, 3, 5])).to.deep.equal({
      statistics: 6,
      valuesPerStatistic: 5,
      paramShape: [3],
    });
    expect(normkit.describeInstanceNorm([1, 2, 2, 2, 2, 2])).to.deep.equal({
      statistics: 2,
      valuesPerStatistic: 16,
      paramShape: [2],
    });
    expect(normkit.describeInstanceNorm([0, 4, 3])).to.deep.equal({
      statistics: 0,
      valuesPerStatistic: 3,
      paramShape: [4],
    });
  });

  it('rejects ranks below 2 and malformed shapes', () => {
    expectInvalid(() => normkit.describeInstanceNorm([5]), RangeError, 'shape');
    expectInvalid(() => normkit.describeInstanceNorm([2, 3, -1]), RangeError, 'shape');
    expectInvalid(() => normkit.describeInstanceNorm({} as never), TypeError, 'shape');
  });
});
