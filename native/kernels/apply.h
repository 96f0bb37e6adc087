// The apply step, one family for every op: y = (x - hi) * scale + offset, with hi the float
// nearest the mean. x - hi is exact for data near the mean (Sterbenz), so data with a large
// common offset (mean 1e4, spread 1e-2) keeps its digits; the rest of the mean,
// (mean - hi) * scale, is folded into offset in double. The plain x * scale + shift form would
// cancel those digits away.
//
// The parameters come three ways: per element (LayerNorm's weight and bias over a row, applied
// after the affine step), per channel (one Affine per run: BatchNorm, GroupNorm, InstanceNorm
// channels-first) and periodic (channels-last rows, the channel parameters repeating). The
// residual add is an optional pre-op (add_apply_run): the apply reads a + b, as the row
// reduction did (kernels/rows.h), and writes the sum beside the output. Writing the sum here,
// once, lets it stream to memory like the output (4 memory streams where add, then LayerNorm,
// take 6 with the add's read-for-ownership), and lets it overwrite a or b.
//
// PortableApply here and Avx512Apply in kernels/apply_avx512.h are the per-tier primitives; the
// whole-tensor drivers at the end are defined in apply.cc.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <numeric>

#include "kernels/rows.h"
#include "kernels/scratch.h"
#include "kernels/simd.h"
#include "kernels/tiling.h"

namespace normkit {

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

// Channel c's form of (x - mean) * rstd * w[c] + b[c]; w and b may be null.
NORMKIT_INLINE Affine channel_form(double mean, double rstd, const float* w, const float* b,
                                   int64_t c) {
  return affine_form(mean, w ? rstd * w[c] : rstd, b ? b[c] : 0.0);
}

// ---- the exact slow path ---------------------------------------------------------------------
// The float form above gives the float64 formula's result (to the conformance tolerance) unless
// a magnitude is out of float's reach, which ordinary data never is:
//  - |mean| above 1e31: x - hi can overflow for finite x (3e38 beside -3e38); below it cannot
//    (x - hi rounds to at most FLT_MAX: half an ulp there is 1e31);
//  - a scale that float cannot hold: infinite (zero variance with eps 0: the formula gives
//    +-Inf and NaN where x == mean, the form NaN everywhere), past FLT_MAX (rstd of denormal
//    data with eps 0) or under FLT_MIN (rstd of data near the float maximum: a subnormal scale
//    keeps too few digits, and one that rounds to 0 loses the result).
// Such a statistic's values are computed in double instead, one element at a time: rare, and
// decided before its output is written, so an in-place call still reads its input. A NaN scale
// (a NaN or infinity in the data) stays on the fast path: NaN either way.
NORMKIT_INLINE bool needs_exact(double mean, double scale) {
  const double a = std::fabs(scale);
  return std::fabs(mean) > 1e31 || a >= static_cast<double>(FLT_MAX) ||
         (a > 0 && a < static_cast<double>(FLT_MIN));
}

// y[i] = (x[i] - mean) * rstd * w[i] + b[i] in double (the reference's order); w, b per element
// and may be null. y may equal x.
NORMKIT_INLINE void exact_run(const float* x, float* y, int64_t n, double mean, double rstd,
                              const float* w, const float* b) {
  for (int64_t i = 0; i < n; ++i) {
    double v = (static_cast<double>(x[i]) - mean) * rstd;
    if (w) v *= w[i];
    if (b) v += b[i];
    y[i] = static_cast<float>(v);
  }
}

// exact_run of the residual sum a + b (rounded to float, as the fast path and PyTorch add),
// writing the sum too. sum and y may each equal a or b.
NORMKIT_INLINE void exact_add_run(const float* a, const float* b, float* sum, float* y, int64_t n,
                                  double mean, double rstd, const float* w, const float* bias) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = a[i] + b[i];
    sum[i] = s;
    double v = (static_cast<double>(s) - mean) * rstd;
    if (w) v *= w[i];
    if (bias) v += bias[i];
    y[i] = static_cast<float>(v);
  }
}

// exact_run with channel c's weight and bias for the whole run.
NORMKIT_INLINE void exact_channel_run(const float* x, float* y, int64_t n, double mean, double rstd,
                                      const float* w, const float* b, int64_t c) {
  const double wc = w ? w[c] : 1.0, bc = b ? b[c] : 0.0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>((static_cast<double>(x[i]) - mean) * rstd * wc + bc);
  }
}

// Whether channel c's statistic (mean, rstd) needs the exact path.
NORMKIT_INLINE bool channel_needs_exact(double mean, double rstd, const float* w, int64_t c) {
  return needs_exact(mean, w ? rstd * w[c] : rstd);
}

