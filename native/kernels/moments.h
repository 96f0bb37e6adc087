// Statistics and the normalize step shared by every op that reduces a row or a channel
// (LayerNorm rows, BatchNorm channels; GroupNorm and RMSNorm later).
//
// Numerics: sums are kept in double over values shifted by one sample of the group (`shift`).
// The shift removes a large common offset (mean 1e4, spread 1e-2) before squaring, so
// E[d^2] - E[d]^2 does not cancel; double squares do not overflow for floats near 1e19.
// Shifted sums with one shared shift merge across threads by plain addition.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/simd.h"

namespace normkit {

struct ShiftedSums {
  double s1 = 0;  // sum of (x - shift)
  double s2 = 0;  // sum of (x - shift)^2
};

// Accumulates (x[i] - shift) over a contiguous run. Several independent vector accumulators
// hide the add latency, so an L1-resident row is reduced faster than memory delivers it.
NORMKIT_INLINE void accumulate_shifted(const float* x, int64_t n, double shift, ShiftedSums& acc) {
  constexpr int kLanes = 32;
  double a1[kLanes] = {}, a2[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - shift;
      a1[j] += d;
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
  acc.s1 += s1;
  acc.s2 += s2;
}

// A shift for the shifted sums: the median of the first three values (one value when fewer).
// It is a value of the data, so a constant group sums exact zeros, and it is rarely far from
// the mean, which the float partials of the fast AVX-512 sums need.
NORMKIT_INLINE float pick_shift(const float* x, int64_t n, int64_t stride) {
  if (n < 3) return x[0];
  const float a = x[0], b = x[stride], c = x[2 * stride];
  return std::max(std::min(a, b), std::min(std::max(a, b), c));
}

struct GroupStats {
  double mean = 0;
  double var = 0;  // biased
};

NORMKIT_INLINE GroupStats finish_moments(const ShiftedSums& acc, double shift, int64_t count) {
  GroupStats st;
  if (count <= 0) return st;
  const double m1 = acc.s1 / static_cast<double>(count);
  st.mean = shift + m1;
  const double var = acc.s2 / static_cast<double>(count) - m1 * m1;
  // A non-finite value anywhere in the group makes the variance NaN, so the whole group's output
  // is NaN; the mean stays what it is (Inf for a group holding +Inf), as in PyTorch.
  st.var = std::isfinite(var) && std::isfinite(st.mean) ? (var > 0 ? var : 0.0)
                                                        : std::numeric_limits<double>::quiet_NaN();
  return st;
}

// The apply step of one group: y = (x - hi) * scale + offset, with hi the float nearest the
// mean. x - hi is exact for data near the mean (Sterbenz), so data with a large common offset
// (mean 1e4, spread 1e-2) keeps its digits; the rest of the mean, (mean - hi) * scale, is folded
// into offset in double. The plain x * scale + shift form would cancel those digits away.
struct Affine {
  float hi;
  float scale;
  float offset;
};

// y = (x - mean) * scale + shift in the form above.
NORMKIT_INLINE Affine affine_form(double mean, double scale, double shift) {
  const float hi = static_cast<float>(mean);
  const double lo = std::isfinite(hi) ? mean - static_cast<double>(hi) : 0.0;
  return {hi, static_cast<float>(scale), static_cast<float>(shift - lo * scale)};
}

// y[i] = ((x[i] - hi) * scale + offset) * w[i] + b[i]: a LayerNorm row. Template flags remove
// the per-element branch on absent weight or bias.
template <bool kWeight, bool kBias>
NORMKIT_INLINE void apply_row(const float* x, float* y, int64_t n, Affine f, const float* w,
                              const float* b) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float v = (x[i] - f.hi) * f.scale + f.offset;
    if constexpr (kWeight) v *= w[i];
    if constexpr (kBias) v += b[i];
    y[i] = v;
  }
}

// y[i] = (x[i] - hi) * scale + offset: a BatchNorm plane (one channel of one sample).
NORMKIT_INLINE void apply_plane(const float* x, float* y, int64_t n, Affine f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - f.hi) * f.scale + f.offset;
}

// y[c] = (x[c] - hi[c]) * scale[c] + offset[c]: one row of channels-last data.
NORMKIT_INLINE void apply_channels(const float* x, float* y, int64_t c, const float* hi,
                                   const float* scale, const float* offset) {
#pragma omp simd
  for (int64_t i = 0; i < c; ++i) y[i] = (x[i] - hi[i]) * scale[i] + offset[i];
}

}  // namespace normkit
