// Moments over contiguous runs: LayerNorm and RMSNorm rows, GroupNorm and InstanceNorm
// channels-first groups, BatchNorm channels-first planes. RMSNorm is the same reduction without
// centring (kCentre = false: no shift, sums of squares only). The fused residual add is a pre-op
// of the reads: the run reduced is a + b (float32, rounded once, as PyTorch's a + b), computed
// on the fly here and again in the apply (kernels/apply.h), which is where the sum is written;
// nothing is stored before the statistics are known, so the sum may overwrite a or b.
//
// Written once over the vector layer (kernels/vec/), compiled per tier. The primitives are
// collected in Rows (part of the tier's Tier, kernels/tiers.h); the helpers at the end build on
// them.
#pragma once

#include <cstdint>

#include "kernels/moments.h"
#include "kernels/simd.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"
#include "kernels/vec/vec.h"

namespace normkit {
NORMKIT_TIER_BEGIN

// What a run kernel reads, element by element or a vector at a time: the values themselves, or
// the residual sum a + b. load_first reads nothing past its n lanes; prefetch asks for the line
// into L2 (prefetcht1: see kPrefetchAheadValues in kernels/tiling.h).
struct Values {
  const float* x;
  NORMKIT_INLINE float operator[](int64_t i) const { return x[i]; }
  NORMKIT_INLINE Values after(int64_t i) const { return {x + i}; }
  NORMKIT_INLINE vec::F load(int64_t i) const { return vec::load(x + i); }
  NORMKIT_INLINE vec::F load_first(int64_t i, int64_t n) const { return vec::load_first(x + i, n); }
  NORMKIT_INLINE vec::H load_half(int64_t i) const { return vec::load_half(x + i); }
  NORMKIT_INLINE void prefetch(int64_t i) const { __builtin_prefetch(x + i, 0, 2); }
};
struct SumOf {
  const float* a;
  const float* b;
  NORMKIT_INLINE float operator[](int64_t i) const { return a[i] + b[i]; }
  NORMKIT_INLINE SumOf after(int64_t i) const { return {a + i, b + i}; }
  NORMKIT_INLINE vec::F load(int64_t i) const {
    return vec::add(vec::load(a + i), vec::load(b + i));
  }
  NORMKIT_INLINE vec::F load_first(int64_t i, int64_t n) const {
    return vec::add(vec::load_first(a + i, n), vec::load_first(b + i, n));
  }
  NORMKIT_INLINE vec::H load_half(int64_t i) const {
    return vec::add_half(vec::load_half(a + i), vec::load_half(b + i));
  }
  NORMKIT_INLINE void prefetch(int64_t i) const {
    __builtin_prefetch(a + i, 0, 2);
    __builtin_prefetch(b + i, 0, 2);
  }
};

// Exact shifted sums of a run (of values or of residual sums), in double: four pairs of
// accumulators hide the add latency, so an L1-resident row is reduced faster than memory
// delivers it. Each half vector of floats is widened as it is loaded (no shuffle).
template <bool kCentre, class Src>
NORMKIT_INLINE void exact_run_sums(Src x, int64_t n, double shift, ShiftedSums& acc) {
  using namespace vec;
  constexpr int64_t kHalf = kLanes / 2;
  const D sh = dset1(shift);
  D s[4], q[4];
  for (int k = 0; k < 4; ++k) s[k] = q[k] = dzero();
  int64_t i = 0;
  for (; i + 4 * kHalf <= n; i += 4 * kHalf) {
    for (int k = 0; k < 4; ++k) {
      const D d = dsub(widen(x.load_half(i + kHalf * k)), sh);
      if constexpr (kCentre) s[k] = dadd(s[k], d);
      q[k] = dfma(d, d, q[k]);
    }
  }
  for (; i + kHalf <= n; i += kHalf) {
    const D d = dsub(widen(x.load_half(i)), sh);
    if constexpr (kCentre) s[0] = dadd(s[0], d);
    q[0] = dfma(d, d, q[0]);
  }
  double s1 = 0, s2 = 0;
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    s1 += d;
    s2 += d * d;
  }
  if constexpr (kCentre) acc.s1 += hsum(dadd(dadd(s[0], s[1]), dadd(s[2], s[3]))) + s1;
  acc.s2 += hsum(dadd(dadd(q[0], q[1]), dadd(q[2], q[3]))) + s2;
}

// The float partials of the fast sums: (x - shift) and its square summed in float over a block
// of kFloatValuesPerLane values per lane, then widened and added in double.
template <bool kCentre>
struct BlockSums {
  vec::D s_lo, s_hi, q_lo, q_hi;
  vec::F sa, sb, qa, qb;

