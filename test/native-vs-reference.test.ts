// The native kernels against the float64 TypeScript reference on seeded random cases: awkward
// sizes (1, 2, odd, primes, 4097), every rank, both layouts, with and without affine, training
// and eval, and the hard data of the conformance README (offset, huge, tiny, constant). Also
// the same cases on 1, 2 and 3 threads.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { Layout, Tensor } from 'normkit';
import { mulberry32, normal, pick, randomInt } from './helpers/prng';
import { expectClose, expectSameValues, prod, TOL, type Tolerance } from './helpers/tensors';

type Kind = 'normal' | 'offset' | 'huge' | 'tiny' | 'constant';
const KINDS: readonly Kind[] = ['normal', 'offset', 'huge', 'tiny', 'constant'];

/** Float32 data of a hard kind: offset (mean 1e4, std 1e-2), huge (1e19), tiny (1e-30), constant. */
function data(rng: () => number, n: number, kind: Kind): Float32Array {
  const a = new Float32Array(n);
  const constant = 1e4 * normal(rng);
  for (let i = 0; i < n; i++) {
    const z = normal(rng);
    switch (kind) {
      case 'normal':
        a[i] = 2 * z - 0.5;
        break;
      case 'offset':
        a[i] = 1e4 + 1e-2 * z;
        break;
      case 'huge':
        a[i] = 1e19 * z;
        break;
      case 'tiny':
        a[i] = 1e-30 * z;
        break;
      case 'constant':
        a[i] = constant;
        break;
    }
  }
  return a;
}

function params(rng: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => 1 + 0.5 * normal(rng));
}

/** Running statistics on the scale of the data, so eval output stays O(1). */
function stats(
  rng: () => number,
  c: number,
  kind: Kind,
): { runningMean: Float32Array; runningVar: Float32Array } {
  const [mean, std] = {
    normal: [-0.5, 2],
    offset: [1e4, 1e-2],
    huge: [0, 1e19],
    tiny: [0, 1e-30],
    constant: [0, 1],
  }[kind];
  return {
    runningMean: Float32Array.from({ length: c }, () => mean + std * 0.3 * normal(rng)),
    runningVar: Float32Array.from({ length: c }, () => std * std * (0.5 + rng())),
  };
}

const SIZES = [1, 2, 3, 5, 7, 13, 31, 4097];

/** Draws dims from SIZES until the product stays under `budget`. */
function randomDims(rng: () => number, count: number, budget: number): number[] {
  const dims: number[] = [];
  for (let i = 0; i < count; i++) {
    let d = pick(rng, SIZES);
    while (prod(dims) * d > budget) d = pick(rng, SIZES.slice(0, 5));
    dims.push(d);
  }
  return dims;
}

/** The reference itself is only exact up to float32 output rounding; 1e-5 covers the native's float math. */
const tol: Tolerance = TOL;

