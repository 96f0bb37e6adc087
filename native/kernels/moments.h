// The running sums every statistic is built from, and the choice of their shift.
//
// Numerics: sums are kept in double over values shifted by one value of the group (`shift`).
// The shift removes a large common offset (mean 1e4, spread 1e-2) before squaring, so
// E[d^2] - E[d]^2 does not cancel; double squares do not overflow for floats near 1e19 or the
// float maximum, nor underflow for denormals. Sums with one shared shift merge across threads,
// runs and channels by plain addition.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/simd.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

struct ShiftedSums {
  double s1 = 0;  // sum of (x - shift); unused without centring (RMSNorm)
  double s2 = 0;  // sum of (x - shift)^2
  ShiftedSums& operator+=(const ShiftedSums& o) {
    s1 += o.s1;
    s2 += o.s2;
    return *this;
  }
};

// The one merge of partial sums (threads', pieces' or channels'), all taken about the same
// shift: n partials `stride` apart.
NORMKIT_INLINE ShiftedSums merge_partials(const ShiftedSums* parts, int64_t n, int64_t stride = 1) {
  ShiftedSums acc;
  for (int64_t i = 0; i < n; ++i) acc += parts[i * stride];
  return acc;
}

// A shift for the shifted sums: the median of the first three values (the first when fewer),
// `at(k)` giving the k-th value of the group. It is a value of the data, so a constant group sums
// exact zeros, and it is rarely far from the mean, which the float partials of the fast sums
// need.
// A non-finite pick becomes 0, so a group holding +Inf keeps the mean Inf that PyTorch reports
// rather than Inf - Inf = NaN.
template <typename At>
NORMKIT_INLINE float median_of_first_three(int64_t n, At at) {
  float m = at(0);
  if (n >= 3) {
    const float a = m, b = at(1), c = at(2);
    m = std::max(std::min(a, b), std::min(std::max(a, b), c));
  }
  return std::isfinite(m) ? m : 0.0f;
}

NORMKIT_INLINE float pick_shift(const float* x, int64_t n) {
  return median_of_first_three(n, [x](int64_t k) { return x[k]; });
}

// Whether sums from a fast (float-partial) accumulation are as good as exact ones for
// normalization. Centred: finite, a variance well above underflow, and a shift within 3
// standard deviations of the mean (the partials' error grows with (shift - mean)^2). Without
// centring (sums of squares): finite and a mean square well above the float squares' underflow,
// so the squares that underflowed are negligible. Callers redo untrusted sums exactly.
template <bool kCentre>
NORMKIT_INLINE bool trust_fast_sums(const ShiftedSums& acc, int64_t count) {
  // Multiplying by 1/count (hoisted out of a caller's row loop) spares a division per row.
  const double inv = 1.0 / static_cast<double>(count);
  if constexpr (kCentre) {
    const double m1 = acc.s1 * inv;
    const double var = acc.s2 * inv - m1 * m1;
    return std::isfinite(acc.s2) && var > 1e-30 && m1 * m1 <= 9 * var;
  } else {
    return std::isfinite(acc.s2) && acc.s2 * inv > 1e-30;
  }
}

NORMKIT_TIER_END
}  // namespace normkit
