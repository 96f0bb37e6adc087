// Moments over contiguous runs: LayerNorm and RMSNorm rows, GroupNorm and InstanceNorm
// channels-first groups, BatchNorm channels-first planes. RMSNorm is the same reduction without
// centring (kCentre = false: no shift, sums of squares only). The fused residual add is a pre-op
// of the reads: the run reduced is a + b (float32, rounded once, as PyTorch's a + b), computed
// on the fly here and again in the apply (kernels/apply.h), which is where the sum is written;
// nothing is stored before the statistics are known, so the sum may overwrite a or b.
//
// The primitives come per tier (kernels/tiers.h): PortableRows here, Avx512Rows in
// kernels/rows_avx512.h, with the same names. The tier-generic helpers at the end build on them.
#pragma once

#include <cstdint>

#include "kernels/moments.h"
#include "kernels/simd.h"

namespace normkit {

// What a run kernel reads, element by element: the values themselves, or a residual sum.
struct Values {
  const float* x;
  NORMKIT_INLINE float operator[](int64_t i) const { return x[i]; }
};
struct SumOf {
  const float* a;
  const float* b;
  NORMKIT_INLINE float operator[](int64_t i) const { return a[i] + b[i]; }
};

struct PortableRows {
  // The portable "fast" sums are the exact ones: nothing to check.
  static constexpr bool kFastSumsInexact = false;

  // Adds (x[i] - shift) and its square over a run into acc. Several independent accumulators
  // hide the add latency, so an L1-resident row is reduced faster than memory delivers it.
  template <bool kCentre, class Src>
  NORMKIT_INLINE static void sums_of(Src x, int64_t n, double shift, ShiftedSums& acc) {
    constexpr int kLanes = 32;
    double a1[kLanes] = {}, a2[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
      for (int j = 0; j < kLanes; ++j) {
        const double d = static_cast<double>(x[i + j]) - shift;
        if constexpr (kCentre) a1[j] += d;
        a2[j] += d * d;
      }
    }
    double s1 = 0, s2 = 0;
    for (; i < n; ++i) {
      const double d = static_cast<double>(x[i]) - shift;
      s1 += d;
      s2 += d * d;
    }
#pragma omp simd reduction(+ : s1, s2)
    for (int j = 0; j < kLanes; ++j) {
      s1 += a1[j];
      s2 += a2[j];
    }
    if constexpr (kCentre) acc.s1 += s1;
    acc.s2 += s2;
  }

  template <bool kCentre>
  NORMKIT_INLINE static void run_sums(const float* x, int64_t n, double shift, ShiftedSums& acc) {
    sums_of<kCentre>(Values{x}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_INLINE static void run_sums_fast(const float* x, int64_t n, float shift,
                                           ShiftedSums& acc) {
    sums_of<kCentre>(Values{x}, n, shift, acc);
  }
  // The same over the run a + b.
  template <bool kCentre>
  NORMKIT_INLINE static void add_run_sums(const float* a, const float* b, int64_t n, double shift,
                                          ShiftedSums& acc) {
    sums_of<kCentre>(SumOf{a, b}, n, shift, acc);
  }
  template <bool kCentre>
  NORMKIT_INLINE static void add_run_sums_fast(const float* a, const float* b, int64_t n,
                                               float shift, ShiftedSums& acc) {
    sums_of<kCentre>(SumOf{a, b}, n, shift, acc);
  }
};

// The sums of one run and the shift they are taken about.
struct RunMoments {
  ShiftedSums sums;
  double shift = 0;
};

// Sums of a run, fast where the tier has fast sums and they can be trusted, else exact.
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

}  // namespace normkit
