// Edge numerics: data whose float32 form overflows or underflows in the apply step (values near
// the float32 maximum, denormals with eps 0, a zero variance with eps 0). Where the float64
// formula gives a finite value, both backends give it; where it gives an infinity or NaN, both
// give that. The native kernels take an exact (double) path for such statistics
// (native/kernels/apply.h, needs_exact); the sweeps in native-vs-reference and kernel-paths run
// the same kinds of data (extreme, denormal) through every op, layout and tier.
import { expect } from 'chai';
import * as normkit from 'normkit';
import type { Tensor } from 'normkit';

const MAX = 3.4028234663852886e38;
const T = 2 ** -149; // the least denormal

type Backend = Pick<
  typeof normkit,
  'layerNorm' | 'rmsNorm' | 'batchNorm' | 'groupNorm' | 'instanceNorm' | 'addLayerNorm'
>;

const backends: Array<[string, () => Backend | null]> = [
  ['native', () => (normkit.backend === 'native' ? normkit : null)],
  ['reference', () => normkit.reference],
];

const t = (values: number[], shape: number[]): Tensor => ({
  data: Float32Array.from(values),
  shape,
});

/** Float32 values of exact targets, compared within 1e-5 absolute + 1e-5 relative. */
function expectValues(got: Float32Array, want: number[]): void {
  expect(got.length).to.equal(want.length);
  want.forEach((w, i) => {
    const g = got[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      expect(
        Object.is(g, Math.fround(w)) || (Number.isNaN(w) && Number.isNaN(g)),
        `[${i}]`,
      ).to.equal(true, `[${i}]: ${g} where ${w} was expected`);
    } else {
      expect(Math.abs(g - w), `[${i}]: ${g} where ${w} was expected`).to.be.at.most(
        1e-5 + 1e-5 * Math.abs(w),
      );
    }
  });
}

const S3 = Math.sqrt(3);
const A = 3 / Math.sqrt(5); // [0, 1, 2, 3] normalized: -A, -A / 3, A / 3, A

for (const [name, get] of backends) {
  describe(`edge numerics (${name})`, () => {
    let nk: Backend;
    before(function () {
      const b = get();
      if (!b) this.skip();
      nk = b!;
    });

    it('layerNorm of [3e38, 3e38, -3e38, 3e38]: -1.732 where x - mean overflows float32', () => {
      const y = nk.layerNorm(t([3e38, 3e38, -3e38, 3e38], [1, 4]), [4]);
      expectValues(y.data, [1 / S3, 1 / S3, -S3, 1 / S3]);
    });

    it('layerNorm at the float32 maximum, either sign, in place and with weights', () => {
      const x = t([MAX, -MAX, MAX, -MAX, MAX, MAX, -MAX, -MAX], [2, 4]);
      const y = nk.layerNorm(x, [4], {
        weight: Float32Array.from([1, 2, 0.5, 1]),
        bias: Float32Array.from([0, 1, 0, -1]),
        out: x.data,
      });
      expect(y.data).to.equal(x.data);
      expectValues(y.data, [1, -1, 0.5, -2, 1, 3, -0.5, -2]);
    });

    it('layerNorm of denormals [0, t, 2t, 3t] with eps 0: the normalized values, not +-Inf/NaN', () => {
      const y = nk.layerNorm(t([0, T, 2 * T, 3 * T], [1, 4]), [4], { eps: 0 });
      expectValues(y.data, [-A, -A / 3, A / 3, A]);
    });

    it('rmsNorm of denormals with eps 0 and of values near the maximum', () => {
      const d = nk.rmsNorm(t([0, T, 2 * T, 3 * T], [1, 4]), [4], { eps: 0 });
      const rms = Math.sqrt((1 + 4 + 9) / 4);
      expectValues(d.data, [0, 1 / rms, 2 / rms, 3 / rms]);
      const h = nk.rmsNorm(t([MAX, -MAX, MAX, -MAX], [1, 4]), [4]);
      expectValues(h.data, [1, -1, 1, -1]);
    });

    it('addLayerNorm whose sum is near the maximum', () => {
      const r = nk.addLayerNorm(
        t([3e38, 3e38, -3e38, 2e38], [1, 4]),
        t([0, 0, 0, 1e38], [1, 4]),
        [4],
      );
      expectValues(r.output.data, [1 / S3, 1 / S3, -S3, 1 / S3]);
      expectValues(r.sum.data, [3e38, 3e38, -3e38, 3e38].map(Math.fround));
    });

    it('batchNorm eval with runningVar 0 and eps 0: +-Infinity, NaN at the mean (PyTorch formula)', () => {
      const y = nk.batchNorm(t([1, -1, 0, 2], [4, 1]), {
        training: false,
        runningMean: Float32Array.from([0]),
        runningVar: Float32Array.from([0]),
        eps: 0,
      });
      expectValues(y.data, [Infinity, -Infinity, NaN, Infinity]);
      const cf = nk.batchNorm(t([1, -1, 0, 2], [1, 2, 2]), {
        training: false,
        runningMean: Float32Array.from([0, 0]),
        runningVar: Float32Array.from([0, 1]),
        eps: 0,
        weight: Float32Array.from([2, 2]),
        bias: Float32Array.from([1, 1]),
      });
      expectValues(cf.data, [Infinity, -Infinity, 1, 5]);
    });

    it('batchNorm eval with a running mean near the maximum and data of the other sign', () => {
      const y = nk.batchNorm(t([-3e38, 3e38], [2, 1]), {
        training: false,
        runningMean: Float32Array.from([3e38]),
        runningVar: Float32Array.from([1e38]),
        eps: 0,
      });
      const x0 = Math.fround(-3e38) - Math.fround(3e38); // -6e38: past float32, not double
      expectValues(y.data, [x0 / Math.sqrt(Math.fround(1e38)), 0]);
    });

    for (const layout of ['channels_first', 'channels_last'] as const) {
      it(`batchNorm, groupNorm and instanceNorm training on values near the maximum (${layout})`, () => {
        const cl = layout === 'channels_last';
        // Two channels of four values: [3e38, 3e38, -3e38, 3e38] and [0, 1, 2, 3].
        const c0 = [3e38, 3e38, -3e38, 3e38];
        const c1 = [0, 1, 2, 3];
        const data = cl ? c0.flatMap((v, i) => [v, c1[i]]) : [...c0, ...c1];
        const shape = [1, 2, 4]; // (N, C, L) in either layout
        const want0 = [1 / S3, 1 / S3, -S3, 1 / S3];
        const want1 = [-A, -A / 3, A / 3, A];
        const want = cl ? want0.flatMap((v, i) => [v, want1[i]]) : [...want0, ...want1];
        const bn = nk.batchNorm(t(data, cl ? [4, 2] : [1, 2, 4]), { training: true });
        expectValues(bn.data, want);
        const inorm = nk.instanceNorm(t(data, shape), { layout });
        expectValues(inorm.data, want);
        const gn = nk.groupNorm(t(data, shape), 2, { layout });
        expectValues(gn.data, want);
      });
    }

    it('batchNorm training on denormals with eps 0', () => {
      const y = nk.batchNorm(t([0, T, 2 * T, 3 * T], [4, 1]), { training: true, eps: 0 });
      expectValues(y.data, [-A, -A / 3, A / 3, A]);
    });

    it('a constant row with eps 0: NaN, as the formula (0 / 0)', () => {
      const y = nk.layerNorm(t([5, 5, 5, 5], [1, 4]), [4], { eps: 0 });
      expectValues(y.data, [NaN, NaN, NaN, NaN]);
    });
  });
}