// Per-channel parameters: three arrays of `channels` floats in one scratch block.
class ChannelAffine {
 public:
  explicit ChannelAffine(int64_t c) : channels_(c), store_(static_cast<size_t>(3 * c)) {}
  int64_t channels() const { return channels_; }
  const float* hi() const { return store_.data(); }
  const float* scale() const { return store_.data() + channels_; }
  const float* offset() const { return store_.data() + 2 * channels_; }
  Affine operator[](int64_t c) const { return {hi()[c], scale()[c], offset()[c]}; }
  // Channel c normalized with mean[c / group_channels] and rstd[c / group_channels], as
  // channel_form in a loop the compiler can vectorize (small calls would otherwise spend their
  // time here).
  // `mean`, `rstd`, `w` and `b` must outlive the applies when exact() is true.
  void fill(const double* mean, const double* rstd, int64_t group_channels, const float* w,
            const float* b) {
    float *hi = store_.data(), *scale = hi + channels_, *offset = hi + 2 * channels_;
    int exact = 0;
#pragma omp simd reduction(| : exact)
    for (int64_t c = 0; c < channels_; ++c) {
      const int64_t g = group_channels == 1 ? c : c / group_channels;
      const double m = mean[g];
      const double sc = w ? rstd[g] * w[c] : rstd[g];
      const float h = static_cast<float>(m);
      const double lo = m - static_cast<double>(h);
      hi[c] = h;
      scale[c] = static_cast<float>(sc);
      offset[c] = static_cast<float>((b ? b[c] : 0.0) - (std::isfinite(lo) ? lo : 0.0) * sc);
      exact |= needs_exact(m, sc) ? 1 : 0;
    }
    exact_ = exact != 0;
    mean_ = mean, rstd_ = rstd, group_channels_ = group_channels, w_ = w, b_ = b;
  }

  // Whether some channel needs the exact path (needs_exact); the applies then take it for all.
  bool exact() const { return exact_; }
  // Rows [begin, end) of channels-last data, in double (the exact path).
  void apply_exact_rows(const float* x, float* y, int64_t begin, int64_t end) const {
    const int64_t c = channels_;
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t i = 0; i < c; ++i) apply_exact(x + r * c + i, y + r * c + i, 1, i);
    }
  }
  // A run of n values of channel c, in double (the exact path).
  void apply_exact(const float* x, float* y, int64_t n, int64_t c) const {
    const int64_t g = group_channels_ == 1 ? c : c / group_channels_;
    exact_channel_run(x, y, n, mean_[g], rstd_[g], w_, b_, c);
  }

 private:
  int64_t channels_;
  Scratch<float, 3 * kInlineChannels> store_;
  bool exact_ = false;
  const double* mean_ = nullptr;
  const double* rstd_ = nullptr;
  int64_t group_channels_ = 1;
  const float* w_ = nullptr;
  const float* b_ = nullptr;
};

// Channels-last parameters repeated over a period that is a multiple of both the channel count
// and the 16-float vector, plus 16 values of wrap-around, so an apply can run over a flat range
// of rows without per-row tails: a vector starting anywhere in the period reads straight on.
class PeriodicAffine {
 public:
  static int64_t period_for(int64_t c) { return c * (16 / std::gcd<int64_t>(c, 16)); }
  // Worth building for `values` values of `c` channels (see kMaxPeriod, kMinPeriodsExpanded).
  static bool worth_it(int64_t c, int64_t values) {
    return period_for(c) <= kMaxPeriod && values >= kMinPeriodsExpanded * period_for(c);
  }

  explicit PeriodicAffine(const ChannelAffine& a)
      : period_(period_for(a.channels())), store_(static_cast<size_t>(3 * (period_ + 16))) {
    const int64_t c = a.channels(), n = period_ + 16;
    float* d = store_.data();
    for (int64_t i = 0, ch = 0; i < n; ++i, ch = ch + 1 == c ? 0 : ch + 1) {
      d[i] = a.hi()[ch], d[n + i] = a.scale()[ch], d[2 * n + i] = a.offset()[ch];
    }
  }
  int64_t period() const { return period_; }
  const float* hi() const { return store_.data(); }
  const float* scale() const { return store_.data() + period_ + 16; }
  const float* offset() const { return store_.data() + 2 * (period_ + 16); }

 private:
  int64_t period_;
  Scratch<float, 3 * (kInlineChannels + 16)> store_;
};

struct PortableApply {
  // Whether the tier writes large outputs with streaming stores (kStream is ignored otherwise).
  static constexpr bool kHasStreamingStores = false;
  NORMKIT_INLINE static void fence() {}

