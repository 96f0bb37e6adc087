// Hand-written AVX-512 versions of the hot loops in kernels/moments.h. Same numerics: shifted
// sums in double, the apply step in float with the mean split into hi and lo parts. Everything
// here is compiled for AVX-512 only and is called only when use_avx512() says so.
#pragma once

#include "kernels/moments.h"
#include "kernels/simd.h"

#if NORMKIT_HAVE_AVX512
// GCC 12's intrinsic headers self-initialize "undefined" vectors, which -Wmaybe-uninitialized
// reports at every use; the diagnostic state at the header's own lines is what counts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#define NORMKIT_AVX512_INLINE NORMKIT_TARGET_AVX512 inline __attribute__((always_inline))

namespace normkit::avx512 {

NORMKIT_AVX512_INLINE __m512d cvt_pd(__m256 v) { return _mm512_cvtps_pd(v); }

NORMKIT_AVX512_INLINE double hsum(__m512d v) {
  const __m512d folded = _mm512_add_pd(v, _mm512_shuffle_f64x2(v, v, 0x4E));  // halves swapped
  const __m256d h = _mm512_castpd512_pd256(folded);
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

NORMKIT_AVX512_INLINE __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>((1u << n) - 1u);  // n in [0, 16)
}

// (x - shift) of 16 floats as two vectors of 8 doubles; lanes outside `mask` are 0.
NORMKIT_AVX512_INLINE void widen_shifted(__m512 v, __m512d shift_lo, __m512d shift_hi,
                                         __mmask16 mask, __m512d& lo, __m512d& hi) {
  lo =
      _mm512_maskz_sub_pd(static_cast<__mmask8>(mask), cvt_pd(_mm512_castps512_ps256(v)), shift_lo);
  hi = _mm512_maskz_sub_pd(static_cast<__mmask8>(mask >> 8),
                           cvt_pd(_mm512_maskz_extractf32x8_ps(0xFF, v, 1)), shift_hi);
}

// Shifted sums of a contiguous run: four pairs of accumulators hide the add latency.
NORMKIT_AVX512_INLINE void accumulate_shifted(const float* x, int64_t n, double shift,
                                              ShiftedSums& acc) {
  const __m512d sh = _mm512_set1_pd(shift);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  __m512d q0 = s0, q1 = s0, q2 = s0, q3 = s0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    // vcvtps2pd straight from memory: no shuffle to split a 16-float vector.
    const __m512d d0 = _mm512_sub_pd(cvt_pd(_mm256_loadu_ps(x + i)), sh);
    const __m512d d1 = _mm512_sub_pd(cvt_pd(_mm256_loadu_ps(x + i + 8)), sh);
    const __m512d d2 = _mm512_sub_pd(cvt_pd(_mm256_loadu_ps(x + i + 16)), sh);
    const __m512d d3 = _mm512_sub_pd(cvt_pd(_mm256_loadu_ps(x + i + 24)), sh);
    s0 = _mm512_add_pd(s0, d0);
    q0 = _mm512_fmadd_pd(d0, d0, q0);
    s1 = _mm512_add_pd(s1, d1);
    q1 = _mm512_fmadd_pd(d1, d1, q1);
    s2 = _mm512_add_pd(s2, d2);
    q2 = _mm512_fmadd_pd(d2, d2, q2);
    s3 = _mm512_add_pd(s3, d3);
    q3 = _mm512_fmadd_pd(d3, d3, q3);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : first_lanes(n - i);
    __m512d d0, d1;
    widen_shifted(_mm512_maskz_loadu_ps(m, x + i), sh, sh, m, d0, d1);
    s0 = _mm512_add_pd(s0, d0);
    q0 = _mm512_fmadd_pd(d0, d0, q0);
    s1 = _mm512_add_pd(s1, d1);
    q1 = _mm512_fmadd_pd(d1, d1, q1);
  }
  acc.s1 += hsum(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
  acc.s2 += hsum(_mm512_add_pd(_mm512_add_pd(q0, q1), _mm512_add_pd(q2, q3)));
}

// The float partials of the fast statistics: (x - shift) and its square summed in float over a
// block of 128 values (8 per lane), then widened and added in double.
struct BlockSums {
  __m512d s_lo, s_hi, q_lo, q_hi;
  __m512 sa, sb, qa, qb;

