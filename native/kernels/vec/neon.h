// The NEON tier's vector layer (AArch64, where NEON is always present): 4 floats, 2 doubles.
// The names are those of vec/baseline.h. AArch64 has no non-temporal vector store the compiler
// exposes, so stream() is a plain store and kStreams is false.
#pragma once

#include <arm_neon.h>

#include <cstdint>

#include "kernels/simd.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN
namespace vec {

constexpr int kLanes = 4;
constexpr int64_t kVectorBytes = 16;
constexpr bool kStreams = false;
// 32 registers: three arrays of 8 vectors and the data.
constexpr int kRegisterVectors = 8;

using F = float32x4_t;
using H = float32x2_t;
using D = float64x2_t;

NORMKIT_INLINE F zero() { return vdupq_n_f32(0.0f); }
NORMKIT_INLINE F set1(float v) { return vdupq_n_f32(v); }
NORMKIT_INLINE F load(const float* p) { return vld1q_f32(p); }
NORMKIT_INLINE void store(float* p, F v) { vst1q_f32(p, v); }
NORMKIT_INLINE void stream(float* p, F v) { vst1q_f32(p, v); }
NORMKIT_INLINE void fence() {}
NORMKIT_INLINE F load_first(const float* p, int64_t n) {
  float t[4] = {0, 0, 0, 0};
  for (int64_t k = 0; k < n; ++k) t[k] = p[k];
  return vld1q_f32(t);
}
NORMKIT_INLINE void store_first(float* p, F v, int64_t n) {
  float t[4];
  vst1q_f32(t, v);
  for (int64_t k = 0; k < n; ++k) p[k] = t[k];
}
NORMKIT_INLINE F add(F a, F b) { return vaddq_f32(a, b); }
NORMKIT_INLINE F sub(F a, F b) { return vsubq_f32(a, b); }
NORMKIT_INLINE F mul(F a, F b) { return vmulq_f32(a, b); }
NORMKIT_INLINE F fma(F a, F b, F c) { return vfmaq_f32(c, a, b); }

NORMKIT_INLINE H load_half(const float* p) { return vld1_f32(p); }
NORMKIT_INLINE H add_half(H a, H b) { return vadd_f32(a, b); }
NORMKIT_INLINE D widen(H v) { return vcvt_f64_f32(v); }
NORMKIT_INLINE D widen_lo(F v) { return vcvt_f64_f32(vget_low_f32(v)); }
NORMKIT_INLINE D widen_hi(F v) { return vcvt_high_f64_f32(v); }

NORMKIT_INLINE D dzero() { return vdupq_n_f64(0.0); }
NORMKIT_INLINE D dset1(double v) { return vdupq_n_f64(v); }
NORMKIT_INLINE D dadd(D a, D b) { return vaddq_f64(a, b); }
NORMKIT_INLINE D dsub(D a, D b) { return vsubq_f64(a, b); }
NORMKIT_INLINE D dfma(D a, D b, D c) { return vfmaq_f64(c, a, b); }
NORMKIT_INLINE D dload(const double* p) { return vld1q_f64(p); }
NORMKIT_INLINE void dstore(double* p, D v) { vst1q_f64(p, v); }
NORMKIT_INLINE double hsum(D v) { return vaddvq_f64(v); }

}  // namespace vec
NORMKIT_TIER_END
}  // namespace normkit
