// AVX-512 moments over channels-last columns (the tier's version of PortableColumns in
// kernels/columns.h).
#pragma once

#include <algorithm>

#include "kernels/avx512.h"
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

// Adds the 16 float lanes of v, widened, into the 2 x 8 double accumulators lo and hi.
NORMKIT_AVX512_INLINE void add_widened(__m512d& lo, __m512d& hi, __m512 v) {
  lo = _mm512_add_pd(lo, cvt_pd(_mm512_castps512_ps256(v)));
  hi = _mm512_add_pd(hi, cvt_pd(_mm512_extractf32x8_ps(v, 1)));
}

// The fast sums of one 64-channel tile [c0, c0 + 64) over rows [r0, r1): float partials over
// kFloatBlockRows rows at a time, widened into double accumulators kept for the whole range
// (touched once per kFloatBlockRows rows, so spilling them costs little), then added to s1 and
// s2 once. A row of up to 64 channels is read as one sequential run, which the prefetchers
// follow better than a stride. kMasked: the last, partial tile (lanes m[j]); full tiles load
// nothing but the data per row.
template <bool kMasked>
NORMKIT_AVX512_INLINE void column_tile_fast(const float* x, int64_t r0, int64_t r1, int64_t c,
                                            int64_t c0, const __mmask16* m, const float* shift,
                                            double* s1, double* s2) {
  __m512 sh[4];
  __m512d a[8], q[8];
  for (int j = 0; j < 4; ++j) sh[j] = _mm512_maskz_loadu_ps(m[j], shift + c0 + 16 * j);
  for (int j = 0; j < 8; ++j) a[j] = q[j] = _mm512_setzero_pd();
  for (int64_t r = r0; r < r1; r += kFloatBlockRows) {
    const int64_t end = r + kFloatBlockRows < r1 ? r + kFloatBlockRows : r1;
    __m512 fa[4], fq[4];
    for (int j = 0; j < 4; ++j) fa[j] = fq[j] = _mm512_setzero_ps();
    for (int64_t i = r; i < end; ++i) {
      const float* xr = x + i * c + c0;
      for (int j = 0; j < 4; ++j) {
        const __m512 d =
            kMasked ? _mm512_maskz_sub_ps(m[j], _mm512_maskz_loadu_ps(m[j], xr + 16 * j), sh[j])
                    : _mm512_sub_ps(_mm512_loadu_ps(xr + 16 * j), sh[j]);
        fa[j] = _mm512_add_ps(fa[j], d);
        fq[j] = _mm512_fmadd_ps(d, d, fq[j]);
      }
    }
    for (int j = 0; j < 4; ++j) {
      add_widened(a[2 * j], a[2 * j + 1], fa[j]);
      add_widened(q[2 * j], q[2 * j + 1], fq[j]);
    }
  }
  for (int j = 0; j < 8; ++j) {
    const __mmask8 k = static_cast<__mmask8>(m[j / 2] >> (8 * (j % 2)));
    double* p1 = s1 + c0 + 8 * j;
    double* p2 = s2 + c0 + 8 * j;
    _mm512_mask_storeu_pd(p1, k, _mm512_add_pd(_mm512_maskz_loadu_pd(k, p1), a[j]));
    _mm512_mask_storeu_pd(p2, k, _mm512_add_pd(_mm512_maskz_loadu_pd(k, p2), q[j]));
  }
}

// column_sums with the float partials of run_sums_fast (check with trust_fast_sums). Rows are
// taken in blocks of about kColumnBlockBytes (at least kFloatBlockRows rows), which stay in L1
// while each 64-channel tile sweeps them.
NORMKIT_AVX512_INLINE void column_sums_fast(const float* x, int64_t begin, int64_t end, int64_t c,
                                            const float* shift, double* s1, double* s2) {
  const int64_t block_rows = std::max<int64_t>(
      kFloatBlockRows, kColumnBlockBytes / (c * 4) / kFloatBlockRows * kFloatBlockRows);
  const int64_t full = c / 64 * 64;
  const __mmask16 all[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
  __mmask16 tail[4];
  for (int j = 0; j < 4; ++j) {
    const int64_t left = c - full - 16 * j;
    tail[j] = left >= 16 ? 0xFFFF : left > 0 ? first_lanes(left) : 0;
  }
  for (int64_t r0 = begin; r0 < end; r0 += block_rows) {
    const int64_t r1 = r0 + block_rows < end ? r0 + block_rows : end;
    for (int64_t c0 = 0; c0 < full; c0 += 64) {
      column_tile_fast<false>(x, r0, r1, c, c0, all, shift, s1, s2);
    }
    if (full < c) column_tile_fast<true>(x, r0, r1, c, full, tail, shift, s1, s2);
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