  NORMKIT_AVX512_INLINE BlockSums() {
    s_lo = s_hi = q_lo = q_hi = _mm512_setzero_pd();
    sa = sb = qa = qb = _mm512_setzero_ps();
  }
  // d0 and d1: 32 shifted values.
  NORMKIT_AVX512_INLINE void add(__m512 d0, __m512 d1) {
    sa = _mm512_add_ps(sa, d0);
    qa = _mm512_fmadd_ps(d0, d0, qa);
    sb = _mm512_add_ps(sb, d1);
    qb = _mm512_fmadd_ps(d1, d1, qb);
  }
  NORMKIT_AVX512_INLINE void end_block() {
    const __m512 s = _mm512_add_ps(sa, sb), q = _mm512_add_ps(qa, qb);
    s_lo = _mm512_add_pd(s_lo, cvt_pd(_mm512_castps512_ps256(s)));
    s_hi = _mm512_add_pd(s_hi, cvt_pd(_mm512_extractf32x8_ps(s, 1)));
    q_lo = _mm512_add_pd(q_lo, cvt_pd(_mm512_castps512_ps256(q)));
    q_hi = _mm512_add_pd(q_hi, cvt_pd(_mm512_extractf32x8_ps(q, 1)));
    sa = sb = qa = qb = _mm512_setzero_ps();
  }
  NORMKIT_AVX512_INLINE void add_to(ShiftedSums& acc) const {
    acc.s1 += hsum(_mm512_add_pd(s_lo, s_hi));
    acc.s2 += hsum(_mm512_add_pd(q_lo, q_hi));
  }
};

// Faster shifted sums for the statistics of long runs: (x - shift) and its square are summed in
// float over 8 values per lane, then each partial is widened and added in double. That halves
// the arithmetic of accumulate_shifted. The float partials lose accuracy only when the shift is
// far from the mean (relative to the spread), when squares overflow (|x - shift| > 1e19) or
// underflow (|x - shift| < 1e-19); trust_fast_sums() detects each case and the caller redoes the
// run with accumulate_shifted. `shift` must be a value of the data (so constant runs give 0).
NORMKIT_AVX512_INLINE void accumulate_shifted_fast(const float* x, int64_t n, float shift,
                                                   ShiftedSums& acc) {
  const __m512 sh = _mm512_set1_ps(shift);
  BlockSums sums;
  int64_t i = 0;
  for (; i + 128 <= n; i += 128) {
    for (int k = 0; k < 128; k += 32) {
      sums.add(_mm512_sub_ps(_mm512_loadu_ps(x + i + k), sh),
               _mm512_sub_ps(_mm512_loadu_ps(x + i + k + 16), sh));
    }
    sums.end_block();
  }
  sums.add_to(acc);
  if (i < n) avx512::accumulate_shifted(x + i, n - i, static_cast<double>(shift), acc);
}

// Whether sums from accumulate_shifted_fast are as good as exact ones for normalization: finite,
// a variance well above underflow, and a shift within 3 standard deviations of the mean (the
// float partials' error grows with (shift - mean)^2).
NORMKIT_INLINE bool trust_fast_sums(const ShiftedSums& acc, int64_t count) {
  const double m1 = acc.s1 / static_cast<double>(count);
  const double var = acc.s2 / static_cast<double>(count) - m1 * m1;
  return std::isfinite(acc.s2) && var > 1e-30 && m1 * m1 <= 9 * var;
}

// One output vector: (x - hi) * scale + offset, then * w + b, * w, or + b.
template <bool kWeight, bool kBias>
NORMKIT_AVX512_INLINE __m512 normalize(__m512 x, __m512 hi, __m512 scale, __m512 offset, __m512 w,
                                       __m512 b) {
  const __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(x, hi), scale, offset);
  if constexpr (kWeight && kBias) return _mm512_fmadd_ps(v, w, b);
  if constexpr (kWeight) return _mm512_mul_ps(v, w);
  if constexpr (kBias) return _mm512_add_ps(v, b);
  return v;
}

template <bool kWeight, bool kBias>
NORMKIT_AVX512_INLINE void apply_masked(const float* x, float* y, const float* w, const float* b,
                                        int64_t i, __mmask16 m, __m512 hi, __m512 scale,
                                        __m512 offset) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 wv = kWeight ? _mm512_maskz_loadu_ps(m, w + i) : zero;
  const __m512 bv = kBias ? _mm512_maskz_loadu_ps(m, b + i) : zero;
  _mm512_mask_storeu_ps(
      y + i, m,
      normalize<kWeight, kBias>(_mm512_maskz_loadu_ps(m, x + i), hi, scale, offset, wv, bv));
}

// Elements before the first 64-byte boundary of y (all of them when there is none in range).
NORMKIT_AVX512_INLINE int64_t unaligned_head(const float* y) {
  return static_cast<int64_t>(((64 - (reinterpret_cast<uintptr_t>(y) & 63)) & 63) / sizeof(float));
}