  // y[i] = ((x[i] - hi) * scale + offset) * w[i] + b[i] over a run. Template flags remove the
  // per-element branch on absent weight or bias. y may equal x.
  template <bool kWeight, bool kBias, bool kStream>
  NORMKIT_INLINE static void apply_run(const float* x, float* y, int64_t n, Affine f,
                                       const float* w, const float* b) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      float v = (x[i] - f.hi) * f.scale + f.offset;
      if constexpr (kWeight) v *= w[i];
      if constexpr (kBias) v += b[i];
      y[i] = v;
    }
  }

  // apply_run of the residual sum a + b, writing the sum to `sum` on the way (kStreamSum: with
  // streaming stores where the tier has them). sum and y may each equal a or b, not each other.
  template <bool kWeight, bool kBias, bool kStream, bool kStreamSum>
  NORMKIT_INLINE static void add_apply_run(const float* a, const float* b, float* sum, float* y,
                                           int64_t n, Affine f, const float* w, const float* bias) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const float s = a[i] + b[i];
      sum[i] = s;
      float v = (s - f.hi) * f.scale + f.offset;
      if constexpr (kWeight) v *= w[i];
      if constexpr (kBias) v += bias[i];
      y[i] = v;
    }
  }

  // apply_run of `cur` while adding the sums of `next` (a run of the same length) into acc; the
  // AVX-512 tier interleaves the two so the statistics ride along with the output's traffic.
  template <bool kStream>
  NORMKIT_INLINE static void apply_and_accumulate(const float* cur, float* y, int64_t n, Affine f,
                                                  const float* next, float shift,
                                                  ShiftedSums& acc) {
    apply_run<false, false, kStream>(cur, y, n, f, nullptr, nullptr);
    PortableRows::run_sums<true>(next, n, shift, acc);
  }

  // Channels-last apply over the flat elements [begin, end), the parameters repeating with the
  // period of `a`.
  template <bool kStream>
  NORMKIT_INLINE static void apply_periodic(const float* x, float* y, int64_t begin, int64_t end,
                                            const PeriodicAffine& a) {
    const int64_t period = a.period();
    const float *hi = a.hi(), *scale = a.scale(), *offset = a.offset();
    for (int64_t i = begin, p = begin % period; i < end; p = 0) {
      const int64_t n = std::min(end - i, period - p);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        y[i + j] = (x[i + j] - hi[p + j]) * scale[p + j] + offset[p + j];
      }
      i += n;
    }
  }
};

// Rows [begin, end) of `c` channels, one row at a time (channels-last data whose period is too
// long to expand): y[c] = (x[c] - hi[c]) * scale[c] + offset[c]. Tier-generic: the loop is
// vectorized for whichever target it is compiled in.
NORMKIT_INLINE void apply_rows_of_channels(const float* x, float* y, int64_t begin, int64_t end,
                                           const ChannelAffine& a) {
  const int64_t c = a.channels();
  const float *hi = a.hi(), *scale = a.scale(), *offset = a.offset();
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
#pragma omp simd
    for (int64_t i = 0; i < c; ++i) yr[i] = (xr[i] - hi[i]) * scale[i] + offset[i];
  }
}

// T's apply_run for whichever of weight and bias are present (a branch per call, not per element).
template <class T, bool kStream>
NORMKIT_INLINE void apply_run_with(const float* x, float* y, int64_t n, Affine f, const float* w,
                                   const float* b) {
  if (w && b) return T::template apply_run<true, true, kStream>(x, y, n, f, w, b);
  if (w) return T::template apply_run<true, false, kStream>(x, y, n, f, w, b);
  if (b) return T::template apply_run<false, true, kStream>(x, y, n, f, w, b);
  T::template apply_run<false, false, kStream>(x, y, n, f, w, b);
}

// ---- whole-tensor drivers (apply.cc): threads and tier chosen here ----------------------------

// Whether an op reading `bytes_in` and writing `bytes_out` writes with streaming stores (the
// AVX-512 tier only; kernels/simd.h has the rule).
bool stream_output(int64_t bytes_in, int64_t bytes_out);

// `rows` channels-last rows of a.channels() values, on `threads` threads.
void apply_channels_last(const float* x, float* y, int64_t rows, const ChannelAffine& a,
                         int threads, bool stream);

// `batch` samples of channels-first planes (a.channels() planes of `spatial` values each).
void apply_channels_first(const float* x, float* y, int64_t batch, int64_t spatial,
                          const ChannelAffine& a, int threads, bool stream);

// Normalizes with given per-channel statistics (BatchNorm and InstanceNorm eval): channel c is
// (x - mean[c]) * rstd[c] * w[c] + b[c] in every sample. Either layout; w and b may be null.
void apply_channel_stats(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                         bool channels_last, const double* mean, const double* rstd, const float* w,
                         const float* b);

}  // namespace normkit
