// Every op's native kernel against the float64 TypeScript reference (normkit vs
// normkit.reference), on seeded random cases built from the op descriptors alone: ranks 1 to 5
// where the op takes them, awkward sizes (1, 2, primes, 4097), both layouts where the op has a
// layout, every optional array given or not, every flag both ways (training / eval,
// useInputStats), outputs allocated, as unaligned views into one buffer with the inputs, or in
// place; and the hard data of the conformance README (offset, huge, tiny, constant, a NaN and an
// infinity). Then the same ops on 1, 2 and 3 threads, on tensors large enough to be split.
import { expect } from 'chai';
import * as normkit from 'normkit';
import {
  boolCombos,
  describeShape,
  diffOutcomes,
  KINDS,
  layoutsOf,
  opShapes,
  optionalArrays,
  optionsOfKind,
  prepare,
  presenceVariants,
  runOn,
  statsFromInput,
  takesNormalizedShape,
  TOL,
  type Kind,
  type OpShape,
  type Outcome,
  type Variant,
} from './helpers/op-cases';
import { asApi, nativeSkipReason, OP_LIST, type OpDescriptor } from './helpers/ops';
import { mulberry32, pick, randomInt } from './helpers/prng';
import { prod } from './helpers/tensors';

const native = asApi(normkit);
const reference = asApi(normkit.reference);

/** The sizes the shapes are drawn from: 1, 2, primes, and 4097 (past every vector width). */
const SIZES = [1, 2, 3, 5, 7, 13, 31, 4097];

/** Awkward shapes of every rank; each op takes those its shape rule accepts. */
const FIXED: number[][] = [
  [1],
  [7],
  [4097],
  [1, 1],
  [2, 1],
  [1, 4097],
  [3, 4097],
  [5, 2],
  [7, 13],
  [4097, 3],
  [2, 3, 31],
  [1, 4097, 2],
  [2, 7, 13],
  [1, 2, 31],
  [2, 5, 7, 3],
  [3, 5, 7, 2],
  [2, 3, 1, 1],
  [3, 1, 31, 31],
  [2, 64, 7, 7],
  [2, 2, 3, 5, 7],
  [1, 13, 1, 1, 2],
];

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

/** The shapes of `op`: the fixed ones and one random shape per rank, with normalizedShape of 1 to 3 trailing dims. */
function shapesOf(op: OpDescriptor, rng: () => number): OpShape[] {
  const shapes = [...FIXED];
  for (let rank = 2; rank <= 5; rank++) shapes.push(randomDims(rng, rank, 10000));
  return shapes.flatMap((shape) => {
    const ks = takesNormalizedShape(op) ? [1, randomInt(rng, 1, Math.min(3, shape.length))] : [1];
    return opShapes(op, shape, ks);
  });
}

/** The variants of one shape: see the file comment. */
function variantsOf(op: OpDescriptor, s: OpShape): Variant[] {
  const all = new Set(optionalArrays(op));
  const perStatistic = describeShape(op, s).valuesPerStatistic;
  const epsKey = optionsOfKind(op, 'eps')[0];
  const nullable = epsKey && (op.options[epsKey] as { nullable?: boolean }).nullable;
  const out: Variant[] = [];
  layoutsOf(op).forEach((layout, li) => {
    boolCombos(op).forEach((bools, bi) => {
      for (const kind of KINDS) {
        const base = { kind, bools, layout };
        if (kind !== 'normal') {
          out.push({ ...base, given: all });
          // Without eps the tiny data is normalized to O(1) values rather than to ~1e-27.
          if (kind === 'tiny' && epsKey && perStatistic > 1 && statsFromInput(op, bools)) {
            out.push({ ...base, given: all, eps: 0 });
          }
          // Denormal data with eps 0: rstd past the float32 maximum, or infinite for a zero
          // (running) variance; extreme data without weights too.
          if (kind === 'denormal' && epsKey) out.push({ ...base, given: all, eps: 0 });
          if (kind === 'extreme' || kind === 'denormal') out.push({ ...base, given: new Set() });
          continue;
        }
        for (const given of presenceVariants(op)) out.push({ ...base, given });
        if (epsKey) out.push({ ...base, given: all, eps: 1e-3 });
        if (nullable) out.push({ ...base, given: all, eps: null });
        if (li === 0 && bi === 0) {
          out.push({ ...base, given: all, out: 'views' }, { ...base, given: all, out: 'inPlace' });
        }
      }
    });
  });
  return out;
}