// y = (x - hi) * scale + offset (then * w[i], + b[i]) over a contiguous run. With kStream the
// 64-byte-aligned middle is written with streaming stores; head and tail with masks.
template <bool kWeight, bool kBias, bool kStream>
NORMKIT_AVX512_INLINE void apply_run(const float* x, float* y, int64_t n, Affine f, const float* w,
                                     const float* b) {
  const __m512 hi = _mm512_set1_ps(f.hi), scale = _mm512_set1_ps(f.scale);
  const __m512 offset = _mm512_set1_ps(f.offset);
  const __m512 zero = _mm512_setzero_ps();
  int64_t i = 0;
  if constexpr (kStream) {
    const int64_t head = unaligned_head(y);
    if (head > 0 && head < n) {
      apply_masked<kWeight, kBias>(x, y, w, b, 0, first_lanes(head), hi, scale, offset);
      i = head;
    }
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 wv = kWeight ? _mm512_loadu_ps(w + i) : zero;
    const __m512 bv = kBias ? _mm512_loadu_ps(b + i) : zero;
    const __m512 v = normalize<kWeight, kBias>(_mm512_loadu_ps(x + i), hi, scale, offset, wv, bv);
    if constexpr (kStream) {
      _mm512_stream_ps(y + i, v);
    } else {
      _mm512_storeu_ps(y + i, v);
    }
  }
  if (i < n) apply_masked<kWeight, kBias>(x, y, w, b, i, first_lanes(n - i), hi, scale, offset);
}

// Software pipeline of channels-first BatchNorm training: normalizes `cur` (scalar parameters)
// into y while summing `next` (the next channel's run of the same length) into acc, so the
// statistics of one channel ride along with the memory traffic of the previous one's output.
// Same float-partial numerics as accumulate_shifted_fast.
template <bool kStream>
NORMKIT_AVX512_INLINE void apply_and_accumulate(const float* cur, float* y, int64_t n, Affine f,
                                                const float* next, float shift, ShiftedSums& acc) {
  int64_t i = 0;
  if constexpr (kStream) {
    const int64_t head = unaligned_head(y) < n ? unaligned_head(y) : n;
    if (head > 0) {
      apply_run<false, false, false>(cur, y, head, f, nullptr, nullptr);
      avx512::accumulate_shifted(next, head, static_cast<double>(shift), acc);
      i = head;
    }
  }
  const __m512 hi = _mm512_set1_ps(f.hi), scale = _mm512_set1_ps(f.scale);
  const __m512 offset = _mm512_set1_ps(f.offset), sh = _mm512_set1_ps(shift);
  BlockSums sums;
  for (; i + 128 <= n; i += 128) {
    for (int k = 0; k < 128; k += 32) {
      const __m512 v0 =
          _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(cur + i + k), hi), scale, offset);
      const __m512 v1 =
          _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(cur + i + k + 16), hi), scale, offset);
      if constexpr (kStream) {
        _mm512_stream_ps(y + i + k, v0);
        _mm512_stream_ps(y + i + k + 16, v1);
      } else {
        _mm512_storeu_ps(y + i + k, v0);
        _mm512_storeu_ps(y + i + k + 16, v1);
      }
      sums.add(_mm512_sub_ps(_mm512_loadu_ps(next + i + k), sh),
               _mm512_sub_ps(_mm512_loadu_ps(next + i + k + 16), sh));
    }
    sums.end_block();
  }
  sums.add_to(acc);
  if (i < n) {
    apply_run<false, false, kStream>(cur + i, y + i, n - i, f, nullptr, nullptr);
    avx512::accumulate_shifted(next + i, n - i, static_cast<double>(shift), acc);
  }
}

// Column sums of channels-last rows [begin, end) of `c` channels into s1[c], s2[c]. Cache
// tiling: a block of rows (~16 KB, L1) is swept once per 32-channel tile whose sums live in
// registers, so each value costs a load, a widen and two adds; the sums touch memory once per
// block.
NORMKIT_AVX512_INLINE void sum_rows_of_channels(const float* x, int64_t begin, int64_t end,
                                                int64_t c, const double* shift, double* s1,
                                                double* s2) {
  constexpr int64_t kBlockBytes = 16 << 10;
  const int64_t block_rows = c * 4 >= kBlockBytes ? 1 : kBlockBytes / (c * 4);
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
        sh[j] = _mm512_maskz_loadu_pd(k[j], shift + c0 + 8 * j);
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

// sum_rows_of_channels with the float partials of accumulate_shifted_fast: groups of 8 rows are
// summed in float per 64-channel tile (4 vectors, so a row of up to 64 channels is one
// sequential read), then widened into the double sums. `shift` holds values of the data, as
// floats; check each channel with trust_fast_sums.
NORMKIT_AVX512_INLINE void add_widened(double* dst, __mmask16 m, __m512 v) {
  const __mmask8 lo = static_cast<__mmask8>(m), hi = static_cast<__mmask8>(m >> 8);
  _mm512_mask_storeu_pd(
      dst, lo, _mm512_add_pd(_mm512_maskz_loadu_pd(lo, dst), cvt_pd(_mm512_castps512_ps256(v))));
  _mm512_mask_storeu_pd(
      dst + 8, hi,
      _mm512_add_pd(_mm512_maskz_loadu_pd(hi, dst + 8), cvt_pd(_mm512_extractf32x8_ps(v, 1))));
}

NORMKIT_AVX512_INLINE void sum_rows_of_channels_fast(const float* x, int64_t begin, int64_t end,
                                                     int64_t c, const float* shift, double* s1,
                                                     double* s2) {
  constexpr int64_t kFloatRows = 8;
  for (int64_t r0 = begin; r0 < end; r0 += kFloatRows) {
    const int64_t r1 = r0 + kFloatRows < end ? r0 + kFloatRows : end;
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

NORMKIT_AVX512_INLINE __m512 apply_at(const float* x, int64_t at, int64_t pos, __mmask16 m,
                                      const float* hi, const float* scale, const float* offset) {
  return _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + at), _mm512_loadu_ps(hi + pos)),
                         _mm512_loadu_ps(scale + pos), _mm512_loadu_ps(offset + pos));
}

