// Sums to statistics: mean and 1/sqrt(var + eps). The only place that handles eps, so every op
// rounds the same way.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/moments.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

struct Stats {
  double mean = 0;  // 0 without centring (RMSNorm)
  double var = 0;   // biased variance; the mean square without centring
  double rstd = 0;  // 1 / sqrt(var + eps)
};

NORMKIT_INLINE double rstd_of(double var, double eps) { return 1.0 / std::sqrt(var + eps); }

// The statistics of an empty group: NaN, as a mean over nothing is.
NORMKIT_INLINE Stats empty_stats() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, nan, nan};
}

// Centred (LayerNorm, BatchNorm, GroupNorm, InstanceNorm). A non-finite value anywhere in the
// group makes the variance NaN, so the whole group's output is NaN; the mean stays what it is
// (Inf for a group holding +Inf), as in PyTorch.
NORMKIT_INLINE Stats finish_centred(const ShiftedSums& acc, double shift, int64_t count,
                                    double eps) {
  if (count <= 0) return empty_stats();
  // As in trust_fast_sums: the same products, so the compiler shares them.
  const double inv = 1.0 / static_cast<double>(count);
  const double m1 = acc.s1 * inv;
  Stats st;
  st.mean = shift + m1;
  const double var = acc.s2 * inv - m1 * m1;
  st.var = std::isfinite(var) && std::isfinite(st.mean) ? (var > 0 ? var : 0.0)
                                                        : std::numeric_limits<double>::quiet_NaN();
  st.rstd = rstd_of(st.var, eps);
  return st;
}

// Without centring (RMSNorm): PyTorch's x * rsqrt(mean(x^2) + eps) in double. An infinity makes
// rstd 0 (so Inf * 0 = NaN for that element and 0 for the finite ones); a NaN makes it NaN.
NORMKIT_INLINE Stats finish_uncentred(const ShiftedSums& acc, int64_t count, double eps) {
  if (count <= 0) return empty_stats();
  Stats st;
  st.var = acc.s2 * (1.0 / static_cast<double>(count));
  st.rstd = rstd_of(st.var, eps);
  return st;
}

// Where a normalization records its statistics, one entry per statistic (row, channel,
// (sample, group)); each pointer may be null. save_mean / save_rstd are the float32 values the
// backward pass takes; mean / var (biased) feed the running statistics.
struct StatsOut {
  float* save_mean = nullptr;
  float* save_rstd = nullptr;
  double* mean = nullptr;
  double* var = nullptr;

  NORMKIT_INLINE void record(int64_t i, const Stats& st) const {
    if (save_mean) save_mean[i] = static_cast<float>(st.mean);
    if (save_rstd) save_rstd[i] = static_cast<float>(st.rstd);
    if (mean) mean[i] = st.mean;
    if (var) var[i] = st.var;
  }
  // Statistics [0, n) of empty groups.
  void record_empty(int64_t n) const {
    if (!save_mean && !save_rstd && !mean && !var) return;
    for (int64_t i = 0; i < n; ++i) record(i, empty_stats());
  }
};

NORMKIT_TIER_END
}  // namespace normkit