describe('native vs reference', function () {
  before(function () {
    if (normkit.backend === 'js') this.skip();
  });

  describe('layerNorm', () => {
    const rng = mulberry32(20240601);
    const shapes: Array<[number[], number]> = [
      [[1, 1], 1],
      [[2, 1], 1],
      [[1, 4097], 1],
      [[3, 4097], 1],
      [[5, 2], 1],
      [[7, 13], 1],
      [[2, 3, 31], 2],
      [[4097], 1],
      [[2, 5, 7, 3], 3],
      [[3, 64], 1],
    ];
    for (let i = 0; i < 8; i++) {
      const rank = randomInt(rng, 2, 5);
      const dims = randomDims(rng, rank, 20000);
      shapes.push([dims, randomInt(rng, 1, Math.min(3, rank))]);
    }
    for (const [shape, k] of shapes) {
      const ns = shape.slice(shape.length - k);
      it(`[${shape}] over [${ns}]: every data kind, with and without affine`, () => {
        const cols = prod(ns);
        for (const kind of KINDS) {
          const x: Tensor = { data: data(rng, prod(shape), kind), shape };
          const variants = [
            { weight: params(rng, cols), bias: params(rng, cols) },
            { weight: params(rng, cols) },
            {},
            { bias: params(rng, cols), eps: 1e-3 },
          ];
          // Without eps the tiny data is normalized to O(1) values rather than to ~1e-27.
          if (kind === 'tiny' && cols > 1)
            variants.push({ weight: params(rng, cols), eps: 0 } as never);
          for (const options of variants) {
            const label = `${kind} ${Object.keys(options).join('+') || 'plain'}`;
            const got = normkit.layerNorm(x, ns, options).data;
            const want = normkit.reference.layerNorm(x, ns, options).data;
            expectClose(got, want, tol, label);
          }
        }
      });
    }
  });

  describe('batchNorm', () => {
    const rng = mulberry32(77031);
    const shapes: number[][] = [
      [2, 1],
      [5, 3],
      [1, 4097, 2],
      [4097, 3],
      [2, 7, 13],
      [1, 2, 31],
      [3, 5, 7, 2],
      [2, 3, 1, 1],
      [2, 2, 3, 5, 7],
      [1, 13, 1, 1, 2],
      [3, 1, 31, 31],
      [2, 64, 7, 7],
    ];
    for (let i = 0; i < 6; i++) {
      const rank = randomInt(rng, 2, 5);
      const dims = randomDims(rng, rank, 30000);
      if (dims[0] * prod(dims.slice(2)) === 1) dims[0] = 2;
      shapes.push(dims);
    }
    for (const shape of shapes) {
      it(`[${shape}]: every data kind, both layouts, affine or not, training and eval`, () => {
        const c = shape[1];
        for (const kind of KINDS) {
          const x: Tensor = { data: data(rng, prod(shape), kind), shape };
          for (const layout of ['channels_first', 'channels_last'] as Layout[]) {
            for (const affine of [true, false]) {
              for (const training of [true, false]) {
                const weight = affine ? params(rng, c) : null;
                const bias = affine ? params(rng, c) : null;
                const s = stats(rng, c, kind);
                const native = {
                  runningMean: s.runningMean.slice(),
                  runningVar: s.runningVar.slice(),
                };
                const reference = {
                  runningMean: s.runningMean.slice(),
                  runningVar: s.runningVar.slice(),
                };
                const options = { weight, bias, training, layout, momentum: training ? 0.3 : 0.1 };
                const label = `${kind} ${layout} ${affine ? 'affine' : 'plain'} ${training ? 'training' : 'eval'}`;
                const got = normkit.batchNorm(x, { ...options, ...native }).data;
                const want = normkit.reference.batchNorm(x, { ...options, ...reference }).data;
                expectClose(got, want, tol, `${label} output`);
                expectClose(
                  native.runningMean,
                  reference.runningMean,
                  tol,
                  `${label} running mean`,
                );
                expectClose(native.runningVar, reference.runningVar, tol, `${label} running var`);
              }
            }
          }
        }
      });
    }

    it('agrees without running stats and with momentum 0 and 1', () => {
      const shape = [6, 5, 11];
      const x: Tensor = { data: data(rng, prod(shape), 'offset'), shape };
      expectClose(
        normkit.batchNorm(x, { training: true }).data,
        normkit.reference.batchNorm(x, { training: true }).data,
        tol,
      );
      for (const momentum of [0, 1]) {
        const a = stats(rng, 5, 'offset');
        const b = { runningMean: a.runningMean.slice(), runningVar: a.runningVar.slice() };
        normkit.batchNorm(x, { ...a, momentum, training: true });
        normkit.reference.batchNorm(x, { ...b, momentum, training: true });
        expectClose(a.runningMean, b.runningMean, tol, `momentum ${momentum} mean`);
        expectClose(a.runningVar, b.runningVar, tol, `momentum ${momentum} var`);
      }
    });
  });

  it('reads and writes views at an offset into a larger buffer', () => {
    const rng = mulberry32(5);
    const buffer = data(rng, 3 + 2 * 6 * 7 * 5, 'normal');
    const x: Tensor = { data: buffer.subarray(3, 3 + 6 * 7 * 5), shape: [6, 7, 5] };
    const copy: Tensor = { data: x.data.slice(), shape: x.shape };
    const outView = buffer.subarray(3 + 6 * 7 * 5);
    const weight = params(rng, 35);
    expectClose(
      normkit.layerNorm(x, [7, 5], { weight, out: outView }).data,
      normkit.reference.layerNorm(copy, [7, 5], { weight }).data,
      tol,
      'layerNorm',
    );
    for (const layout of ['channels_first', 'channels_last'] as Layout[]) {
      const stats = new Float32Array(20).fill(1);
      const a = { runningMean: stats.subarray(3, 10), runningVar: stats.subarray(11, 18) };
      const b = { runningMean: a.runningMean.slice(), runningVar: a.runningVar.slice() };
      const got = normkit.batchNorm(x, { ...a, layout, training: true, out: outView }).data;
      expectClose(
        got,
        normkit.reference.batchNorm(copy, { ...b, layout, training: true }).data,
        tol,
        `batchNorm ${layout}`,
      );
      expectClose(a.runningVar, b.runningVar, tol, `running var ${layout}`);
      expectSameValues(
        [stats[0], stats[1], stats[2], stats[10], stats[18], stats[19]],
        [1, 1, 1, 1, 1, 1],
        'outside the views',
      );
    }
    expectSameValues(x.data, copy.data, 'input');
  });

  describe('thread counts', () => {
    let original = 1;
    before(() => {
      original = normkit.getNumThreads();
    });
    after(() => {
      normkit.setNumThreads(original);
      expect(normkit.getNumThreads()).to.equal(original);
    });

    /** Runs `f` on 1, 2 and 3 threads, restoring the original count afterwards. */
    function onThreads<T>(f: () => T): T[] {
      const results: T[] = [];
      try {
        for (const n of [1, 2, 3]) {
          normkit.setNumThreads(n);
          results.push(f());
        }
      } finally {
        normkit.setNumThreads(original);
      }
      return results;
    }

    // Large enough (>= 2 x 32768 values) that the kernels really split the work.
    const rng = mulberry32(99);
    const bound: Tolerance = { abs: 1e-6, rel: 1e-6 };

    it('gives the same layerNorm on 1, 2 and 3 threads, and the reference result', () => {
      for (const [shape, kind] of [
        [[64, 4097], 'normal'],
        [[67, 1031], 'offset'],
        [[4099, 17], 'huge'],
      ] as Array<[number[], Kind]>) {
        const cols = shape[1];
        const x: Tensor = { data: data(rng, prod(shape), kind), shape };
        const weight = params(rng, cols);
        const bias = params(rng, cols);
        const runs = onThreads(() => normkit.layerNorm(x, cols, { weight, bias }).data);
        const want = normkit.reference.layerNorm(x, cols, { weight, bias }).data;
        runs.forEach((got, i) => {
          // Rows are independent, so the split cannot change a row's arithmetic.
          expectClose(got, runs[0], bound, `[${shape}] ${i + 1} threads vs 1`);
          expectClose(got, want, tol, `[${shape}] ${i + 1} threads vs reference`);
        });
      }
    });

    it('gives the same batchNorm on 1, 2 and 3 threads up to rounding, both layouts', () => {
      for (const [shape, kind] of [
        [[4, 8, 64, 64], 'normal'],
        [[8, 3, 97, 29], 'offset'],
        [[70001, 3], 'normal'],
        [[2, 64, 23, 23], 'huge'],
        // Fewer channels than threads: per-plane partial sums instead of a channel per thread.
        [[16, 1, 64, 64], 'offset'],
        [[6, 2, 128, 64], 'normal'],
      ] as Array<[number[], Kind]>) {
        const c = shape[1];
        const x: Tensor = { data: data(rng, prod(shape), kind), shape };
        const weight = params(rng, c);
        const bias = params(rng, c);
        const s0 = stats(rng, c, kind);
        for (const layout of ['channels_first', 'channels_last'] as Layout[]) {
          const label = `[${shape}] ${layout}`;
          const fresh = () => ({
            runningMean: s0.runningMean.slice(),
            runningVar: s0.runningVar.slice(),
          });
          const runs = onThreads(() => {
            const s = fresh();
            const y = normkit.batchNorm(x, { ...s, weight, bias, layout, training: true }).data;
            return { y, ...s };
          });
          const ref = fresh();
          const want = normkit.reference.batchNorm(x, {
            ...ref,
            weight,
            bias,
            layout,
            training: true,
          }).data;
          runs.forEach((r, i) => {
            expectClose(r.y, runs[0].y, bound, `${label} ${i + 1} threads vs 1: output`);
            expectClose(
              r.runningMean,
              runs[0].runningMean,
              bound,
              `${label} ${i + 1} threads vs 1: running mean`,
            );
            expectClose(
              r.runningVar,
              runs[0].runningVar,
              bound,
              `${label} ${i + 1} threads vs 1: running var`,
            );
            expectClose(r.y, want, tol, `${label} ${i + 1} threads vs reference`);
            expectClose(
              r.runningVar,
              ref.runningVar,
              tol,
              `${label} ${i + 1} threads vs reference: running var`,
            );
          });
          const evalRuns = onThreads(
            () => normkit.batchNorm(x, { ...s0, weight, bias, layout }).data,
          );
          evalRuns.forEach((y, i) =>
            expectClose(y, evalRuns[0], bound, `${label} eval ${i + 1} threads vs 1`),
          );
        }
      }
    });

    it('sets and restores the thread count around the runs', () => {
      onThreads(() => normkit.getNumThreads());
      expect(normkit.getNumThreads()).to.equal(original);
      if (normkit.native?.hasOpenMP()) {
        expect(onThreads(() => normkit.getNumThreads())).to.deep.equal([1, 2, 3]);
      }
    });
  });
});
