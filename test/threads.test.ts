// setNumThreads / getNumThreads, and the environment read at load: NORMKIT_NUM_THREADS and
// NORMKIT_BACKEND (checked in child processes, since they act once per process).
import { expect } from 'chai';
import * as normkit from 'normkit';
import {
  childScript,
  expectClose,
  expectInvalid,
  loadRawAddon,
  parseReport,
  runNode,
} from './helpers/tensors';

interface ThreadsReport {
  backend: string;
  threads: number;
  hardware: number | null;
  y: number[];
}

const REPORT = [
  'const y = nk.layerNorm({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }, 2).data;',
  'result = { backend: nk.backend, threads: nk.getNumThreads(), hardware: nk.native ? nk.native.hardwareThreads() : null, y: Array.from(y) };',
].join('\n');

function child(env: Record<string, string | undefined>) {
  return parseReport<ThreadsReport>(runNode(['-e', childScript(REPORT)], env));
}

const addon = loadRawAddon();
const threaded = addon !== null && (addon.multithreaded() as boolean);
// (x - mean) / sqrt(var + 1e-5) on rows [1, 2] and [3, 4]: var 0.25.
const ROW = 0.5 / Math.sqrt(0.25 + 1e-5);

describe('threads', () => {
  let original = 1;
  before(() => {
    original = normkit.getNumThreads();
  });
  afterEach(() => {
    normkit.setNumThreads(original);
  });

  it('getNumThreads gives an integer of at least 1', () => {
    const n = normkit.getNumThreads();
    expect(Number.isInteger(n)).to.equal(true);
    expect(n).to.be.at.least(1);
  });

  it('setNumThreads sets what getNumThreads reports (native; 1 on the reference)', () => {
    normkit.setNumThreads(1);
    expect(normkit.getNumThreads()).to.equal(1);
    normkit.setNumThreads(3);
    const threaded = normkit.backend === 'native' && normkit.native!.multithreaded();
    expect(normkit.getNumThreads()).to.equal(threaded ? 3 : 1);
    const max = normkit.maxThreads();
    normkit.setNumThreads(max);
    expect(normkit.getNumThreads()).to.equal(threaded ? max : 1);
    expectInvalid(() => normkit.setNumThreads(max + 1), RangeError, 'threads');
  });

  it('native.multithreaded() is true, and the deprecated hasOpenMP() gives the same answer', function () {
    if (!normkit.native) this.skip();
    expect(normkit.native.multithreaded()).to.equal(true);
    expect(normkit.native.hasOpenMP()).to.equal(normkit.native.multithreaded());
    expect(Number.isInteger(normkit.native.poolThreads())).to.equal(true);
    expect(normkit.native.poolThreads()).to.be.at.most(4 * normkit.native.hardwareThreads() - 1);
  });

  it('setNumThreads rejects a non-positive, fractional or non-finite count with a RangeError', () => {
    normkit.setNumThreads(1);
    for (const n of [0, -1, 1.5, NaN, Infinity, -Infinity, 4097, 2 ** 40]) {
      expectInvalid(() => normkit.setNumThreads(n), RangeError, 'threads');
      expect(normkit.getNumThreads(), `after ${n}`).to.equal(1);
    }
  });

  it('setNumThreads rejects a non-number with a TypeError', () => {
    normkit.setNumThreads(1);
    for (const n of ['2', null, undefined, true, [2], 2n]) {
      expectInvalid(() => normkit.setNumThreads(n as unknown as number), TypeError, 'threads');
      expect(normkit.getNumThreads(), `after ${String(n)}`).to.equal(1);
    }
  });

  it('computes the same, up to rounding, on any thread count it accepts', () => {
    const x = {
      data: Float32Array.from({ length: 1 << 17 }, (_, i) => Math.sin(i)),
      shape: [256, 512],
    };
    normkit.setNumThreads(1);
    const one = normkit.layerNorm(x, 512).data;
    const bnOne = normkit.batchNorm({ data: x.data, shape: [64, 8, 256] }, { training: true }).data;
    normkit.setNumThreads(2);
    const two = normkit.layerNorm(x, 512).data;
    const bnTwo = normkit.batchNorm({ data: x.data, shape: [64, 8, 256] }, { training: true }).data;
    expectClose(two, one, { abs: 1e-6, rel: 1e-6 }, 'layerNorm');
    expectClose(bnTwo, bnOne, { abs: 1e-6, rel: 1e-6 }, 'batchNorm');
  });

  describe('environment (child processes)', () => {
    it('starts at the hardware thread count without NORMKIT_NUM_THREADS', function () {
      if (!addon) this.skip();
      const r = child({});
      expect(r.warnings).to.deep.equal([]);
      expect(r.result.backend).to.equal('native');
      expect(r.result.threads).to.equal(threaded ? r.result.hardware : 1);
      expect(r.result.threads).to.be.at.least(1);
    });

    it('NORMKIT_NUM_THREADS sets the start value', function () {
      if (!addon) this.skip();
      const one = child({ NORMKIT_NUM_THREADS: '1' });
      expect(one.result.threads).to.equal(1);
      expect(one.warnings).to.deep.equal([]);
      const three = child({ NORMKIT_NUM_THREADS: '3' });
      expect(three.result.threads).to.equal(threaded ? 3 : 1);
      expect(three.warnings).to.deep.equal([]);
      expect(three.result.y[0]).to.be.closeTo(-ROW, 1e-6);
    });

    it('OMP_NUM_THREADS sets the start value when NORMKIT_NUM_THREADS is not set (its first entry; ignored when out of range)', function () {
      if (!addon) this.skip();
      expect(child({ OMP_NUM_THREADS: '1' }).result.threads).to.equal(1);
      expect(child({ OMP_NUM_THREADS: '3,2' }).result.threads).to.equal(threaded ? 3 : 1);
      const both = child({ OMP_NUM_THREADS: '1', NORMKIT_NUM_THREADS: '3' });
      expect(both.result.threads).to.equal(threaded ? 3 : 1);
      for (const value of ['0', 'abc', '99999']) {
        const r = child({ OMP_NUM_THREADS: value });
        expect(r.result.threads, value).to.equal(threaded ? r.result.hardware : 1);
        expect(r.warnings, value).to.deep.equal([]);
      }
    });

    for (const value of ['abc', '0', '-2', '2.5', '5000']) {
      it(`an invalid NORMKIT_NUM_THREADS=${value} gives one warning, not a crash, and keeps the default`, () => {
        const r = runNode(['-e', childScript(REPORT)], { NORMKIT_NUM_THREADS: value });
        const report = parseReport<ThreadsReport>(r);
        expect(report.warnings).to.have.length(1);
        expect(report.warnings[0].message).to.contain('NORMKIT_NUM_THREADS');
        expect(report.warnings[0].message).to.contain(value);
        expect(r.stderr).to.contain('NORMKIT_NUM_THREADS');
        const fallback =
          report.result.backend === 'native' && threaded ? report.result.hardware : 1;
        expect(report.result.threads).to.equal(fallback);
        expect(report.result.y).to.have.length(4);
        expect(report.result.y[3]).to.be.closeTo(ROW, 1e-6);
      });
    }

    it('NORMKIT_BACKEND=js gives the reference backend, with no warning', () => {
      const r = runNode(['-e', childScript(REPORT)], {
        NORMKIT_BACKEND: 'js',
        NORMKIT_NUM_THREADS: '2',
      });
      const report = parseReport<ThreadsReport>(r);
      expect(report.result.backend).to.equal('js');
      expect(report.result.hardware).to.equal(null);
      expect(report.result.threads).to.equal(1);
      expect(report.warnings).to.deep.equal([]);
      expect(r.stderr).to.not.contain('Warning');
      expect(report.result.y[0]).to.be.closeTo(-ROW, 1e-6);
      expect(report.result.y[1]).to.be.closeTo(ROW, 1e-6);
    });
  });
});
