// batchNorm, BatchNorm1d/2d/3d and describeBatchNorm: semantics against a float64 formula of
// torch.nn.functional.batch_norm and torch.nn.BatchNorm*d, argument checks, layouts and state.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { BatchNormOptions, Tensor } from 'normkit';
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

interface Formula {
  y: number[];
  mean: number[];
  /** Biased variance (what normalizes). */
  variance: number[];
  /** Unbiased variance (what the running variance takes). */
  unbiased: number[];
}

/**
 * torch.nn.functional.batch_norm in float64 on channels-first data of logical shape
 * (N, C, ...spatial): batch statistics when `stats` is null, else the given running ones.
 */
function batchNormFormula(
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
  for (let ch = 0; ch < c; ch++) {
    const values: number[] = [];
    for (let i = 0; i < n; i++) for (let k = 0; k < s; k++) values.push(x[(i * c + ch) * s + k]);
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    const ss = values.reduce((a, b) => a + (b - m) ** 2, 0);
    f.mean.push(m);
    f.variance.push(ss / values.length);
    f.unbiased.push(ss / (values.length - 1));
    const useMean = opts.stats ? opts.stats.mean[ch] : m;
    const useVar = opts.stats ? opts.stats.variance[ch] : ss / values.length;
    const w = opts.weight ? opts.weight[ch] : 1;
    const b = opts.bias ? opts.bias[ch] : 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < s; k++) {
        const at = (i * c + ch) * s + k;
        f.y[at] = ((x[at] - useMean) / Math.sqrt(useVar + eps)) * w + b;
      }
    }
  }
  return f;
}

/** running = (1 - momentum) * running + momentum * batch, per channel. */
function blend(running: ArrayLike<number>, batch: readonly number[], momentum: number): number[] {
  return batch.map((v, i) => (1 - momentum) * running[i] + momentum * v);
}

const rng = mulberry32(0xb47c);

function randomTensor(shape: number[], mean = 0, std = 1): Tensor {
  return { data: randomFloats(rng, prod(shape), mean, std), shape };
}

/** Per-channel data with different offsets and scales, so a channel mix-up shows. */
function channelTensor(shape: number[]): Tensor {
  const [n, c] = shape;
  const s = prod(shape.slice(2));
  const data = new Float32Array(prod(shape));
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++) data[(i * c + ch) * s + k] = 3 * ch - 2 + (ch + 1) * normal(rng);
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