// With streaming stores: the elements before y's first 64-byte boundary in [i, end), written
// with a masked store; advances i and the period position p past them.
NORMKIT_AVX512_INLINE void periodic_head(const float* x, float* y, int64_t& i, int64_t& p,
                                         int64_t end, int64_t period, const float* hi,
                                         const float* scale, const float* offset) {
  const int64_t head = unaligned_head(y + i);
  if (head > 0 && head < end - i) {
    const __mmask16 m = first_lanes(head);
    _mm512_mask_storeu_ps(y + i, m, apply_at(x, i, p, m, hi, scale, offset));
    i += head;
    p = (p + head) % period;
  }
}

// Channels-last apply over the flat run [begin, end) of elements: the parameters repeat with
// period `period` (a multiple of 16 and of the channel count), and each array holds period + 16
// values so a vector starting anywhere in the period reads straight through. Vectorizes across
// rows for any channel count and keeps the streaming stores 64-byte aligned.
template <bool kStream>
NORMKIT_AVX512_INLINE void apply_periodic(const float* x, float* y, int64_t begin, int64_t end,
                                          int64_t period, const float* hi, const float* scale,
                                          const float* offset) {
  int64_t i = begin;
  int64_t p = begin % period;
  if constexpr (kStream) periodic_head(x, y, i, p, end, period, hi, scale, offset);
  for (; i + 16 <= end; i += 16) {
    const __m512 v = apply_at(x, i, p, 0xFFFF, hi, scale, offset);
    if constexpr (kStream) {
      _mm512_stream_ps(y + i, v);
    } else {
      _mm512_storeu_ps(y + i, v);
    }
    p += 16;
    if (p >= period) p -= period;
  }
  if (i < end) {
    const __mmask16 m = first_lanes(end - i);
    _mm512_mask_storeu_ps(y + i, m, apply_at(x, i, p, m, hi, scale, offset));
  }
}

// apply_periodic for periods of at most 64 values (up to 64 channels, e.g. BatchNorm1d over
// features): the parameters of a whole period live in registers, so each vector costs one load
// and one store; at cache speeds the three parameter loads per vector would bound the loop.
template <int kVectors, bool kStream>
NORMKIT_AVX512_INLINE void apply_periodic_in_registers(const float* x, float* y, int64_t begin,
                                                       int64_t end, int64_t period, const float* hi,
                                                       const float* scale, const float* offset) {
  int64_t i = begin;
  int64_t p = begin % period;
  if constexpr (kStream) periodic_head(x, y, i, p, end, period, hi, scale, offset);
  __m512 h[kVectors], s[kVectors], o[kVectors];
  for (int k = 0; k < kVectors; ++k) {
    const int64_t at = (p + 16 * k) % period;
    h[k] = _mm512_loadu_ps(hi + at);
    s[k] = _mm512_loadu_ps(scale + at);
    o[k] = _mm512_loadu_ps(offset + at);
  }
  for (; i + 16 * kVectors <= end; i += 16 * kVectors) {
    for (int k = 0; k < kVectors; ++k) {
      const __m512 v =
          _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16 * k), h[k]), s[k], o[k]);
      if constexpr (kStream) {
        _mm512_stream_ps(y + i + 16 * k, v);
      } else {
        _mm512_storeu_ps(y + i + 16 * k, v);
      }
    }
  }
  // Less than a period left.
  if (i < end) apply_periodic<false>(x, y, i, end, period, hi, scale, offset);
}

}  // namespace normkit::avx512

#endif  // NORMKIT_HAVE_AVX512
