// Every op's native kernel on every path against the reference: the AVX-512 and portable tiers
// (NORMKIT_SIMD) and both store policies (NORMKIT_STREAMING), on 1 and 2 threads, each in a child
// process because all three are read once when the addon loads. The ops come from the
// descriptors; the shapes cover unaligned heads and masked tails (odd widths, outputs as views at
// odd offsets), channel periods of 16 to 64 values and beyond, threads splitting mid-plane, and
// empty tensors. Each child reports the tier that ran, which must be the one the CPU and
// NORMKIT_SIMD call for.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { addonStatus, OP_LIST } from './helpers/ops';
import { childScript, parseReport, runNode } from './helpers/tensors';

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

/** The tier `simdPath()` must report here: what the CPU offers, less AVX-512 when generic. */
function expectedTier(generic: boolean): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  const flags = new Set(
    (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '')
      .trim()
      .split(/\s+/),
  );
  const avx512 = ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f));
  if (avx512 && !generic) return 'avx512';
  return flags.has('avx2') ? 'avx2' : 'baseline';
}

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

  for (const simd of ['', 'generic']) {
    for (const streaming of ['always', 'never']) {
      it(`matches the reference with NORMKIT_SIMD=${simd || '(default)'} NORMKIT_STREAMING=${streaming}, 1 and 2 threads`, () => {
        // One child per tier and store policy (both are read once, at the first call); the
        // thread count changes between calls, against one reference run per case.
        const env = { NORMKIT_SIMD: simd || undefined, NORMKIT_STREAMING: streaming };
        const r = runNode(['-e', script(ops)], { ...env, NORMKIT_NUM_THREADS: '1' });
        const report = parseReport<Report>(r).result;
        const tier = expectedTier(simd === 'generic');
        if (tier) expect(report.simd, 'tier').to.equal(tier);
        if (simd === 'generic') expect(report.simd).to.not.equal('avx512');
        expect(['avx512', 'avx2', 'baseline']).to.include(report.simd);
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
