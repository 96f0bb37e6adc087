// The pieces of the hand-written AVX-512 kernels that every access pattern uses (rows_avx512.h,
// columns_avx512.h, apply_avx512.h). All of it is compiled for AVX-512 only and runs only when
// use_avx512() says so.
#pragma once

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

// Mask of the lanes of a 16-float vector at i that lie before n.
NORMKIT_AVX512_INLINE __mmask16 lanes_before(int64_t i, int64_t n) {
  return n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : first_lanes(n - i);
}

// (x - shift) of 16 floats as two vectors of 8 doubles; lanes outside `mask` are 0.
NORMKIT_AVX512_INLINE void widen_shifted(__m512 v, __m512d shift_lo, __m512d shift_hi,
                                         __mmask16 mask, __m512d& lo, __m512d& hi) {
  lo =
      _mm512_maskz_sub_pd(static_cast<__mmask8>(mask), cvt_pd(_mm512_castps512_ps256(v)), shift_lo);
  hi = _mm512_maskz_sub_pd(static_cast<__mmask8>(mask >> 8),
                           cvt_pd(_mm512_maskz_extractf32x8_ps(0xFF, v, 1)), shift_hi);
}

// Elements before the first 64-byte boundary of y (all of them when there is none in range).
NORMKIT_AVX512_INLINE int64_t unaligned_head(const float* y) {
  return static_cast<int64_t>(((64 - (reinterpret_cast<uintptr_t>(y) & 63)) & 63) / sizeof(float));
}

// What a run kernel reads, 8 or 16 floats at a time (the tier's versions of Values and SumOf in
// kernels/rows.h): the values themselves, or the residual sum a + b. Masked loads read nothing
// outside the mask.
struct VecValues {
  const float* x;
  VecValues after(int64_t i) const { return {x + i}; }
  NORMKIT_AVX512_INLINE __m256 load8(int64_t i) const { return _mm256_loadu_ps(x + i); }
  NORMKIT_AVX512_INLINE __m512 load(int64_t i) const { return _mm512_loadu_ps(x + i); }
  NORMKIT_AVX512_INLINE __m512 load(int64_t i, __mmask16 m) const {
    return _mm512_maskz_loadu_ps(m, x + i);
  }
};
struct VecSumOf {
  const float* a;
  const float* b;
  VecSumOf after(int64_t i) const { return {a + i, b + i}; }
  NORMKIT_AVX512_INLINE __m256 load8(int64_t i) const {
    return _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
  }
  NORMKIT_AVX512_INLINE __m512 load(int64_t i) const {
    return _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
  }
  NORMKIT_AVX512_INLINE __m512 load(int64_t i, __mmask16 m) const {
    return _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
  }
};

// A store of 16 floats, streaming (non-temporal, y 64-byte aligned) or not.
template <bool kStream>
NORMKIT_AVX512_INLINE void store(float* y, __m512 v) {
  if constexpr (kStream) {
    _mm512_stream_ps(y, v);
  } else {
    _mm512_storeu_ps(y, v);
  }
}

}  // namespace normkit::avx512

#endif  // NORMKIT_HAVE_AVX512
