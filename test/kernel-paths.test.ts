// Every op's native kernel on every path against the reference: every SIMD tier the CPU runs
// (NORMKIT_SIMD=avx512|avx2|baseline, or neon) and three store policies (NORMKIT_STREAMING:
// streaming stores, cached stores, cached stores whose lines are prefetched for writing), on 1
// and 2 threads, each in a child process because all three are read once when the addon loads.
// The ops come from the descriptors; the shapes cover unaligned heads and masked tails (odd
// widths, outputs as views at odd offsets), channel periods of 16 to 64 values and beyond, threads
// splitting mid-plane, and empty tensors. Each child reports the tier that ran, which must be the
// one NORMKIT_SIMD names. Then the choice itself: the default is the CPU's best, `generic` (the
// old name of the portable path) the best without AVX-512, and a tier this build or CPU lacks
// warns once and runs the best.
import * as path from 'path';
import { expect } from 'chai';
import { addonStatus, OP_LIST } from './helpers/ops';
import { childScript, parseReport, runNode } from './helpers/tensors';
import { cpuTiers, genericTier, TIER_NAMES } from './helpers/tiers';

const SHAPES = [
  [5, 1],
  [3, 17],
  [7, 100],
  [4, 129],
  [9, 768],
  [4, 3, 5],
  [3, 16, 7],
  [2, 64, 11],
  [6, 13, 1],
  [9, 5, 130],
  [2, 4, 3, 5, 3],
  // Over 2 x 32768 values: split over 2 threads (smaller calls run on one).
  [69, 1031],
  [17, 1, 64, 65],
  [0, 3, 5],
  [2, 0, 3],
];

interface Report {
  worst: Record<string, number>;
  problems: string[];
  calls: number;
  simd: string;
  threads: number[];
  multithreaded: boolean;
}

describe('kernel paths (child processes)', function () {
  this.timeout(60000);
  const { addon } = addonStatus();
  // Ops whose kernel the built addon has (all of them once it is rebuilt from the descriptors).
  const ops = addon ? OP_LIST.filter((op) => addon[op.kernel]).map((op) => op.name) : [];

  before(function () {
    if (!addon) this.skip();
  });

  it('runs every op (the addon has every kernel of the descriptors)', function () {
    const lacking = OP_LIST.filter((op) => !ops.includes(op.name)).map((op) => op.kernel);
    if (lacking.length) this.skip(); // a stale build: the ops it has still run below
    expect(ops).to.have.length(OP_LIST.length);
  });

  const script = (names: string[]) => {
    const helpers = path.join(__dirname, 'helpers');
    return childScript(
      [
        `const { sweep, KINDS } = require(${JSON.stringify(path.join(helpers, 'op-cases.js'))});`,
        `const { OPS } = require(${JSON.stringify(path.join(helpers, 'ops.js'))});`,
        `const ops = ${JSON.stringify(names)}.map((n) => OPS[n]);`,
        'const threads = [];',
        'const setThreads = (n) => { nk.setNumThreads(n); threads.push(nk.getNumThreads()); };',
        `const r = sweep(ops, nk, nk.reference, ${JSON.stringify(SHAPES)}, ['normal', 'offset', 'extreme', 'denormal'], [1, 2], setThreads);`,
        'result = { ...r, simd: nk.native.simdPath(), threads: [...new Set(threads)], multithreaded: nk.native.multithreaded() };',
      ].join('\n'),
    );
  };

  // Every tier the CPU runs (the default alone where the tests cannot tell the CPU's tiers).
  const tiers = cpuTiers();
  for (const simd of tiers ?? ['']) {
    for (const streaming of ['always', 'never', 'prefetch']) {
      it(`matches the reference with NORMKIT_SIMD=${simd || '(default)'} NORMKIT_STREAMING=${streaming}, 1 and 2 threads`, () => {
        // One child per tier and store policy (both are read once, at the first call); the
        // thread count changes between calls, against one reference run per case.
        const env = { NORMKIT_SIMD: simd || undefined, NORMKIT_STREAMING: streaming };
        const r = runNode(['-e', script(ops)], { ...env, NORMKIT_NUM_THREADS: '1' });
        const report = parseReport<Report>(r).result;
        if (simd) expect(report.simd, 'tier').to.equal(simd);
        expect(TIER_NAMES).to.include(report.simd);
        expect(r.stderr, 'no warning for a tier the CPU runs').to.not.match(/NORMKIT_SIMD/);
        expect(report.threads).to.deep.equal(report.multithreaded ? [1, 2] : [1]);
        expect(Object.keys(report.worst).sort()).to.deep.equal([...ops].sort());
        expect(report.calls).to.be.greaterThan(ops.length * 20);
        expect(report.problems).to.deep.equal([]);
        // worst is |got - expected| in units of the 1e-5 + 1e-5 * |expected| tolerance.
        for (const [name, worst] of Object.entries(report.worst)) {
          expect(worst, name).to.be.at.most(1);
        }
      });
    }
  }
});

describe('SIMD tier choice (child processes)', function () {
  this.timeout(60000);
  const tiers = cpuTiers();

  before(function () {
    if (!addonStatus().addon) this.skip();
  });

  /** The tier that runs under NORMKIT_SIMD=`simd` after a few calls, and the child's stderr. */
  const run = (simd: string | undefined) => {
    const body = [
      'const x = new Float32Array(64).map((_, i) => i);',
      'for (let k = 0; k < 3; k++) nk.layerNorm({ data: x, shape: [4, 16] }, [16]);',
      'result = nk.native.simdPath();',
    ].join('\n');
    const r = runNode(['-e', childScript(body)], { NORMKIT_SIMD: simd });
    return { tier: parseReport<string>(r).result, stderr: r.stderr };
  };

  it('runs the best tier of the CPU by default (unset, empty or auto), silently', () => {
    for (const simd of [undefined, '', 'auto']) {
      const { tier, stderr } = run(simd);
      if (tiers) expect(tier, String(simd)).to.equal(tiers[0]);
      expect(TIER_NAMES).to.include(tier);
      expect(stderr).to.equal('');
    }
  });

  it('keeps NORMKIT_SIMD=generic, the old name of the portable path: the best tier without AVX-512', () => {
    const { tier, stderr } = run('generic');
    if (tiers) expect(tier).to.equal(genericTier(tiers));
    expect(tier).to.not.equal('avx512');
    expect(stderr).to.equal('');
  });

  it('warns once and runs the best tier for an unknown name', () => {
    const { tier, stderr } = run('avx1024');
    if (tiers) expect(tier).to.equal(tiers[0]);
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).to.have.length(1);
    expect(lines[0]).to.match(
      /^normkit: NORMKIT_SIMD=avx1024 is not a tier of this build .*; using \w+$/,
    );
  });

  it('warns once and runs the best tier for a tier this CPU or build lacks', function () {
    // NEON on x86-64, the x86 tiers on AArch64, or AVX-512 on a CPU without it.
    const lacking = TIER_NAMES.filter((t) => tiers && !tiers.includes(t));
    if (!tiers || lacking.length === 0) this.skip();
    for (const simd of lacking) {
      const { tier, stderr } = run(simd);
      expect(tier).to.equal(tiers![0]);
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(`^normkit: NORMKIT_SIMD=${simd}\\b.*; using ${tiers![0]}$`),
      );
    }
  });
});
