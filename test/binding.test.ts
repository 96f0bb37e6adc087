// The raw addon called directly, past the TypeScript checks: the binding layer must re-check
// every length and type it relies on and throw, never read or write out of bounds.
import { expect } from 'chai';
import * as path from 'path';
import * as normkit from 'normkit';
import { expectSameValues, loadRawAddon, REPO_ROOT } from './helpers/tensors';

type Fn = (...args: unknown[]) => unknown;

describe('binding layer (raw addon)', function () {
  let addon: Record<string, Fn>;

  before(function () {
    const loaded = loadRawAddon();
    if (!loaded) {
      // Only acceptable where the package itself runs without the addon.
      expect(normkit.backend, 'the addon does not load but the package says native').to.equal('js');
      this.skip();
    }
    addon = loaded!;
  });

  it('is the same module as build/Release/normkit.node', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const direct = require(path.join(REPO_ROOT, 'build', 'Release', 'normkit.node')) as Record<
      string,
      Fn
    >;
    expect(direct.layerNormForward).to.equal(addon.layerNormForward);
    expect(Object.keys(addon).sort()).to.include.members([
      'batchNormForward',
      'getNumThreads',
      'layerNormForward',
      'setNumThreads',
    ]);
  });

  /** Calls `fn`, which must throw `kind`; then checks that the out buffer was not written. */
  function expectThrow(
    fn: () => unknown,
    kind: typeof TypeError | typeof RangeError,
    message: RegExp,
    untouched: Float32Array[] = [],
  ): void {
    const before = untouched.map((a) => a.slice());
    expect(fn).to.throw(kind, message);
    untouched.forEach((a, i) =>
      expectSameValues(a, before[i], 'buffer written by a rejected call'),
    );
  }

  describe('layerNormForward(input, rows, cols, weight, bias, eps, out)', () => {
    const input = () => Float32Array.from([1, 2, 3, 4, 5, 6]);
    const sentinel = (n = 6) => new Float32Array(n).fill(42);

    it('computes when called correctly', () => {
      const out = sentinel();
      addon.layerNormForward(input(), 2, 3, null, null, 1e-5, out);
      const v = 1 / Math.sqrt(2 / 3 + 1e-5);
      [-v, 0, v, -v, 0, v].forEach((want, i) => expect(out[i]).to.be.closeTo(want, 1e-6));
    });

    it('rejects a short input, weight, bias or out with a RangeError', () => {
      const out = sentinel();
      expectThrow(
        () => addon.layerNormForward(input().subarray(0, 5), 2, 3, null, null, 1e-5, out),
        RangeError,
        /input/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, new Float32Array(2), null, 1e-5, out),
        RangeError,
        /weight/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, null, new Float32Array(4), 1e-5, out),
        RangeError,
        /bias/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, null, null, 1e-5, new Float32Array(5)),
        RangeError,
        /out/,
      );
      // Rows and cols that promise more than the arrays hold.
      expectThrow(
        () => addon.layerNormForward(input(), 3, 3, null, null, 1e-5, out),
        RangeError,
        /input/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 1, 1e6, null, null, 1e-5, out),
        RangeError,
        /input/,
        [out],
      );
    });

    it('rejects arrays of the wrong type with a TypeError', () => {
      const out = sentinel();
      expectThrow(
        () => addon.layerNormForward(new Float64Array(6), 2, 3, null, null, 1e-5, out),
        TypeError,
        /input/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward([1, 2, 3, 4, 5, 6], 2, 3, null, null, 1e-5, out),
        TypeError,
        /input/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, new Uint8Array(3), null, 1e-5, out),
        TypeError,
        /weight/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, null, 'bias', 1e-5, out),
        TypeError,
        /bias/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, null, null, 1e-5, new Float64Array(6)),
        TypeError,
        /out/,
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, null, null, 1e-5, new ArrayBuffer(24)),
        TypeError,
        /out/,
      );
    });

    it('rejects missing arguments and bad sizes', () => {
      const out = sentinel();
      expectThrow(() => addon.layerNormForward(), TypeError, /rows/);
      expectThrow(() => addon.layerNormForward(input()), TypeError, /rows/);
      expectThrow(() => addon.layerNormForward(input(), 2, 3), TypeError, /eps/);
      expectThrow(() => addon.layerNormForward(input(), 2, 3, null, null, 1e-5), TypeError, /out/);
      expectThrow(
        () => addon.layerNormForward(input(), '2', 3, null, null, 1e-5, out),
        TypeError,
        /rows/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3, null, null, '1e-5', out),
        TypeError,
        /eps/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), -2, -3, null, null, 1e-5, out),
        RangeError,
        /rows/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2, 3.5, null, null, 1e-5, out),
        RangeError,
        /cols/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), NaN, 3, null, null, 1e-5, out),
        RangeError,
        /rows/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), Infinity, 3, null, null, 1e-5, out),
        RangeError,
        /rows/,
        [out],
      );
    });

    it('rejects rows * cols that overflow 64 bits instead of wrapping around', () => {
      const out = sentinel();
      const big = 2 ** 53;
      expectThrow(
        () => addon.layerNormForward(input(), big, big, null, null, 1e-5, out),
        RangeError,
        /overflow/,
        [out],
      );
      expectThrow(
        () => addon.layerNormForward(input(), 2 ** 32, 2 ** 32, null, null, 1e-5, out),
        RangeError,
        /overflow/,
        [out],
      );
      // 2^63 is one past int64's maximum.
      expectThrow(
        () => addon.layerNormForward(input(), 2 ** 31, 2 ** 32, null, null, 1e-5, out),
        RangeError,
        /overflow/,
        [out],
      );
      // A product that fits but does not match the arrays.
      expectThrow(
        () => addon.layerNormForward(input(), 2 ** 30, 2 ** 30, null, null, 1e-5, out),
        RangeError,
        /input/,
        [out],
      );
    });

    it('rejects an out that partly overlaps the input or a parameter', () => {
      const buffer = Float32Array.from({ length: 9 }, (_, i) => i);
      const snapshot = buffer.slice();
      expect(() =>
        addon.layerNormForward(
          buffer.subarray(0, 6),
          2,
          3,
          null,
          null,
          1e-5,
          buffer.subarray(3, 9),
        ),
      ).to.throw(RangeError, /out/);
      expect(() =>
        addon.layerNormForward(
          input(),
          2,
          3,
          buffer.subarray(0, 3),
          null,
          1e-5,
          buffer.subarray(2, 8),
        ),
      ).to.throw(RangeError, /out/);
      expectSameValues(buffer, snapshot);
    });
  });

  describe('batchNormForward(input, batch, channels, spatial, channelsLast, weight, bias, runningMean, runningVar, training, momentum, eps, out)', () => {
    const input = () => Float32Array.from({ length: 12 }, (_, i) => Math.cos(i));
    const sentinel = (n = 12) => new Float32Array(n).fill(42);
    // (N=2, C=3, spatial=2), training, every optional array given.
    function args(change: Record<number, unknown> = {}): unknown[] {
      const a: unknown[] = [
        input(),
        2,
        3,
        2,
        false,
        new Float32Array(3).fill(1),
        new Float32Array(3),
        new Float32Array(3),
        new Float32Array(3).fill(1),
        true,
        0.1,
        1e-5,
        sentinel(),
      ];
      for (const [i, v] of Object.entries(change)) a[Number(i)] = v;
      return a;
    }

    it('computes when called correctly', () => {
      const a = args();
      addon.batchNormForward(...a);
      const out = a[12] as Float32Array;
      expect(out.every((v) => Number.isFinite(v) && v !== 42)).to.equal(true);
      expect((a[7] as Float32Array).some((v) => v !== 0)).to.equal(true);
    });

    it('rejects short arrays with a RangeError and writes nothing', () => {
      for (const [index, name, length] of [
        [0, 'input', 11],
        [5, 'weight', 2],
        [6, 'bias', 4],
        [7, 'runningMean', 2],
        [8, 'runningVar', 1],
        [12, 'out', 11],
      ] as Array<[number, string, number]>) {
        const a = args({ [index]: new Float32Array(length) });
        expectThrow(() => addon.batchNormForward(...a), RangeError, new RegExp(name), [
          a[7],
          a[8],
          a[12],
        ] as Float32Array[]);
      }
      // Sizes that promise more than the arrays hold.
      const a = args({ 1: 4 });
      expectThrow(() => addon.batchNormForward(...a), RangeError, /input/, [
        a[7] as Float32Array,
        a[12] as Float32Array,
      ]);
    });

    it('rejects wrong types and missing arguments with a TypeError', () => {
      expectThrow(
        () => addon.batchNormForward(...args({ 0: new Float64Array(12) })),
        TypeError,
        /input/,
      );
      expectThrow(() => addon.batchNormForward(...args({ 5: [1, 1, 1] })), TypeError, /weight/);
      expectThrow(
        () => addon.batchNormForward(...args({ 7: new Int32Array(3) })),
        TypeError,
        /runningMean/,
      );
      expectThrow(
        () => addon.batchNormForward(...args({ 12: new Float64Array(12) })),
        TypeError,
        /out/,
      );
      expectThrow(() => addon.batchNormForward(...args({ 4: 0 })), TypeError, /channelsLast/);
      expectThrow(() => addon.batchNormForward(...args({ 9: 'yes' })), TypeError, /training/);
      expectThrow(() => addon.batchNormForward(...args({ 10: null })), TypeError, /momentum/);
      expectThrow(() => addon.batchNormForward(), TypeError, /batch/);
      expectThrow(() => addon.batchNormForward(input(), 2, 3, 2, false), TypeError, /training/);
      expectThrow(() => addon.batchNormForward(...args().slice(0, 12)), TypeError, /out/);
    });

    it('rejects batch * channels * spatial overflowing 64 bits', () => {
      const a = args({ 1: 2 ** 53, 2: 2 ** 53, 3: 1 });
      expectThrow(() => addon.batchNormForward(...a), RangeError, /overflow/);
      const b = args({ 1: 2 ** 40, 2: 1, 3: 2 ** 40 });
      expectThrow(() => addon.batchNormForward(...b), RangeError, /overflow/);
      expectThrow(() => addon.batchNormForward(...args({ 2: -3 })), RangeError, /channels/);
    });

    it('rejects one value per channel in training and eval without running stats', () => {
      const one = args({ 0: new Float32Array(3), 1: 1, 3: 1, 12: sentinel(3) });
      expectThrow(() => addon.batchNormForward(...one), RangeError, /more than 1 value/, [
        one[7] as Float32Array,
        one[8] as Float32Array,
        one[12] as Float32Array,
      ]);
      const noStats = args({ 7: null, 8: null, 9: false });
      expectThrow(() => addon.batchNormForward(...noStats), RangeError, /runningMean/, [
        noStats[12] as Float32Array,
      ]);
      const halfStats = args({ 8: undefined, 9: false });
      expectThrow(() => addon.batchNormForward(...halfStats), RangeError, /runningMean/, [
        halfStats[12] as Float32Array,
      ]);
    });

    it('rejects an out overlapping the input or a running statistic', () => {
      const buffer = new Float32Array(15).fill(1);
      expect(() =>
        addon.batchNormForward(...args({ 0: buffer.subarray(0, 12), 12: buffer.subarray(3, 15) })),
      ).to.throw(RangeError, /out/);
      const stats = new Float32Array(14);
      expect(() =>
        addon.batchNormForward(...args({ 7: stats.subarray(0, 3), 12: stats.subarray(2, 14) })),
      ).to.throw(RangeError, /out/);
      expectSameValues(stats, new Array(14).fill(0));
    });
  });

  describe('runtime functions', () => {
    let original = 1;
    before(() => {
      original = addon.getNumThreads() as number;
    });
    after(() => {
      addon.setNumThreads(original);
    });

    it('setNumThreads rejects bad counts', () => {
      expect(() => addon.setNumThreads(0)).to.throw(RangeError);
      expect(() => addon.setNumThreads(5000)).to.throw(RangeError);
      expect(() => addon.setNumThreads(-1)).to.throw(RangeError);
      expect(() => addon.setNumThreads('2')).to.throw(TypeError);
      expect(() => addon.setNumThreads()).to.throw(TypeError);
      expect(addon.getNumThreads()).to.equal(original);
    });

    it('copyBaseline rejects a short y', () => {
      const y = new Float32Array(3).fill(7);
      expect(() => addon.copyBaseline(new Float32Array(4), y, 1, 0)).to.throw(RangeError, /y/);
      expect(() => addon.copyBaseline(new Float64Array(4), new Float32Array(4), 1, 0)).to.throw(
        TypeError,
        /x/,
      );
      expectSameValues(y, [7, 7, 7]);
      const ok = new Float32Array(4);
      addon.copyBaseline(Float32Array.from([1, 2, 3, 4]), ok, 2, 1);
      expectSameValues(ok, [3, 5, 7, 9]);
    });

    it('still works after all the rejected calls', () => {
      const x = { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] };
      const got = normkit.layerNorm(x, 2).data;
      const want = normkit.reference.layerNorm(x, 2).data;
      got.forEach((v, i) => expect(v).to.be.closeTo(want[i], 1e-6));
    });
  });
});