function skipUnlessNative(ctx: Mocha.Context, op: OpDescriptor): void {
  if (normkit.backend !== 'native') ctx.skip();
  if (nativeSkipReason(op)) ctx.skip();
}

describe('native vs reference', function () {
  this.timeout(60000);

  for (const op of OP_LIST) {
    describe(op.name, () => {
      before(function () {
        skipUnlessNative(this, op);
      });
      const rng = mulberry32(20240601 + op.name.length);
      let seed = 1;
      for (const s of shapesOf(op, rng)) {
        const first = seed;
        seed += 1000;
        it(`${s.label}: every data kind, layout, flag and optional array; out as views and in place`, () => {
          const problems: string[] = [];
          let n = first;
          for (const v of variantsOf(op, s)) {
            const p = prepare(op, s, v, n++);
            const bad = diffOutcomes(runOn(op, p, native), runOn(op, p, reference), TOL);
            problems.push(...bad.map((b) => `${p.label}: ${b}`));
          }
          expect(problems.slice(0, 12), `${problems.length} problems`).to.deep.equal([]);
        });
      }

      if (optionsOfKind(op, 'number').length) {
        it('agrees with every number option (momentum) at 0 and 1, and without state arrays', () => {
          const s = opShapes(op, [6, 5, 11])[0];
          const problems: string[] = [];
          for (const bools of boolCombos(op).filter((b) => statsFromInput(op, b))) {
            for (const key of optionsOfKind(op, 'number')) {
              for (const value of [0, 1]) {
                for (const given of [new Set(optionalArrays(op)), new Set<string>()]) {
                  const v: Variant = { kind: 'offset', bools, given, numbers: { [key]: value } };
                  const p = prepare(op, s, v, value + 7);
                  const bad = diffOutcomes(runOn(op, p, native), runOn(op, p, reference), TOL);
                  problems.push(...bad.map((b) => `${p.label}: ${b}`));
                }
              }
            }
          }
          expect(problems.slice(0, 12)).to.deep.equal([]);
        });
      }
    });
  }

  describe('thread counts', () => {
    let original = 1;
    before(function () {
      if (normkit.backend !== 'native') this.skip();
      original = normkit.getNumThreads();
    });
    after(() => {
      if (normkit.backend !== 'native') return;
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

    // Large enough (>= 2 x 32768 values) that the kernels really split the work: long rows,
    // many short rows, odd planes, fewer channels than threads, a channel per thread or more.
    const BIG: Array<[number[], Kind]> = [
      [[25, 4099], 'normal'],
      [[67, 1031], 'offset'],
      [[4099, 17], 'huge'],
      [[33331, 3], 'normal'],
      [[3, 8, 67, 67], 'normal'],
      [[8, 3, 97, 29], 'offset'],
      [[2, 64, 23, 23], 'huge'],
      [[17, 1, 64, 65], 'offset'],
    ];
    const bound = { abs: 1e-6, rel: 1e-6 };

    for (const op of OP_LIST) {
      it(`${op.name}: the same on 1, 2 and 3 threads up to rounding, and the reference result`, function () {
        if (nativeSkipReason(op)) this.skip();
        const problems: string[] = [];
        let seed = 99;
        // Layouts and flags take turns over the shapes, so each is split across threads.
        const combos = layoutsOf(op).flatMap((layout) =>
          boolCombos(op).map((bools) => ({ layout, bools })),
        );
        let turn = 0;
        for (const [shape, kind] of BIG) {
          const s = opShapes(op, shape)[0];
          if (!s) continue;
          const { layout, bools } = combos[turn++ % combos.length];
          const v: Variant = { kind, given: new Set(optionalArrays(op)), bools, layout };
          const p = prepare(op, s, v, seed++);
          const runs: Outcome[] = onThreads(() => runOn(op, p, native));
          const want = runOn(op, p, reference);
          runs.forEach((r, i) => {
            const label = `${s.label} ${p.label}, ${i + 1} threads`;
            problems.push(...diffOutcomes(r, runs[0], bound).map((b) => `${label} vs 1: ${b}`));
            problems.push(...diffOutcomes(r, want, TOL).map((b) => `${label} vs reference: ${b}`));
          });
        }
        expect(problems.slice(0, 12), `${problems.length} problems`).to.deep.equal([]);
      });
    }

    it('sets and restores the thread count around the runs', () => {
      onThreads(() => normkit.getNumThreads());
      expect(normkit.getNumThreads()).to.equal(original);
      if (normkit.native?.multithreaded()) {
        expect(onThreads(() => normkit.getNumThreads())).to.deep.equal([1, 2, 3]);
      }
    });
  });
});
