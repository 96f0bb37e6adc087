// The baseline tier's vector layer: SSE2, which every x86-64 CPU has (4 floats, 2 doubles); on
// other CPUs without a tier of their own, plain C++ with the same names.
//
// The vocabulary, the same in every vec/ header:
//   F (kLanes floats), H (kLanes / 2 floats), D (kLanes / 2 doubles)
//   zero, set1, load, load_first(p, n) (lanes [0, n) of p, the rest 0, nothing read past n),
//   store, store_first(p, v, n), stream (non-temporal store, p kVectorBytes-aligned), fence
//   add, sub, mul, fma(a, b, c) = a * b + c (fused where the tier has it)
//   load_half, add_half, widen(H) -> D, widen_lo / widen_hi(F) -> D (the float lanes as doubles)
//   dzero, dset1, dadd, dsub, dfma, dload, dstore, hsum(D) -> double
//   kStreams: whether stream() bypasses the cache; kRegisterVectors: how many vectors of
//   parameters (three arrays) a loop may keep in registers.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/simd.h"
#include "kernels/tier.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace normkit {
NORMKIT_TIER_BEGIN
namespace vec {

#if defined(__SSE2__)

constexpr int kLanes = 4;
constexpr int64_t kVectorBytes = 16;
constexpr bool kStreams = true;
constexpr int kRegisterVectors = 4;

using F = __m128;
using H = __m128;  // the low 2 lanes
using D = __m128d;

NORMKIT_INLINE F zero() { return _mm_setzero_ps(); }
NORMKIT_INLINE F set1(float v) { return _mm_set1_ps(v); }
NORMKIT_INLINE F load(const float* p) { return _mm_loadu_ps(p); }
NORMKIT_INLINE void store(float* p, F v) { _mm_storeu_ps(p, v); }
NORMKIT_INLINE void stream(float* p, F v) { _mm_stream_ps(p, v); }
NORMKIT_INLINE void fence() { _mm_sfence(); }
NORMKIT_INLINE F load_first(const float* p, int64_t n) {
  alignas(16) float t[4] = {0, 0, 0, 0};
  for (int64_t k = 0; k < n; ++k) t[k] = p[k];
  return _mm_load_ps(t);
}
NORMKIT_INLINE void store_first(float* p, F v, int64_t n) {
  alignas(16) float t[4];
  _mm_store_ps(t, v);
  for (int64_t k = 0; k < n; ++k) p[k] = t[k];
}
NORMKIT_INLINE F add(F a, F b) { return _mm_add_ps(a, b); }
NORMKIT_INLINE F sub(F a, F b) { return _mm_sub_ps(a, b); }
NORMKIT_INLINE F mul(F a, F b) { return _mm_mul_ps(a, b); }
NORMKIT_INLINE F fma(F a, F b, F c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }

// Two floats into the low lanes; memcpy, since p is only float-aligned (movsd either way).
NORMKIT_INLINE H load_half(const float* p) {
  double d;
  std::memcpy(&d, p, sizeof d);
  return _mm_castpd_ps(_mm_set_sd(d));
}
NORMKIT_INLINE H add_half(H a, H b) { return _mm_add_ps(a, b); }
NORMKIT_INLINE D widen(H v) { return _mm_cvtps_pd(v); }
NORMKIT_INLINE D widen_lo(F v) { return _mm_cvtps_pd(v); }
NORMKIT_INLINE D widen_hi(F v) { return _mm_cvtps_pd(_mm_movehl_ps(v, v)); }

NORMKIT_INLINE D dzero() { return _mm_setzero_pd(); }
NORMKIT_INLINE D dset1(double v) { return _mm_set1_pd(v); }
NORMKIT_INLINE D dadd(D a, D b) { return _mm_add_pd(a, b); }
NORMKIT_INLINE D dsub(D a, D b) { return _mm_sub_pd(a, b); }
NORMKIT_INLINE D dfma(D a, D b, D c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
NORMKIT_INLINE D dload(const double* p) { return _mm_loadu_pd(p); }
NORMKIT_INLINE void dstore(double* p, D v) { _mm_storeu_pd(p, v); }
NORMKIT_INLINE double hsum(D v) { return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v))); }

#else  // plain C++: one "vector" of 4 floats the compiler may keep in registers

constexpr int kLanes = 4;
constexpr int64_t kVectorBytes = 16;
constexpr bool kStreams = false;
constexpr int kRegisterVectors = 4;

struct F {
  float v[4];
};
struct H {
  float v[2];
};
struct D {
  double v[2];
};

NORMKIT_INLINE F zero() { return {{0, 0, 0, 0}}; }
NORMKIT_INLINE F set1(float a) { return {{a, a, a, a}}; }
NORMKIT_INLINE F load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
NORMKIT_INLINE void store(float* p, F a) {
  for (int k = 0; k < 4; ++k) p[k] = a.v[k];
}
NORMKIT_INLINE void stream(float* p, F a) { store(p, a); }
NORMKIT_INLINE void fence() {}
NORMKIT_INLINE F load_first(const float* p, int64_t n) {
  F r = zero();
  for (int64_t k = 0; k < n; ++k) r.v[k] = p[k];
  return r;
}
NORMKIT_INLINE void store_first(float* p, F a, int64_t n) {
  for (int64_t k = 0; k < n; ++k) p[k] = a.v[k];
}
#define NORMKIT_VEC_OP(name, T, expr)   \
  NORMKIT_INLINE T name(T a, T b) {     \
    T r;                                \
    for (int k = 0; k < 4; ++k) {       \
      r.v[k] = expr;                    \
    }                                   \
    return r;                           \
  }
NORMKIT_VEC_OP(add, F, a.v[k] + b.v[k])
NORMKIT_VEC_OP(sub, F, a.v[k] - b.v[k])
NORMKIT_VEC_OP(mul, F, a.v[k] * b.v[k])
#undef NORMKIT_VEC_OP
NORMKIT_INLINE F fma(F a, F b, F c) { return add(mul(a, b), c); }

NORMKIT_INLINE H load_half(const float* p) { return {{p[0], p[1]}}; }
NORMKIT_INLINE H add_half(H a, H b) { return {{a.v[0] + b.v[0], a.v[1] + b.v[1]}}; }
NORMKIT_INLINE D widen(H a) { return {{a.v[0], a.v[1]}}; }
NORMKIT_INLINE D widen_lo(F a) { return {{a.v[0], a.v[1]}}; }
NORMKIT_INLINE D widen_hi(F a) { return {{a.v[2], a.v[3]}}; }

NORMKIT_INLINE D dzero() { return {{0, 0}}; }
NORMKIT_INLINE D dset1(double a) { return {{a, a}}; }
NORMKIT_INLINE D dadd(D a, D b) { return {{a.v[0] + b.v[0], a.v[1] + b.v[1]}}; }
NORMKIT_INLINE D dsub(D a, D b) { return {{a.v[0] - b.v[0], a.v[1] - b.v[1]}}; }
NORMKIT_INLINE D dfma(D a, D b, D c) { return dadd({{a.v[0] * b.v[0], a.v[1] * b.v[1]}}, c); }
NORMKIT_INLINE D dload(const double* p) { return {{p[0], p[1]}}; }
NORMKIT_INLINE void dstore(double* p, D a) { p[0] = a.v[0], p[1] = a.v[1]; }
NORMKIT_INLINE double hsum(D a) { return a.v[0] + a.v[1]; }

#endif

}  // namespace vec
NORMKIT_TIER_END
}  // namespace normkit
