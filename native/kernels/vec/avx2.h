// The AVX2 tier's vector layer (AVX2 and FMA: Haswell and later, every Zen): 8 floats, 4
// doubles. The names are those of vec/baseline.h. Tails use vmaskmov, which reads and writes
// nothing outside its mask.
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

constexpr int kLanes = 8;
constexpr int64_t kVectorBytes = 32;
constexpr bool kStreams = true;
// 16 ymm registers: three arrays of 4 vectors leave 4 for the data.
constexpr int kRegisterVectors = 4;

using F = __m256;
using H = __m128;
using D = __m256d;

// Lanes [0, n) of a vmaskmov mask (n in [0, 8]).
NORMKIT_INLINE __m256i first_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

NORMKIT_INLINE F zero() { return _mm256_setzero_ps(); }
NORMKIT_INLINE F set1(float v) { return _mm256_set1_ps(v); }
NORMKIT_INLINE F load(const float* p) { return _mm256_loadu_ps(p); }
NORMKIT_INLINE void store(float* p, F v) { _mm256_storeu_ps(p, v); }
NORMKIT_INLINE void stream(float* p, F v) { _mm256_stream_ps(p, v); }
NORMKIT_INLINE void fence() { _mm_sfence(); }
NORMKIT_INLINE F load_first(const float* p, int64_t n) {
  return _mm256_maskload_ps(p, first_mask(n));
}
NORMKIT_INLINE void store_first(float* p, F v, int64_t n) {
  _mm256_maskstore_ps(p, first_mask(n), v);
}
NORMKIT_INLINE F add(F a, F b) { return _mm256_add_ps(a, b); }
NORMKIT_INLINE F sub(F a, F b) { return _mm256_sub_ps(a, b); }
NORMKIT_INLINE F mul(F a, F b) { return _mm256_mul_ps(a, b); }
NORMKIT_INLINE F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }

NORMKIT_INLINE H load_half(const float* p) { return _mm_loadu_ps(p); }
NORMKIT_INLINE H add_half(H a, H b) { return _mm_add_ps(a, b); }
// vcvtps2pd straight from memory where the half comes from a load: no shuffle.
NORMKIT_INLINE D widen(H v) { return _mm256_cvtps_pd(v); }
NORMKIT_INLINE D widen_lo(F v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
NORMKIT_INLINE D widen_hi(F v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

NORMKIT_INLINE D dzero() { return _mm256_setzero_pd(); }
NORMKIT_INLINE D dset1(double v) { return _mm256_set1_pd(v); }
NORMKIT_INLINE D dadd(D a, D b) { return _mm256_add_pd(a, b); }
NORMKIT_INLINE D dsub(D a, D b) { return _mm256_sub_pd(a, b); }
NORMKIT_INLINE D dfma(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
NORMKIT_INLINE D dload(const double* p) { return _mm256_loadu_pd(p); }
NORMKIT_INLINE void dstore(double* p, D v) { _mm256_storeu_pd(p, v); }
NORMKIT_INLINE double hsum(D v) {
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

}  // namespace vec
NORMKIT_TIER_END
}  // namespace normkit