  NORMKIT_INLINE BlockSums() {
    s_lo = s_hi = q_lo = q_hi = vec::dzero();
    sa = sb = qa = qb = vec::zero();
  }
  // d0 and d1: two vectors of shifted values.
  NORMKIT_INLINE void add(vec::F d0, vec::F d1) {
    if constexpr (kCentre) {
      sa = vec::add(sa, d0);
      sb = vec::add(sb, d1);
    }
    qa = vec::fma(d0, d0, qa);
    qb = vec::fma(d1, d1, qb);
  }
  NORMKIT_INLINE void end_block() {
    if constexpr (kCentre) {
      const vec::F s = vec::add(sa, sb);
      s_lo = vec::dadd(s_lo, vec::widen_lo(s));
      s_hi = vec::dadd(s_hi, vec::widen_hi(s));
      sa = sb = vec::zero();
    }
    const vec::F q = vec::add(qa, qb);
    q_lo = vec::dadd(q_lo, vec::widen_lo(q));
    q_hi = vec::dadd(q_hi, vec::widen_hi(q));
    qa = qb = vec::zero();
  }
  NORMKIT_INLINE void add_to(ShiftedSums& acc) const {
    if constexpr (kCentre) acc.s1 += vec::hsum(vec::dadd(s_lo, s_hi));
    acc.s2 += vec::hsum(vec::dadd(q_lo, q_hi));
  }
};

// Values per block of the fast sums: every lane, kFloatValuesPerLane each.
constexpr int64_t kBlockValues = vec::kLanes * kFloatValuesPerLane;

template <bool kCentre>
NORMKIT_INLINE vec::F centred(vec::F v, vec::F shift) {
  if constexpr (kCentre) return vec::sub(v, shift);
  return v;
}

// Faster shifted sums for the statistics of long runs: (x - shift) and its square are summed in
// float over kFloatValuesPerLane values per lane, then each partial is widened and added in
// double. That halves the arithmetic of exact_run_sums. The float partials lose accuracy only
// when the shift is far from the mean (relative to the spread), when squares overflow
// (|x - shift| > 1e19) or underflow (|x - shift| < 1e-19); trust_fast_sums() detects each case
// and the caller redoes the run exactly. `shift` must be a value of the data (so constant runs
// give 0).
template <bool kCentre, class Src>
NORMKIT_INLINE void fast_run_sums(Src x, int64_t n, float shift, ShiftedSums& acc) {
  const vec::F sh = vec::set1(shift);
  BlockSums<kCentre> sums;
  int64_t i = 0;
  for (; i + kBlockValues <= n; i += kBlockValues) {
    for (int64_t k = 0; k < kBlockValues; k += 2 * vec::kLanes) {
      sums.add(centred<kCentre>(x.load(i + k), sh),
               centred<kCentre>(x.load(i + k + vec::kLanes), sh));
    }
    sums.end_block();
  }
  sums.add_to(acc);
  if (i < n) exact_run_sums<kCentre>(x.after(i), n - i, static_cast<double>(shift), acc);
}

// The tier's row primitives, by the names the drivers use.
struct Rows {
  // The fast sums are float partials: callers check them with trust_fast_sums.
  static constexpr bool kFastSumsInexact = true;

  template <bool kCentre>
  NORMKIT_INLINE static void run_sums(const float* x, int64_t n, double shift, ShiftedSums& acc) {
    exact_run_sums<kCentre>(Values{x}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_INLINE static void run_sums_fast(const float* x, int64_t n, float shift,
                                           ShiftedSums& acc) {
    fast_run_sums<kCentre>(Values{x}, n, shift, acc);
  }
  // The same over the run a + b.
  template <bool kCentre>
  NORMKIT_INLINE static void add_run_sums(const float* a, const float* b, int64_t n, double shift,
                                          ShiftedSums& acc) {
    exact_run_sums<kCentre>(SumOf{a, b}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_INLINE static void add_run_sums_fast(const float* a, const float* b, int64_t n,
                                               float shift, ShiftedSums& acc) {
    fast_run_sums<kCentre>(SumOf{a, b}, n, shift, acc);
  }
};

// The sums of one run and the shift they are taken about.
struct RunMoments {
  ShiftedSums sums;
  double shift = 0;
};

// Sums of a run, fast where they can be trusted, else exact.
template <class T, bool kCentre>
NORMKIT_INLINE RunMoments run_moments(const float* x, int64_t n) {
  const float shift = kCentre ? pick_shift(x, n) : 0.0f;
  ShiftedSums acc;
  T::template run_sums_fast<kCentre>(x, n, shift, acc);
  if (T::kFastSumsInexact && !trust_fast_sums<kCentre>(acc, n)) {
    acc = ShiftedSums{};
    T::template run_sums<kCentre>(x, n, shift, acc);
  }
  return {acc, shift};
}

// run_moments of the run a + b.
template <class T, bool kCentre>
NORMKIT_INLINE RunMoments add_run_moments(const float* a, const float* b, int64_t n) {
  float shift = 0.0f;
  if constexpr (kCentre) {
    shift = median_of_first_three(n, [a, b](int64_t k) { return a[k] + b[k]; });
  }
  ShiftedSums acc;
  T::template add_run_sums_fast<kCentre>(a, b, n, shift, acc);
  if (T::kFastSumsInexact && !trust_fast_sums<kCentre>(acc, n)) {
    acc = ShiftedSums{};
    T::template add_run_sums<kCentre>(a, b, n, shift, acc);
  }
  return {acc, shift};
}

NORMKIT_TIER_END
}  // namespace normkit