describe('batchNorm', () => {
  describe('semantics', () => {
    it('normalizes with the batch mean and biased variance in training, and updates the running stats with the unbiased variance', () => {
      const x = channelTensor([3, 4, 5, 6]);
      const weight = randomFloats(rng, 4);
      const bias = randomFloats(rng, 4);
      const { runningMean, runningVar } = runningStats(4);
      const rm0 = runningMean.slice();
      const rv0 = runningVar.slice();
      const y = normkit.batchNorm(x, { runningMean, runningVar, weight, bias, training: true });
      const f = batchNormFormula(x.data, x.shape, { weight, bias });
      expect(y.shape).to.deep.equal([3, 4, 5, 6]);
      expectClose(y.data, f.y, undefined, 'output');
      expectClose(runningMean, blend(rm0, f.mean, 0.1), undefined, 'running mean');
      expectClose(runningVar, blend(rv0, f.unbiased, 0.1), undefined, 'running var');
    });

    it('updates the running stats by hand-computed values', () => {
      // One channel of 4 values: mean 2.5, biased var 1.25, unbiased var 5/3.
      const runningMean = new Float32Array([0]);
      const runningVar = new Float32Array([1]);
      const y = normkit.batchNorm(
        { data: new Float32Array([1, 2, 3, 4]), shape: [4, 1] },
        { runningMean, runningVar, training: true },
      );
      const s = Math.sqrt(1.25 + 1e-5);
      expectClose(y.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
      expect(runningMean[0]).to.be.closeTo(0.25, 1e-7);
      expect(runningVar[0]).to.be.closeTo(0.9 + 0.1 * (5 / 3), 1e-6);
    });

    it('normalizes with the running stats in eval and leaves them unchanged', () => {
      const x = channelTensor([2, 3, 7]);
      const weight = randomFloats(rng, 3);
      const bias = randomFloats(rng, 3);
      const { runningMean, runningVar } = runningStats(3);
      const before = snapshot([runningMean, runningVar]);
      const y = normkit.batchNorm(x, { runningMean, runningVar, weight, bias });
      const f = batchNormFormula(x.data, x.shape, {
        stats: { mean: runningMean, variance: runningVar },
        weight,
        bias,
      });
      expectClose(y.data, f.y);
      expectUnchanged([runningMean, runningVar], before, 'running stats');
      // training: false said explicitly is the same.
      expectSameValues(
        normkit.batchNorm(x, { runningMean, runningVar, weight, bias, training: false }).data,
        y.data,
      );
    });

    it('trains without running stats, giving the same output as with them', () => {
      const x = channelTensor([4, 3, 2, 2]);
      const alone = normkit.batchNorm(x, { training: true });
      const withStats = normkit.batchNorm(x, { ...runningStats(3), training: true });
      expectClose(alone.data, batchNormFormula(x.data, x.shape).y);
      expectSameValues(alone.data, withStats.data);
    });

    for (const momentum of [0, 0.5, 1, 0.01]) {
      it(`blends the running stats with momentum ${momentum}`, () => {
        const x = channelTensor([6, 2, 3]);
        const { runningMean, runningVar } = runningStats(2);
        const rm0 = runningMean.slice();
        const rv0 = runningVar.slice();
        normkit.batchNorm(x, { runningMean, runningVar, momentum, training: true });
        const f = batchNormFormula(x.data, x.shape);
        expectClose(runningMean, blend(rm0, f.mean, momentum), undefined, 'running mean');
        expectClose(runningVar, blend(rv0, f.unbiased, momentum), undefined, 'running var');
        if (momentum === 0) {
          expectSameValues(runningMean, rm0, 'momentum 0 keeps the mean');
          expectSameValues(runningVar, rv0, 'momentum 0 keeps the var');
        }
      });
    }

    for (const shape of [
      [7, 3],
      [2, 3, 5],
      [2, 3, 4, 5],
      [2, 3, 2, 3, 4],
      [1, 2, 9],
      [5, 1, 1, 1, 2],
    ]) {
      it(`matches the formula at rank ${shape.length}, shape [${shape}], training and eval`, () => {
        const x = channelTensor(shape);
        const c = shape[1];
        const weight = randomFloats(rng, c);
        const bias = randomFloats(rng, c);
        const stats = runningStats(c);
        const rm0 = stats.runningMean.slice();
        const rv0 = stats.runningVar.slice();
        const ev = normkit.batchNorm(x, { ...stats, weight, bias, eps: 1e-3 });
        expectClose(
          ev.data,
          batchNormFormula(x.data, shape, {
            stats: { mean: rm0, variance: rv0 },
            weight,
            bias,
            eps: 1e-3,
          }).y,
          undefined,
          'eval',
        );
        const tr = normkit.batchNorm(x, { ...stats, weight, bias, eps: 1e-3, training: true });
        const f = batchNormFormula(x.data, shape, { weight, bias, eps: 1e-3 });
        expectClose(tr.data, f.y, undefined, 'training');
        expectClose(stats.runningVar, blend(rv0, f.unbiased, 0.1), undefined, 'running var');
      });
    }

    it('gives exactly the bias for a constant channel', () => {
      const x = channelTensor([3, 3, 4]);
      x.data.fill(0.3, 4, 8); // channel 1 of sample 0
      x.data.fill(0.3, 16, 20); // sample 1
      x.data.fill(0.3, 28, 32); // sample 2
      const weight = new Float32Array([1, 5, 1]);
      const bias = new Float32Array([0, -1.1, 0]);
      const runningVar = new Float32Array([1, 1, 1]);
      const y = normkit.batchNorm(x, {
        weight,
        bias,
        runningMean: new Float32Array(3),
        runningVar,
        training: true,
      });
      for (const at of [4, 5, 6, 7, 16, 17, 18, 19, 28, 29, 30, 31])
        expect(y.data[at]).to.equal(bias[1]);
      expect(runningVar[1]).to.be.closeTo(0.9, 1e-7);
    });

    it('makes a channel with NaN all NaN and leaves the other channels alone', () => {
      const x = channelTensor([2, 3, 4]);
      const clean = normkit.batchNorm(x, { training: true }).data;
      const dirty = x.data.slice();
      dirty[12 + 4 + 1] = NaN; // sample 1, channel 1
      const y = normkit.batchNorm({ data: dirty, shape: x.shape }, { training: true }).data;
      for (const n of [0, 1]) {
        for (let k = 0; k < 4; k++) {
          expect(Number.isNaN(y[n * 12 + 4 + k]), 'channel 1 NaN').to.equal(true);
          expect(y[n * 12 + k]).to.equal(clean[n * 12 + k]);
          expect(y[n * 12 + 8 + k]).to.equal(clean[n * 12 + 8 + k]);
        }
      }
    });

    describe('layout channels_last', () => {
      for (const shape of [
        [4, 3],
        [2, 3, 5],
        [2, 3, 4, 5],
        [2, 4, 2, 3, 3],
        [3, 5, 1, 1],
      ]) {
        for (const training of [true, false]) {
          it(`equals the transposed channels_first result for [${shape}] (${training ? 'training' : 'eval'})`, () => {
            const x = channelTensor(shape);
            const c = shape[1];
            const weight = randomFloats(rng, c);
            const bias = randomFloats(rng, c);
            const first = runningStats(c);
            const last = {
              runningMean: first.runningMean.slice(),
              runningVar: first.runningVar.slice(),
            };
            const yFirst = normkit.batchNorm(x, { ...first, weight, bias, training });
            const stored = toChannelsLast(x.data, shape);
            const yLast = normkit.batchNorm(
              { data: stored, shape },
              { ...last, weight, bias, training, layout: 'channels_last' },
            );
            expect(yLast.shape).to.deep.equal(shape);
            expectClose(
              toChannelsFirst(yLast.data, shape),
              yFirst.data,
              { abs: 1e-6, rel: 1e-6 },
              'output',
            );
            expectClose(
              last.runningMean,
              first.runningMean,
              { abs: 1e-6, rel: 1e-6 },
              'running mean',
            );
            expectClose(last.runningVar, first.runningVar, { abs: 1e-6, rel: 1e-6 }, 'running var');
            // And against the formula directly.
            const f = batchNormFormula(x.data, shape, {
              stats: training ? null : { mean: first.runningMean, variance: first.runningVar },
              weight,
              bias,
            });
            if (!training)
              expectClose(toChannelsFirst(yLast.data, shape), f.y, undefined, 'formula');
          });
        }
      }

      it('is read from the stored order, not the logical one', () => {
        // Logical (N=2, C=2, L=2) stored (N, L, C): channel 0 holds 0, 2, 10, 12.
        const stored = new Float32Array([0, 100, 2, 104, 10, 110, 12, 114]);
        const y = normkit.batchNorm(
          { data: stored, shape: [2, 2, 2] },
          { training: true, layout: 'channels_last' },
        );
        const c0 = [0, 2, 10, 12];
        const c1 = [100, 104, 110, 114];
        const f0 = batchNormFormula(c0, [4, 1]).y;
        const f1 = batchNormFormula(c1, [4, 1]).y;
        expectClose(y.data, [f0[0], f1[0], f0[1], f1[1], f0[2], f1[2], f0[3], f1[3]]);
      });
    });

    it('gives an empty result for N = 0 and leaves the running stats alone', () => {
      for (const training of [true, false]) {
        const runningMean = new Float32Array([1, 2, 3]);
        const runningVar = new Float32Array([4, 5, 6]);
        for (const layout of ['channels_first', 'channels_last'] as const) {
          const y = normkit.batchNorm(
            { data: new Float32Array(0), shape: [0, 3, 4] },
            { runningMean, runningVar, training, layout },
          );
          expect(y.data.length).to.equal(0);
          expect(y.shape).to.deep.equal([0, 3, 4]);
        }
        expectSameValues(runningMean, [1, 2, 3], 'running mean');
        expectSameValues(runningVar, [4, 5, 6], 'running var');
      }
      const zeroSpatial = normkit.batchNorm(
        { data: new Float32Array(0), shape: [2, 3, 0] },
        { training: true },
      );
      expect(zeroSpatial.data.length).to.equal(0);
      for (const training of [true, false]) {
        const noChannels = normkit.batchNorm(
          { data: new Float32Array(0), shape: [2, 0, 3] },
          { runningMean: new Float32Array(0), runningVar: new Float32Array(0), training },
        );
        expect(noChannels.data.length).to.equal(0);
        expect(noChannels.shape).to.deep.equal([2, 0, 3]);
      }
    });

    it('allows one value per channel in eval', () => {
      const x: Tensor = { data: new Float32Array([3, 5]), shape: [1, 2, 1, 1] };
      const y = normkit.batchNorm(x, {
        runningMean: new Float32Array([1, 1]),
        runningVar: new Float32Array([4, 16]),
      });
      expectClose(y.data, [2 / Math.sqrt(4 + 1e-5), 4 / Math.sqrt(16 + 1e-5)]);
    });

    for (const layout of ['channels_first', 'channels_last'] as const) {
      it(`writes in place (out === input.data), ${layout}, training and eval`, () => {
        for (const training of [true, false]) {
          const x = channelTensor([3, 4, 5]);
          const stats = runningStats(4);
          const copy = {
            runningMean: stats.runningMean.slice(),
            runningVar: stats.runningVar.slice(),
          };
          const weight = randomFloats(rng, 4);
          const expected = normkit.batchNorm(
            { data: x.data.slice(), shape: x.shape },
            { ...copy, weight, training, layout },
          );
          const data = x.data;
          const y = normkit.batchNorm(x, { ...stats, weight, training, layout, out: data });
          expect(y.data).to.equal(data);
          expectSameValues(data, expected.data, 'in place');
          expectSameValues(stats.runningMean, copy.runningMean, 'running mean');
        }
      });
    }

    it('writes into a separate out and returns that same array', () => {
      const x = channelTensor([4, 2, 3]);
      const out = new Float32Array(24).fill(-1);
      const y = normkit.batchNorm(x, { training: true, out });
      expect(y.data).to.equal(out);
      expectClose(out, batchNormFormula(x.data, x.shape).y);
    });
  });

  describe('argument checks', () => {
    type Api = Pick<typeof normkit, 'batchNorm'>;
    type Case = ArgumentCase<Api>;

    // A valid training call on (4, 3, 2), with every array it could touch.
    function setup() {
      const input: Tensor = {
        data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3),
        shape: [4, 3, 2],
      };
      const runningMean = new Float32Array([0.5, 1, 1.5]);
      const runningVar = new Float32Array([2, 3, 4]);
      const weight = new Float32Array([1, 2, 3]);
      const bias = new Float32Array([-1, 0, 1]);
      const out = new Float32Array(24).fill(42);
      const options: BatchNormOptions = {
        runningMean,
        runningVar,
        weight,
        bias,
        training: true,
        out,
      };
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
            api.batchNorm((input ? input(s) : s.input) as Tensor, o as BatchNormOptions),
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
      withInput(TypeError, 'input', 'input undefined', () => undefined),
      withInput(TypeError, 'input.data', 'data a Float64Array', () => ({
        data: new Float64Array(24),
        shape: [4, 3, 2],
      })),
      withInput(TypeError, 'input.shape', 'shape not an array', (s) => ({
        data: s.input.data,
        shape: 24,
      })),
      withInput(RangeError, 'input.shape', 'negative dim', (s) => ({
        data: s.input.data,
        shape: [-4, 3, -2],
      })),
      withInput(RangeError, 'input.shape', 'fractional dim', (s) => ({
        data: s.input.data,
        shape: [4, 3, 2.0001],
      })),
      withInput(RangeError, 'input.data', 'prod(shape) !== data.length', (s) => ({
        data: s.input.data,
        shape: [4, 3, 3],
      })),
      withInput(RangeError, 'input.shape', 'rank 1', (s) => ({ data: s.input.data, shape: [24] })),
      withInput(RangeError, 'input.shape', 'rank 6', (s) => ({
        data: s.input.data,
        shape: [4, 3, 2, 1, 1, 1],
      })),
      ...(
        [
          [1, 3],
          [1, 3, 1, 1],
          [1, 3, 1, 1, 1],
        ] as const
      ).map((shape) =>
        withOptions(
          RangeError,
          'input.shape',
          `one value per channel when training, shape [${shape}]`,
          (o) => {
            o.out = new Float32Array(3);
          },
          (s) => ({ data: s.input.data.subarray(0, 3), shape }),
        ),
      ),
      withOptions(
        RangeError,
        'input.shape',
        'one value per channel when training, channels_last',
        (o) => {
          o.layout = 'channels_last';
          delete o.out;
        },
        (s) => ({ data: s.input.data.subarray(0, 3), shape: [1, 3, 1] }),
      ),
      withOptions(RangeError, 'runningMean and runningVar', 'eval without running stats', (o) => {
        o.training = false;
        delete o.runningMean;
        delete o.runningVar;
      }),
      withOptions(RangeError, 'runningMean and runningVar', 'eval without runningVar', (o) => {
        o.training = false;
        o.runningVar = null;
      }),
      withOptions(
        RangeError,
        'runningMean and runningVar',
        'eval (default) without runningMean',
        (o) => {
          delete o.training;
          delete o.runningMean;
        },
      ),
      withOptions(
        RangeError,
        'runningMean',
        'runningMean too long',
        (o) => (o.runningMean = new Float32Array(4)),
      ),
      withOptions(
        TypeError,
        'runningMean',
        'runningMean a plain array',
        (o) => (o.runningMean = [0, 0, 0]),
      ),
      withOptions(
        TypeError,
        'runningVar',
        'runningVar a Float64Array',
        (o) => (o.runningVar = new Float64Array(3)),
      ),
      withOptions(
        RangeError,
        'runningVar',
        'runningVar too short',
        (o) => (o.runningVar = new Float32Array(2)),
      ),
      withOptions(
        RangeError,
        'weight',
        'weight too short',
        (o) => (o.weight = new Float32Array(2)),
      ),
      withOptions(RangeError, 'bias', 'bias too long', (o) => (o.bias = new Float32Array(24))),
      withOptions(TypeError, 'training', 'training a string', (o) => (o.training = 'true')),
      withOptions(TypeError, 'training', 'training a number', (o) => (o.training = 1)),
      withOptions(TypeError, 'momentum', 'momentum a string', (o) => (o.momentum = '0.1')),
      withOptions(RangeError, 'momentum', 'momentum NaN', (o) => (o.momentum = NaN)),
      withOptions(RangeError, 'eps', 'eps negative', (o) => (o.eps = -1)),
      withOptions(RangeError, 'eps', 'eps NaN', (o) => (o.eps = NaN)),
      withOptions(RangeError, 'layout', 'layout unknown', (o) => (o.layout = 'nhwc')),
      withOptions(TypeError, 'layout', 'layout a number', (o) => (o.layout = 1)),
      withOptions(RangeError, 'out', 'out too short', (o) => (o.out = new Float32Array(23))),
      withOptions(TypeError, 'out', 'out an Array', (o) => (o.out = new Array(24).fill(0))),
      withOptions(RangeError, 'out', 'out aliasing runningMean', (o, s) => {
        const buffer = new Float32Array(27);
        s.arrays.push(buffer);
        o.runningMean = buffer.subarray(0, 3);
        o.out = buffer.subarray(2, 26); // shares runningMean's last value
      }),
      withOptions(RangeError, 'out', 'out aliasing runningVar (eval)', (o, s) => {
        const buffer = new Float32Array(24).fill(1);
        s.arrays.push(buffer);
        o.training = false;
        o.runningVar = buffer.subarray(21, 24);
        o.out = buffer;
      }),
      withOptions(RangeError, 'out', 'out aliasing weight', (o, s) => {
        const buffer = new Float32Array(24).fill(1);
        s.arrays.push(buffer);
        o.weight = buffer.subarray(0, 3);
        o.out = buffer;
      }),
      withOptions(RangeError, 'out', 'out partly overlapping the input', (o, s) => {
        const buffer = new Float32Array(30);
        buffer.set(s.input.data);
        s.arrays.push(buffer);
        s.input = { data: buffer.subarray(0, 24), shape: [4, 3, 2] };
        o.out = buffer.subarray(6, 30);
      }),
      withOptions(
        RangeError,
        'runningMean',
        'runningMean the same array as runningVar',
        (o) => (o.runningVar = o.runningMean),
      ),
      withOptions(RangeError, 'runningMean', 'runningMean overlapping runningVar', (o, s) => {
        const buffer = new Float32Array([1, 2, 3, 4]);
        s.arrays.push(buffer);
        o.runningMean = buffer.subarray(0, 3);
        o.runningVar = buffer.subarray(1, 4);
      }),
      withOptions(
        RangeError,
        'runningMean',
        'runningMean a view of the input',
        (o, s) => (o.runningMean = s.input.data.subarray(3, 6)),
      ),
      withOptions(
        RangeError,
        'runningVar',
        'runningVar the weight itself',
        (o) => (o.runningVar = o.weight),
      ),
      withOptions(
        TypeError,
        'options.running_mean',
        'an unknown option',
        (o) => (o.running_mean = new Float32Array(3)),
      ),
      {
        name: 'options a string',
        kind: TypeError,
        argument: 'options',
        make() {
          const s = setup();
          return {
            arrays: s.arrays,
            call: (api) => api.batchNorm(s.input, 'training' as unknown as BatchNormOptions),
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
      'input, running stat, parameter or out',
    );

    it('allows runningMean and runningVar to be one array in eval, where both are only read', () => {
      const stats = new Float32Array([1, 4]);
      const y = normkit.batchNorm(
        { data: new Float32Array([1, 4, 3, 0]), shape: [2, 2] },
        { runningMean: stats, runningVar: stats },
      );
      expectClose(y.data, [0, 0, 2 / Math.sqrt(1 + 1e-5), -4 / Math.sqrt(4 + 1e-5)]);
      expectSameValues(stats, [1, 4]);
    });
  });
});

describe('BatchNorm1d, BatchNorm2d, BatchNorm3d', () => {
  it('have PyTorch defaults', () => {
    const bn = new normkit.BatchNorm2d(3);
    expect(bn.numFeatures).to.equal(3);
    expect(bn.eps).to.equal(1e-5);
    expect(bn.momentum).to.equal(0.1);
    expect(bn.affine).to.equal(true);
    expect(bn.trackRunningStats).to.equal(true);
    expect(bn.layout).to.equal('channels_first');
    expect(bn.training).to.equal(true);
    expect(bn.numBatchesTracked).to.equal(0);
    expectSameValues(bn.weight!, [1, 1, 1], 'weight');
    expectSameValues(bn.bias!, [0, 0, 0], 'bias');
    expectSameValues(bn.runningMean!, [0, 0, 0], 'running mean');
    expectSameValues(bn.runningVar!, [1, 1, 1], 'running var');
    for (const a of [bn.weight, bn.bias, bn.runningMean, bn.runningVar])
      expect(a).to.be.instanceOf(Float32Array);
  });

  it('switch modes with train() and eval(), which return this', () => {
    const bn = new normkit.BatchNorm1d(2);
    expect(bn.eval()).to.equal(bn);
    expect(bn.training).to.equal(false);
    expect(bn.train()).to.equal(bn);
    expect(bn.training).to.equal(true);
    expect(bn.train(false)).to.equal(bn);
    expect(bn.training).to.equal(false);
    expect(bn.train(true).training).to.equal(true);
    expectInvalid(() => bn.train('no' as unknown as boolean), TypeError, 'mode');
    expect(bn.training).to.equal(true);
  });

  it('train on batch statistics, update the running stats and count the batches', () => {
    const bn = new normkit.BatchNorm2d(3);
    bn.weight!.set([1, 2, 0.5]);
    bn.bias!.set([0, -1, 1]);
    let rm = Array.from(bn.runningMean!);
    let rv = Array.from(bn.runningVar!);
    for (let k = 1; k <= 3; k++) {
      const x = channelTensor([2, 3, 3, 4]);
      const y = bn.forward(x);
      const f = batchNormFormula(x.data, x.shape, { weight: bn.weight, bias: bn.bias });
      expectClose(y.data, f.y, undefined, `batch ${k} output`);
      rm = blend(rm, f.mean, 0.1);
      rv = blend(rv, f.unbiased, 0.1);
      expectClose(bn.runningMean!, rm, undefined, `batch ${k} running mean`);
      expectClose(bn.runningVar!, rv, undefined, `batch ${k} running var`);
      expect(bn.numBatchesTracked).to.equal(k);
    }
  });

  it('in eval use the running stats and change neither them nor the counter', () => {
    const bn = new normkit.BatchNorm1d(4);
    bn.forward(channelTensor([5, 4]));
    bn.eval();
    const before = snapshot([bn.runningMean, bn.runningVar]);
    const x = channelTensor([3, 4, 6]);
    const y = bn.forward(x);
    expectClose(
      y.data,
      batchNormFormula(x.data, x.shape, {
        stats: { mean: bn.runningMean!, variance: bn.runningVar! },
      }).y,
    );
    expectUnchanged([bn.runningMean, bn.runningVar], before, 'running stats');
    expect(bn.numBatchesTracked).to.equal(1);
    // One value per channel is fine in eval.
    expect(bn.forward({ data: new Float32Array(4), shape: [1, 4] }).data.length).to.equal(4);
  });

  it('with momentum null keep the cumulative average of the batch statistics', () => {
    const bn = new normkit.BatchNorm1d(3, { momentum: null });
    expect(bn.momentum).to.equal(null);
    const means: number[][] = [];
    const vars: number[][] = [];
    for (let k = 0; k < 3; k++) {
      const x = channelTensor([4 + k, 3, 5]);
      bn.forward(x);
      const f = batchNormFormula(x.data, x.shape);
      means.push(f.mean);
      vars.push(f.unbiased);
    }
    expect(bn.numBatchesTracked).to.equal(3);
    const avg = (rows: number[][]) =>
      rows[0].map((_, c) => rows.reduce((a, r) => a + r[c], 0) / rows.length);
    expectClose(bn.runningMean!, avg(means), undefined, 'running mean');
    expectClose(bn.runningVar!, avg(vars), undefined, 'running var');
  });

  it('with momentum null continue the average from a loaded num_batches_tracked', () => {
    const bn = new normkit.BatchNorm1d(2, { momentum: null });
    const state = bn.stateDict();
    state.running_mean = new Float32Array([10, 20]);
    state.running_var = new Float32Array([3, 6]);
    state.num_batches_tracked = 3;
    bn.loadStateDict(state);
    const x = channelTensor([8, 2]);
    bn.forward(x);
    const f = batchNormFormula(x.data, x.shape);
    // factor 1 / 4 after incrementing to 4
    expectClose(
      bn.runningMean!,
      [(3 * 10 + f.mean[0]) / 4, (3 * 20 + f.mean[1]) / 4],
      undefined,
      'running mean',
    );
    expectClose(
      bn.runningVar!,
      [(3 * 3 + f.unbiased[0]) / 4, (3 * 6 + f.unbiased[1]) / 4],
      undefined,
      'running var',
    );
    expect(bn.numBatchesTracked).to.equal(4);
  });

  it('with a custom momentum blend by it', () => {
    const bn = new normkit.BatchNorm3d(2, { momentum: 0.5 });
    const x = channelTensor([2, 2, 2, 2, 3]);
    bn.forward(x);
    const f = batchNormFormula(x.data, x.shape);
    expectClose(bn.runningMean!, blend([0, 0], f.mean, 0.5));
    expectClose(bn.runningVar!, blend([1, 1], f.unbiased, 0.5));
  });

  it('without trackRunningStats have no running stats and use batch stats in eval too', () => {
    const bn = new normkit.BatchNorm2d(2, { trackRunningStats: false });
    expect(bn.runningMean).to.equal(null);
    expect(bn.runningVar).to.equal(null);
    const x = channelTensor([3, 2, 2, 2]);
    const f = batchNormFormula(x.data, x.shape);
    expectClose(bn.forward(x).data, f.y, undefined, 'training');
    bn.eval();
    expectClose(bn.forward(x).data, f.y, undefined, 'eval');
    expect(bn.numBatchesTracked).to.equal(0);
    expect(Object.keys(bn.stateDict()).sort()).to.deep.equal(['bias', 'weight']);
    // Batch statistics need more than one value per channel, in eval as well.
    expectInvalid(
      () => bn.forward({ data: new Float32Array(2), shape: [1, 2, 1, 1] }),
      RangeError,
      'input.shape',
    );
  });

  it('without affine have no weight or bias', () => {
    const bn = new normkit.BatchNorm1d(3, { affine: false });
    expect(bn.weight).to.equal(null);
    expect(bn.bias).to.equal(null);
    const x = channelTensor([4, 3, 2]);
    expectClose(bn.forward(x).data, batchNormFormula(x.data, x.shape).y);
    expect(Object.keys(bn.stateDict()).sort()).to.deep.equal([
      'num_batches_tracked',
      'running_mean',
      'running_var',
    ]);
  });

  it('with layout channels_last take the logical shape and store like channels_last', () => {
    const first = new normkit.BatchNorm2d(3);
    const last = new normkit.BatchNorm2d(3, { layout: 'channels_last' });
    expect(last.layout).to.equal('channels_last');
    const x = channelTensor([2, 3, 4, 5]);
    const yFirst = first.forward(x);
    const yLast = last.forward({ data: toChannelsLast(x.data, x.shape), shape: x.shape });
    expectClose(toChannelsFirst(yLast.data, x.shape), yFirst.data, { abs: 1e-6, rel: 1e-6 });
    expectClose(last.runningMean!, first.runningMean!, { abs: 1e-6, rel: 1e-6 });
    expectClose(last.runningVar!, first.runningVar!, { abs: 1e-6, rel: 1e-6 });
  });

  it('forward into out, in place included', () => {
    const bn = new normkit.BatchNorm1d(2).eval();
    const x = channelTensor([3, 2, 4]);
    const expected = bn.forward(x).data;
    const out = new Float32Array(24);
    expect(bn.forward(x, { out }).data).to.equal(out);
    expectSameValues(out, expected);
    expect(bn.forward(x, { out: x.data }).data).to.equal(x.data);
    expectSameValues(x.data, expected, 'in place');
  });

  describe('rank and channel checks', () => {
    const ok: Array<[string, () => normkit.BatchNormBase, number[][], number[][]]> = [
      [
        'BatchNorm1d',
        () => new normkit.BatchNorm1d(2),
        [
          [3, 2],
          [3, 2, 4],
        ],
        [[2], [3, 2, 2, 2], [3, 2, 2, 2, 2]],
      ],
      [
        'BatchNorm2d',
        () => new normkit.BatchNorm2d(2),
        [[3, 2, 2, 2]],
        [
          [3, 2],
          [3, 2, 2],
          [3, 2, 2, 2, 2],
        ],
      ],
      [
        'BatchNorm3d',
        () => new normkit.BatchNorm3d(2),
        [[3, 2, 2, 2, 2]],
        [
          [3, 2],
          [3, 2, 2],
          [3, 2, 2, 2],
        ],
      ],
    ];
    for (const [name, make, good, bad] of ok) {
      it(`${name} takes ranks ${good.map((s) => s.length).join(' and ')} only (RangeError otherwise), changing nothing`, () => {
        const bn = make();
        for (const shape of good)
          expect(bn.forward(channelTensor(shape)).shape).to.deep.equal(shape);
        const count = bn.numBatchesTracked;
        expect(count).to.equal(good.length);
        const before = snapshot([bn.runningMean, bn.runningVar]);
        for (const shape of bad) {
          const x = randomTensor(shape);
          const e = expectInvalid(() => bn.forward(x), RangeError, 'input.shape');
          expect(e.message).to.contain(name);
        }
        expect(bn.numBatchesTracked).to.equal(count);
        expectUnchanged([bn.runningMean, bn.runningVar], before, 'running stats');
      });
    }

    it('reject a channel count other than numFeatures', () => {
      const bn = new normkit.BatchNorm2d(3);
      expectInvalid(() => bn.forward(randomTensor([2, 4, 2, 2])), RangeError, 'input.shape[1]');
      expectInvalid(
        () => new normkit.BatchNorm1d(3).eval().forward(randomTensor([2, 2])),
        RangeError,
        'input.shape[1]',
      );
      expect(bn.numBatchesTracked).to.equal(0);
    });
  });

  it('a failing forward leaves the counter, the running stats and out unchanged', () => {
    const bn = new normkit.BatchNorm2d(3);
    bn.forward(channelTensor([2, 3, 2, 2]));
    const before = snapshot([bn.runningMean, bn.runningVar]);
    const out = new Float32Array(12).fill(5);
    const failures: Array<[() => unknown, typeof TypeError | typeof RangeError, string]> = [
      [() => bn.forward(randomTensor([2, 3, 2])), RangeError, 'input.shape'],
      [
        () => bn.forward(randomTensor([1, 3, 2, 2]), { out: new Float32Array(11) }),
        RangeError,
        'out',
      ],
      [
        () =>
          bn.forward(randomTensor([1, 3, 2, 2]), {
            out: new Float64Array(12) as unknown as Float32Array,
          }),
        TypeError,
        'out',
      ],
      [
        () => bn.forward({ data: out.subarray(0, 3), shape: [1, 3, 1, 1] }),
        RangeError,
        'input.shape',
      ],
      [
        () => bn.forward(randomTensor([1, 2, 2, 2]), { out: out.subarray(0, 8) }),
        RangeError,
        'input.shape[1]',
      ],
      [
        () => bn.forward({ data: new Float32Array(12), shape: [1, 3, 2, 3] }, { out }),
        RangeError,
        'input.data',
      ],
      [
        () => bn.forward(randomTensor([1, 3, 2, 2]), { out, extra: 1 } as never),
        TypeError,
        'options.extra',
      ],
      [() => bn.forward(null as unknown as Tensor), TypeError, 'input'],
    ];
    for (const [call, kind, argument] of failures) {
      expectInvalid(call, kind, argument);
      expect(bn.numBatchesTracked, `counter after ${argument}`).to.equal(1);
      expectUnchanged([bn.runningMean, bn.runningVar], before, `running stats after ${argument}`);
      expectSameValues(out, new Array(12).fill(5), `out after ${argument}`);
    }
  });

  it('reject bad constructor arguments', () => {
    expectInvalid(() => new normkit.BatchNorm2d(0), RangeError, 'numFeatures');
    expectInvalid(() => new normkit.BatchNorm2d(2.5), RangeError, 'numFeatures');
    expectInvalid(
      () => new normkit.BatchNorm2d('3' as unknown as number),
      TypeError,
      'numFeatures',
    );
    expectInvalid(
      () => new normkit.BatchNorm2d(3, { momentum: '0.1' as unknown as number }),
      TypeError,
      'momentum',
    );
    expectInvalid(() => new normkit.BatchNorm2d(3, { momentum: NaN }), RangeError, 'momentum');
    expectInvalid(() => new normkit.BatchNorm2d(3, { eps: -1 }), RangeError, 'eps');
    expectInvalid(
      () => new normkit.BatchNorm2d(3, { affine: 0 as unknown as boolean }),
      TypeError,
      'affine',
    );
    expectInvalid(
      () => new normkit.BatchNorm2d(3, { trackRunningStats: 'yes' as unknown as boolean }),
      TypeError,
      'trackRunningStats',
    );
    expectInvalid(
      () => new normkit.BatchNorm2d(3, { layout: 'NHWC' as never }),
      RangeError,
      'layout',
    );
    expectInvalid(
      () => new normkit.BatchNorm2d(3, { track_running_stats: false } as never),
      TypeError,
      'options.track_running_stats',
    );
  });

  describe('state dict', () => {
    it('returns copies under PyTorch keys, num_batches_tracked as a number', () => {
      const bn = new normkit.BatchNorm1d(2);
      bn.forward(channelTensor([4, 2]));
      bn.forward(channelTensor([4, 2]));
      const d = bn.stateDict();
      expect(Object.keys(d).sort()).to.deep.equal([
        'bias',
        'num_batches_tracked',
        'running_mean',
        'running_var',
        'weight',
      ]);
      expect(d.num_batches_tracked).to.equal(2);
      expectSameValues(d.running_mean!, bn.runningMean!);
      expectSameValues(d.running_var!, bn.runningVar!);
      expect(d.running_mean).to.not.equal(bn.runningMean);
      const rm = bn.runningMean!.slice();
      d.running_mean![0] = 1234;
      d.weight![0] = 1234;
      expectSameValues(bn.runningMean!, rm, 'module running mean');
      expect(bn.weight![0]).to.equal(1);
    });

    it('round-trips through loadStateDict, num_batches_tracked included', () => {
      const a = new normkit.BatchNorm2d(3);
      a.weight!.set([2, 3, 4]);
      a.bias!.set([-1, 0, 1]);
      for (let k = 0; k < 3; k++) a.forward(channelTensor([2, 3, 2, 3]));
      const b = new normkit.BatchNorm2d(3);
      const dict = a.stateDict();
      b.loadStateDict(dict);
      expect(b.numBatchesTracked).to.equal(3);
      for (const key of ['weight', 'bias', 'runningMean', 'runningVar'] as const)
        expectSameValues(b[key]!, a[key]!, key);
      dict.running_var![0] = 77;
      expect(b.runningVar![0]).to.not.equal(77);
      const x = channelTensor([2, 3, 2, 3]);
      a.eval();
      b.eval();
      expectSameValues(b.forward(x).data, a.forward(x).data, 'eval forward');
      const plain = new normkit.BatchNorm1d(2, { affine: false, trackRunningStats: false });
      plain.loadStateDict({});
    });

    it('rejects bad dicts and changes nothing', () => {
      const bn = new normkit.BatchNorm1d(2);
      bn.forward(channelTensor([3, 2]));
      const before = snapshot([bn.weight, bn.bias, bn.runningMean, bn.runningVar]);
      const good = () => ({
        weight: new Float32Array([5, 5]),
        bias: new Float32Array([5, 5]),
        running_mean: new Float32Array([5, 5]),
        running_var: new Float32Array([5, 5]),
        num_batches_tracked: 9,
      });
      const bad: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
        [{ ...good(), running_var: new Float32Array(3) }, RangeError, 'dict.running_var'],
        [{ ...good(), running_mean: new Float32Array(1) }, RangeError, 'dict.running_mean'],
        [{ ...good(), bias: new Float64Array(2) }, TypeError, 'dict.bias'],
        [{ ...good(), running_mean: undefined }, TypeError, 'dict.running_mean'],
        [{ ...good(), num_batches_tracked: undefined }, TypeError, 'dict.num_batches_tracked'],
        [{ ...good(), num_batches_tracked: '9' }, TypeError, 'dict.num_batches_tracked'],
        [{ ...good(), num_batches_tracked: -1 }, RangeError, 'dict.num_batches_tracked'],
        [{ ...good(), num_batches_tracked: 1.5 }, RangeError, 'dict.num_batches_tracked'],
        [{ ...good(), momentum: 0.1 }, RangeError, 'dict.momentum'],
      ];
      for (const [dict, kind, argument] of bad) {
        expectInvalid(() => bn.loadStateDict(dict as normkit.BatchNormStateDict), kind, argument);
        expectUnchanged(
          [bn.weight, bn.bias, bn.runningMean, bn.runningVar],
          before,
          `state after ${argument}`,
        );
        expect(bn.numBatchesTracked, `counter after ${argument}`).to.equal(1);
      }
      const untracked = new normkit.BatchNorm1d(2, { trackRunningStats: false });
      expectInvalid(() => untracked.loadStateDict(good()), RangeError, 'dict.running_mean');
      const { weight, bias } = good();
      expectInvalid(
        // Not a state dict of any module (the type says so too): the loader must still reject it.
        () =>
          untracked.loadStateDict({
            weight,
            bias,
            num_batches_tracked: 1,
          } as unknown as normkit.BatchNormStateDict),
        RangeError,
        'dict.num_batches_tracked',
      );
      expectSameValues(untracked.weight!, [1, 1], 'untracked weight');
    });

    it('rejects a dict that is not an object with a TypeError naming dict', () => {
      // As torch's load_state_dict ("Expected state_dict to be dict-like"): the argument at
      // fault is the dict itself, not one of its keys.
      for (const make of [
        () => new normkit.BatchNorm2d(2),
        () => new normkit.BatchNorm2d(2, { trackRunningStats: false }),
      ]) {
        const bn = make();
        for (const dict of [null, undefined, 7, [new Float32Array(2)]]) {
          const e = expectInvalid(
            () => bn.loadStateDict(dict as unknown as normkit.BatchNormStateDict),
            TypeError,
            'dict',
          );
          expect(e.message).to.contain('state dict');
        }
        expectSameValues(bn.weight!, [1, 1], 'weight');
      }
    });
  });
});

describe('describeBatchNorm', () => {
  it('gives the worked example: (2, 3, 4, 4)', () => {
    expect(normkit.describeBatchNorm([2, 3, 4, 4])).to.deep.equal({
      statistics: 3,
      valuesPerStatistic: 32,
      paramShape: [3],
    });
  });

  it('counts N times the spatial size per channel at every rank', () => {
    expect(normkit.describeBatchNorm([8, 5])).to.deep.equal({
      statistics: 5,
      valuesPerStatistic: 8,
      paramShape: [5],
    });
    expect(normkit.describeBatchNorm([2, 4, 7])).to.deep.equal({
      statistics: 4,
      valuesPerStatistic: 14,
      paramShape: [4],
    });
    expect(normkit.describeBatchNorm([2, 3, 2, 3, 4])).to.deep.equal({
      statistics: 3,
      valuesPerStatistic: 48,
      paramShape: [3],
    });
    expect(normkit.describeBatchNorm([0, 3, 4])).to.deep.equal({
      statistics: 3,
      valuesPerStatistic: 0,
      paramShape: [3],
    });
  });

  it('rejects ranks outside 2 to 5 and malformed shapes', () => {
    expectInvalid(() => normkit.describeBatchNorm([6]), RangeError, 'shape');
    expectInvalid(() => normkit.describeBatchNorm([1, 2, 3, 4, 5, 6]), RangeError, 'shape');
    expectInvalid(() => normkit.describeBatchNorm([2, -3]), RangeError, 'shape');
    expectInvalid(() => normkit.describeBatchNorm([2, 3.5]), RangeError, 'shape');
    expectInvalid(() => normkit.describeBatchNorm(null as unknown as number[]), TypeError, 'shape');
  });
});
