// AVX-512 moments over contiguous runs (the tier's version of PortableRows in kernels/rows.h):
// exact double sums, and the faster float-partial sums checked by trust_fast_sums.
#pragma once

#include "kernels/avx512.h"
#include "kernels/moments.h"
#include "kernels/tiling.h"

#if NORMKIT_HAVE_AVX512

namespace normkit::avx512 {

// Exact shifted sums of a run (of values or of residual sums): four pairs of accumulators hide
// the add latency.
template <bool kCentre, class Src>
NORMKIT_AVX512_INLINE void run_sums(Src x, int64_t n, double shift, ShiftedSums& acc) {
  const __m512d sh = _mm512_set1_pd(shift);
  __m512d s[4], q[4];
  for (int k = 0; k < 4; ++k) s[k] = q[k] = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      // vcvtps2pd straight from memory: no shuffle to split a 16-float vector.
      const __m512d d = _mm512_sub_pd(cvt_pd(x.load8(i + 8 * k)), sh);
      if constexpr (kCentre) s[k] = _mm512_add_pd(s[k], d);
      q[k] = _mm512_fmadd_pd(d, d, q[k]);
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 m = lanes_before(i, n);
    __m512d d0, d1;
    widen_shifted(x.load(i, m), sh, sh, m, d0, d1);
    if constexpr (kCentre) {
      s[0] = _mm512_add_pd(s[0], d0);
      s[1] = _mm512_add_pd(s[1], d1);
    }
    q[0] = _mm512_fmadd_pd(d0, d0, q[0]);
    q[1] = _mm512_fmadd_pd(d1, d1, q[1]);
  }
  if constexpr (kCentre) {
    acc.s1 += hsum(_mm512_add_pd(_mm512_add_pd(s[0], s[1]), _mm512_add_pd(s[2], s[3])));
  }
  acc.s2 += hsum(_mm512_add_pd(_mm512_add_pd(q[0], q[1]), _mm512_add_pd(q[2], q[3])));
}

// The float partials of the fast sums: (x - shift) and its square summed in float over a block
// of 128 values (8 per lane), then widened and added in double.
template <bool kCentre>
struct BlockSums {
  __m512d s_lo, s_hi, q_lo, q_hi;
  __m512 sa, sb, qa, qb;

  NORMKIT_AVX512_INLINE BlockSums() {
    s_lo = s_hi = q_lo = q_hi = _mm512_setzero_pd();
    sa = sb = qa = qb = _mm512_setzero_ps();
  }
  // d0 and d1: 32 shifted values.
  NORMKIT_AVX512_INLINE void add(__m512 d0, __m512 d1) {
    if constexpr (kCentre) {
      sa = _mm512_add_ps(sa, d0);
      sb = _mm512_add_ps(sb, d1);
    }
    qa = _mm512_fmadd_ps(d0, d0, qa);
    qb = _mm512_fmadd_ps(d1, d1, qb);
  }
  NORMKIT_AVX512_INLINE void end_block() {
    if constexpr (kCentre) {
      const __m512 s = _mm512_add_ps(sa, sb);
      s_lo = _mm512_add_pd(s_lo, cvt_pd(_mm512_castps512_ps256(s)));
      s_hi = _mm512_add_pd(s_hi, cvt_pd(_mm512_extractf32x8_ps(s, 1)));
      sa = sb = _mm512_setzero_ps();
    }
    const __m512 q = _mm512_add_ps(qa, qb);
    q_lo = _mm512_add_pd(q_lo, cvt_pd(_mm512_castps512_ps256(q)));
    q_hi = _mm512_add_pd(q_hi, cvt_pd(_mm512_extractf32x8_ps(q, 1)));
    qa = qb = _mm512_setzero_ps();
  }
  NORMKIT_AVX512_INLINE void add_to(ShiftedSums& acc) const {
    if constexpr (kCentre) acc.s1 += hsum(_mm512_add_pd(s_lo, s_hi));
    acc.s2 += hsum(_mm512_add_pd(q_lo, q_hi));
  }
};

// Values per block of the fast sums: 16 lanes, kFloatValuesPerLane each.
constexpr int64_t kBlockValues = 16 * kFloatValuesPerLane;

template <bool kCentre>
NORMKIT_AVX512_INLINE __m512 centred(__m512 v, __m512 shift) {
  if constexpr (kCentre) return _mm512_sub_ps(v, shift);
  return v;
}

// Faster shifted sums for the statistics of long runs: (x - shift) and its square are summed in
// float over 8 values per lane, then each partial is widened and added in double. That halves
// the arithmetic of run_sums. The float partials lose accuracy only when the shift is far from
// the mean (relative to the spread), when squares overflow (|x - shift| > 1e19) or underflow
// (|x - shift| < 1e-19); trust_fast_sums() detects each case and the caller redoes the run with
// run_sums. `shift` must be a value of the data (so constant runs give 0).
template <bool kCentre, class Src>
NORMKIT_AVX512_INLINE void run_sums_fast(Src x, int64_t n, float shift, ShiftedSums& acc) {
  const __m512 sh = _mm512_set1_ps(shift);
  BlockSums<kCentre> sums;
  int64_t i = 0;
  for (; i + kBlockValues <= n; i += kBlockValues) {
    for (int64_t k = 0; k < kBlockValues; k += 32) {
      sums.add(centred<kCentre>(x.load(i + k), sh), centred<kCentre>(x.load(i + k + 16), sh));
    }
    sums.end_block();
  }
  sums.add_to(acc);
  if (i < n) run_sums<kCentre>(x.after(i), n - i, static_cast<double>(shift), acc);
}

}  // namespace normkit::avx512

namespace normkit {

// The tier's row primitives (see PortableRows): entry points for tier-generic drivers, inlined
// into NORMKIT_AVX512_ENTRY functions.
struct Avx512Rows {
  static constexpr bool kFastSumsInexact = true;
  template <bool kCentre>
  NORMKIT_TARGET_AVX512 static void run_sums(const float* x, int64_t n, double shift,
                                             ShiftedSums& acc) {
    avx512::run_sums<kCentre>(avx512::VecValues{x}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_TARGET_AVX512 static void run_sums_fast(const float* x, int64_t n, float shift,
                                                  ShiftedSums& acc) {
    avx512::run_sums_fast<kCentre>(avx512::VecValues{x}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_TARGET_AVX512 static void add_run_sums(const float* a, const float* b, int64_t n,
                                                 double shift, ShiftedSums& acc) {
    avx512::run_sums<kCentre>(avx512::VecSumOf{a, b}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_TARGET_AVX512 static void add_run_sums_fast(const float* a, const float* b, int64_t n,
                                                      float shift, ShiftedSums& acc) {
    avx512::run_sums_fast<kCentre>(avx512::VecSumOf{a, b}, n, shift, acc);
  }
};

}  // namespace normkit

#endif  // NORMKIT_HAVE_AVX512
