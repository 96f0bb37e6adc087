// AVX-512 moments over channels-last columns (the tier's version of PortableColumns in
// kernels/columns.h).
#pragma once

#include "kernels/avx512/common.h"
#include "kernels/tiling.h"

#if NORMKIT_HAVE_AVX512

namespace normkit::avx512 {

// Column sums of rows [begin, end) of `c` channels into s1[c], s2[c]. Cache tiling: a block of
// rows (kColumnBlockBytes, L1) is swept once per 32-channel tile whose sums live in registers,
// so each value costs a load, a widen and two adds; the sums touch memory once per block.
NORMKIT_AVX512_INLINE void column_sums(const float* x, int64_t begin, int64_t end, int64_t c,
                                       const float* shift, double* s1, double* s2) {
  const int64_t block_rows = c * 4 >= kColumnBlockBytes ? 1 : kColumnBlockBytes / (c * 4);
  for (int64_t r0 = begin; r0 < end; r0 += block_rows) {
    const int64_t r1 = r0 + block_rows < end ? r0 + block_rows : end;
    for (int64_t c0 = 0; c0 < c; c0 += 32) {
      const int64_t left = c - c0;
      const __mmask16 m0 = left >= 16 ? 0xFFFF : first_lanes(left);
      const __mmask16 m1 = left >= 32 ? 0xFFFF : left > 16 ? first_lanes(left - 16) : 0;
      const __mmask8 k[4] = {static_cast<__mmask8>(m0), static_cast<__mmask8>(m0 >> 8),
                             static_cast<__mmask8>(m1), static_cast<__mmask8>(m1 >> 8)};
      __m512d sh[4], a[4], q[4];
      for (int j = 0; j < 4; ++j) {
        sh[j] = cvt_pd(_mm256_maskz_loadu_ps(k[j], shift + c0 + 8 * j));
        a[j] = _mm512_maskz_loadu_pd(k[j], s1 + c0 + 8 * j);
        q[j] = _mm512_maskz_loadu_pd(k[j], s2 + c0 + 8 * j);
      }
      for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * c + c0;
        __m512d d[4];
        widen_shifted(_mm512_maskz_loadu_ps(m0, xr), sh[0], sh[1], m0, d[0], d[1]);
        if (m1)
          widen_shifted(_mm512_maskz_loadu_ps(m1, xr + 16), sh[2], sh[3], m1, d[2], d[3]);
        else
          d[2] = d[3] = _mm512_setzero_pd();
        for (int j = 0; j < 4; ++j) {
          a[j] = _mm512_add_pd(a[j], d[j]);
          q[j] = _mm512_fmadd_pd(d[j], d[j], q[j]);
        }
      }
      for (int j = 0; j < 4; ++j) {
        _mm512_mask_storeu_pd(s1 + c0 + 8 * j, k[j], a[j]);
        _mm512_mask_storeu_pd(s2 + c0 + 8 * j, k[j], q[j]);
      }
    }
  }
}

NORMKIT_AVX512_INLINE void add_widened(double* dst, __mmask16 m, __m512 v) {
  const __mmask8 lo = static_cast<__mmask8>(m), hi = static_cast<__mmask8>(m >> 8);
  _mm512_mask_storeu_pd(
      dst, lo, _mm512_add_pd(_mm512_maskz_loadu_pd(lo, dst), cvt_pd(_mm512_castps512_ps256(v))));
  _mm512_mask_storeu_pd(
      dst + 8, hi,
      _mm512_add_pd(_mm512_maskz_loadu_pd(hi, dst + 8), cvt_pd(_mm512_extractf32x8_ps(v, 1))));
}

// column_sums with the float partials of run_sums_fast: groups of kFloatBlockRows rows are
// summed in float per 64-channel tile (4 vectors, so a row of up to 64 channels is one
// sequential read), then widened into the double sums. Check with trust_fast_sums.
NORMKIT_AVX512_INLINE void column_sums_fast(const float* x, int64_t begin, int64_t end, int64_t c,
                                            const float* shift, double* s1, double* s2) {
  for (int64_t r0 = begin; r0 < end; r0 += kFloatBlockRows) {
    const int64_t r1 = r0 + kFloatBlockRows < end ? r0 + kFloatBlockRows : end;
    for (int64_t c0 = 0; c0 < c; c0 += 64) {
      __mmask16 m[4];
      __m512 sh[4], fa[4], fq[4];
      for (int j = 0; j < 4; ++j) {
        const int64_t left = c - c0 - 16 * j;
        m[j] = left >= 16 ? 0xFFFF : left > 0 ? first_lanes(left) : 0;
        sh[j] = _mm512_maskz_loadu_ps(m[j], shift + c0 + 16 * j);
        fa[j] = fq[j] = _mm512_setzero_ps();
      }
      for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * c + c0;
        for (int j = 0; j < 4; ++j) {
          const __m512 d =
              _mm512_maskz_sub_ps(m[j], _mm512_maskz_loadu_ps(m[j], xr + 16 * j), sh[j]);
          fa[j] = _mm512_add_ps(fa[j], d);
          fq[j] = _mm512_fmadd_ps(d, d, fq[j]);
        }
      }
      for (int j = 0; j < 4 && m[j]; ++j) {
        add_widened(s1 + c0 + 16 * j, m[j], fa[j]);
        add_widened(s2 + c0 + 16 * j, m[j], fq[j]);
      }
    }
  }
}

}  // namespace normkit::avx512

namespace normkit {

struct Avx512Columns {
  NORMKIT_TARGET_AVX512 static void column_sums(const float* x, int64_t begin, int64_t end,
                                                int64_t c, const float* shift, double* s1,
                                                double* s2) {
    avx512::column_sums(x, begin, end, c, shift, s1, s2);
  }
  NORMKIT_TARGET_AVX512 static void column_sums_fast(const float* x, int64_t begin, int64_t end,
                                                     int64_t c, const float* shift, double* s1,
                                                     double* s2) {
    avx512::column_sums_fast(x, begin, end, c, shift, s1, s2);
  }
};

}  // namespace normkit

#endif  // NORMKIT_HAVE_AVX512
