// The AVX-512 tier's vector layer (F, DQ, BW, VL: Skylake-X and later, Zen 4): 16 floats, 8
// doubles. The names are those of vec/baseline.h; tails are masked loads and stores, which read
// and write nothing outside their mask.
#pragma once

#include <cstdint>

#include "kernels/simd.h"
#include "kernels/tier.h"

// GCC 12's intrinsic headers self-initialize "undefined" vectors, which -Wmaybe-uninitialized
// reports at every use; the diagnostic state at the header's own lines is what counts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

namespace normkit {
NORMKIT_TIER_BEGIN
namespace vec {

constexpr int kLanes = 16;
constexpr int64_t kVectorBytes = 64;
constexpr bool kStreams = true;
// 32 zmm registers: three arrays of 4 vectors (a 64-value period) and the data.
constexpr int kRegisterVectors = 4;

using F = __m512;
using H = __m256;
using D = __m512d;

NORMKIT_INLINE __mmask16 first_mask(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

NORMKIT_INLINE F zero() { return _mm512_setzero_ps(); }
NORMKIT_INLINE F set1(float v) { return _mm512_set1_ps(v); }
NORMKIT_INLINE F load(const float* p) { return _mm512_loadu_ps(p); }
NORMKIT_INLINE void store(float* p, F v) { _mm512_storeu_ps(p, v); }
NORMKIT_INLINE void stream(float* p, F v) { _mm512_stream_ps(p, v); }
NORMKIT_INLINE void fence() { _mm_sfence(); }
NORMKIT_INLINE F load_first(const float* p, int64_t n) {
  return _mm512_maskz_loadu_ps(first_mask(n), p);
}
NORMKIT_INLINE void store_first(float* p, F v, int64_t n) {
  _mm512_mask_storeu_ps(p, first_mask(n), v);
}
NORMKIT_INLINE F add(F a, F b) { return _mm512_add_ps(a, b); }
NORMKIT_INLINE F sub(F a, F b) { return _mm512_sub_ps(a, b); }
NORMKIT_INLINE F mul(F a, F b) { return _mm512_mul_ps(a, b); }
NORMKIT_INLINE F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }

NORMKIT_INLINE H load_half(const float* p) { return _mm256_loadu_ps(p); }
NORMKIT_INLINE H add_half(H a, H b) { return _mm256_add_ps(a, b); }
// vcvtps2pd straight from memory where the half comes from a load: no shuffle.
NORMKIT_INLINE D widen(H v) { return _mm512_cvtps_pd(v); }
NORMKIT_INLINE D widen_lo(F v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
NORMKIT_INLINE D widen_hi(F v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }

NORMKIT_INLINE D dzero() { return _mm512_setzero_pd(); }
NORMKIT_INLINE D dset1(double v) { return _mm512_set1_pd(v); }
NORMKIT_INLINE D dadd(D a, D b) { return _mm512_add_pd(a, b); }
NORMKIT_INLINE D dsub(D a, D b) { return _mm512_sub_pd(a, b); }
NORMKIT_INLINE D dfma(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
NORMKIT_INLINE D dload(const double* p) { return _mm512_loadu_pd(p); }
NORMKIT_INLINE void dstore(double* p, D v) { _mm512_storeu_pd(p, v); }
NORMKIT_INLINE double hsum(D v) {
  const __m512d folded = _mm512_add_pd(v, _mm512_shuffle_f64x2(v, v, 0x4E));  // halves swapped
  const __m256d h = _mm512_castpd512_pd256(folded);
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

}  // namespace vec
NORMKIT_TIER_END
}  // namespace normkit
