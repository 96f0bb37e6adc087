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
// Written once over the vector layer (kernels/vec/), compiled per tier: the primitives are
// collected in Apply (part of the tier's Tier, kernels/tiers.h); the whole-tensor drivers at the
// end are defined in apply.cc.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <numeric>

#include <type_traits>

#include "kernels/rows.h"
#include "kernels/scratch.h"
#include "kernels/simd.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"
#include "kernels/vec/vec.h"

namespace normkit {
NORMKIT_TIER_BEGIN

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
    // One statistic per channel (BatchNorm, InstanceNorm) has its own loop, free of the division.
    exact_ = group_channels == 1 ? fill_range<true>(mean, rstd, 1, w, b)
                                 : fill_range<false>(mean, rstd, group_channels, w, b);
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
  template <bool kPerChannel>
  bool fill_range(const double* mean, const double* rstd, int64_t group_channels, const float* w,
                  const float* b) {
    if (w && b) return fill_range<kPerChannel, true, true>(mean, rstd, group_channels, w, b);
    if (w) return fill_range<kPerChannel, true, false>(mean, rstd, group_channels, w, b);
    if (b) return fill_range<kPerChannel, false, true>(mean, rstd, group_channels, w, b);
    return fill_range<kPerChannel, false, false>(mean, rstd, group_channels, w, b);
  }
  // Branch-free, so it vectorizes: needs_exact and affine_form's isfinite as comparisons.
  template <bool kPerChannel, bool kW, bool kB>
  bool fill_range(const double* mean, const double* rstd, int64_t group_channels, const float* w,
                  const float* b) {
    float *hi = store_.data(), *scale = hi + channels_, *offset = hi + 2 * channels_;
    int exact = 0;
#pragma omp simd reduction(| : exact)
    for (int64_t c = 0; c < channels_; ++c) {
      const int64_t g = kPerChannel ? c : c / group_channels;
      const double m = mean[g];
      const double sc = kW ? rstd[g] * static_cast<double>(w[c]) : rstd[g];
      const float h = static_cast<float>(m);
      const double lo = m - static_cast<double>(h);
      const double finite_lo = std::fabs(lo) <= DBL_MAX ? lo : 0.0;  // NaN and inf: 0
      hi[c] = h;
      scale[c] = static_cast<float>(sc);
      offset[c] = static_cast<float>((kB ? static_cast<double>(b[c]) : 0.0) - finite_lo * sc);
      const double a = std::fabs(sc);
      exact |= static_cast<int>(std::fabs(m) > 1e31) |
               static_cast<int>(a >= static_cast<double>(FLT_MAX)) |
               (static_cast<int>(a > 0) & static_cast<int>(a < static_cast<double>(FLT_MIN)));
    }
    return exact != 0;
  }

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

// One output vector: (x - hi) * scale + offset, then * w + b, * w, or + b.
template <bool kWeight, bool kBias>
NORMKIT_INLINE vec::F normalize(vec::F x, vec::F hi, vec::F scale, vec::F offset, vec::F w,
                                vec::F b) {
  const vec::F v = vec::fma(vec::sub(x, hi), scale, offset);
  if constexpr (kWeight && kBias) return vec::fma(v, w, b);
  if constexpr (kWeight) return vec::mul(v, w);
  if constexpr (kBias) return vec::add(v, b);
  return v;
}

// A store of a whole vector, streaming (non-temporal, y vector-aligned) or not.
template <bool kStream>
NORMKIT_INLINE void store_vector(float* y, vec::F v) {
  if constexpr (kStream) {
    vec::stream(y, v);
  } else {
    vec::store(y, v);
  }
}

// Prefetches, for writing, the output lines kStorePrefetchAheadValues past the kValues values
// at y that a loop is about to store (one prefetch per line, or one per call where kValues is
// less than a line: AVX2's and SSE2's single vectors; y vector-aligned, kValues whole vectors).
// Past the output's end it only prefetches: a prefetch never faults. Whether to call it:
// prefetch_output_lines (kernels/simd.h).
template <int64_t kValues>
NORMKIT_INLINE void prefetch_for_store(const float* y) {
  for (int64_t k = 0; k < kValues; k += std::max<int64_t>(kFloatsPerLine, vec::kLanes)) {
    __builtin_prefetch(y + k + kStorePrefetchAheadValues, 1, 3);
  }
}

// Elements before y's first vector-aligned address (none when y is aligned).
NORMKIT_INLINE int64_t unaligned_head(const float* y) {
  constexpr uintptr_t kMask = static_cast<uintptr_t>(vec::kVectorBytes - 1);
  return static_cast<int64_t>(
      ((vec::kVectorBytes - (reinterpret_cast<uintptr_t>(y) & kMask)) & kMask) / sizeof(float));
}

// With streaming stores, a run's last values (after its last whole aligned vector) are written
// with masked ordinary stores (apply_first), and in a contiguous output their line is also the
// next run's head. Fetched on demand at the run's end, the store that misses waits for memory
// while the streaming stores queue behind it; prefetched as the run starts, it arrives under
// cover of the run. new Float32Array outputs sit 16 bytes off a line, so every row has such a
// line: with the prefetch, LayerNorm [8192, 768] at 2 threads takes 0.81 of the time it took
// without (bench/ab.js). sum: the residual sum's output, or null.
NORMKIT_INLINE void prefetch_run_end(const float* y, const float* sum, int64_t n) {
  if (n <= 0) return;
  __builtin_prefetch(y + n - 1, 1, 3);
  if (sum) __builtin_prefetch(sum + n - 1, 1, 3);
}

// The values before y's first aligned address that a run of n values applies first (at most n;
// none for short runs without streaming stores: kAlignedRunValues).
template <bool kStream>
NORMKIT_INLINE int64_t run_head(const float* y, int64_t n) {
  if (!kStream && n < kAlignedRunValues) return 0;
  return std::min(unaligned_head(y), n);
}

// The first n (< kLanes) elements at i, with masked (first-lanes) loads and stores.
template <bool kWeight, bool kBias, class Src>
NORMKIT_INLINE void apply_first(Src x, float* sum, float* y, const float* w, const float* b,
                                int64_t i, int64_t n, vec::F hi, vec::F scale, vec::F offset) {
  const vec::F wv = kWeight ? vec::load_first(w + i, n) : vec::zero();
  const vec::F bv = kBias ? vec::load_first(b + i, n) : vec::zero();
  const vec::F v = x.load_first(i, n);
  if constexpr (std::is_same_v<Src, SumOf>) vec::store_first(sum + i, v, n);
  vec::store_first(y + i, normalize<kWeight, kBias>(v, hi, scale, offset, wv, bv), n);
}

// y = (x - hi) * scale + offset (then * w[i], + b[i]) over a contiguous run; with a residual
// sum as the source, the sum is written to `sum` on the way (streaming only when kStreamSum: it
// shares y's alignment). y (and sum) may equal a source array: each vector is read before it is
// written. Runs of at least kAlignedRunValues, and every run with kStream, are written from y's
// first vector-aligned address (streaming stores with kStream), the head and tail with masked
// stores.
template <bool kWeight, bool kBias, bool kStream, bool kStreamSum = false, class Src>
NORMKIT_INLINE void apply_src(Src x, float* sum, float* y, int64_t n, Affine f, const float* w,
                              const float* b) {
  constexpr int64_t L = vec::kLanes;
  const vec::F hi = vec::set1(f.hi), scale = vec::set1(f.scale), offset = vec::set1(f.offset);
  int64_t i = 0;
  if constexpr (kStream) prefetch_run_end(y, std::is_same_v<Src, SumOf> ? sum : nullptr, n);
  {
    const int64_t head = run_head<kStream>(y, n);
    if (head > 0 && head < n) {
      apply_first<kWeight, kBias>(x, sum, y, w, b, 0, head, hi, scale, offset);
      i = head;
    }
  }
  for (; i + L <= n; i += L) {
    const vec::F wv = kWeight ? vec::load(w + i) : vec::zero();
    const vec::F bv = kBias ? vec::load(b + i) : vec::zero();
    const vec::F v = x.load(i);
    if constexpr (std::is_same_v<Src, SumOf>) {
      if constexpr (kStreamSum) {
        store_vector<kStream>(sum + i, v);
      } else {
        vec::store(sum + i, v);
      }
    }
    store_vector<kStream>(y + i, normalize<kWeight, kBias>(v, hi, scale, offset, wv, bv));
  }
  if (i < n) apply_first<kWeight, kBias>(x, sum, y, w, b, i, n - i, hi, scale, offset);
}

// Software pipeline of consecutive runs: normalizes `cur` into y (per-element w and b; with a
// residual sum as the source, writing the sum on the way, as apply_src) while summing `next` (the
// next run, of the same length) into acc, so the statistics of one run ride along with the memory
// traffic of the previous one's output: the loop reads new data and writes results at once, as a
// copy does, instead of alternating a read-only phase and a write phase. Used for channels-first
// sets of runs and for rows (LayerNorm, RMSNorm and the fused residual forms). Same float-partial
// numerics as fast_run_sums (kCentre: the shifted sums; else sums of squares). With `ahead` > 0
// the lines `ahead` values past those of `next` being summed are prefetched into L2
// (kernels/tiling.h, kPrefetchAheadValues); past next's end, from the start of `then` (the run
// summed after next) where given, else from next's continuation (consecutive rows).
//
// kSumsFromStart: as above. Else (channels-first sets, whose statistics merge several runs
// anyway) the sums of the output's unaligned head are exact and the blocks start with the aligned
// body, so that `next` is read with aligned loads where it shares y's alignment (15% faster for
// BatchNorm training [32, 64, 56, 56] channels-first than loads a head away from alignment).
// That holds with streaming stores only (outputs larger than the cache); without them the blocks
// start at the run's start as above.
template <bool kCentre, bool kWeight, bool kBias, bool kStream, bool kStreamSum = false,
          bool kSumsFromStart = true, class Src>
NORMKIT_INLINE void pipelined_src(Src cur, float* sum, float* y, int64_t n, Affine f,
                                  const float* w, const float* b, Src next, float shift,
                                  ShiftedSums& acc, int64_t ahead = 0, const Src* then = nullptr) {
  constexpr int64_t L = vec::kLanes;
  constexpr bool kAdd = std::is_same_v<Src, SumOf>;
  const vec::F hi = vec::set1(f.hi), scale = vec::set1(f.scale), offset = vec::set1(f.offset);
  // The apply runs `h` values ahead of the sums: its head (before y's first aligned address) is
  // written first. The sums keep fast_run_sums' blocks from the run's start, so a run's
  // statistics do not depend on where its output lies (or on whether it was pipelined).
  // Here, where the whole run is still ahead; the tail's apply_src fetches the line again
  // (already in cache).
  if constexpr (kStream) prefetch_run_end(y, kAdd ? sum : nullptr, n);
  int64_t h = run_head<kStream>(y, n);
  if (h > 0) apply_src<kWeight, kBias, false>(cur, sum, y, h, f, w, b);
  // Without streaming stores the sums always keep their blocks from the run's start, so that
  // the statistics of in-cache calls depend neither on where the output lies nor on the input's
  // offset from a line (an async call may copy its input).
  if constexpr (!kSumsFromStart && kStream) {
    // Apply and sums both go on from the aligned body.
    if (h > 0) exact_run_sums<kCentre>(next, h, static_cast<double>(shift), acc);
    cur = cur.after(h), next = next.after(h), y += h, n -= h;
    if constexpr (kAdd) sum += h;
    if constexpr (kWeight) w += h;
    if constexpr (kBias) b += h;
    h = 0;
  }
  const vec::F sh = vec::set1(shift);
  BlockSums<kCentre> sums;
  int64_t i = 0;
  for (; i + h + kBlockValues <= n; i += kBlockValues) {
    if (ahead > 0) {
      for (int64_t k = i; k < i + kBlockValues; k += kFloatsPerLine) {
        const int64_t p = k + ahead;
        if (then == nullptr || p < n) {
          next.prefetch(p);
        } else {
          then->prefetch(p - n);
        }
      }
    }
    for (int64_t k = i; k < i + kBlockValues; k += 2 * L) {
      const int64_t j = k + h;
      const vec::F x0 = cur.load(j), x1 = cur.load(j + L);
      const vec::F w0 = kWeight ? vec::load(w + j) : vec::zero();
      const vec::F w1 = kWeight ? vec::load(w + j + L) : vec::zero();
      const vec::F b0 = kBias ? vec::load(b + j) : vec::zero();
      const vec::F b1 = kBias ? vec::load(b + j + L) : vec::zero();
      if constexpr (kAdd) {
        if constexpr (kStreamSum) {
          store_vector<kStream>(sum + j, x0);
          store_vector<kStream>(sum + j + L, x1);
        } else {
          vec::store(sum + j, x0);
          vec::store(sum + j + L, x1);
        }
      }
      store_vector<kStream>(y + j, normalize<kWeight, kBias>(x0, hi, scale, offset, w0, b0));
      store_vector<kStream>(y + j + L, normalize<kWeight, kBias>(x1, hi, scale, offset, w1, b1));
      sums.add(centred<kCentre>(next.load(k), sh), centred<kCentre>(next.load(k + L), sh));
    }
    sums.end_block();
  }
  // The apply's rest, then the sums' rest as fast_run_sums ends: whole blocks, then exact.
  const int64_t j = i + h;
  if (j < n) {
    if constexpr (kAdd) {
      apply_src<kWeight, kBias, kStream, kStreamSum>(cur.after(j), sum + j, y + j, n - j, f,
                                                     kWeight ? w + j : w, kBias ? b + j : b);
    } else {
      apply_src<kWeight, kBias, kStream>(cur.after(j), nullptr, y + j, n - j, f,
                                         kWeight ? w + j : w, kBias ? b + j : b);
    }
  }
  for (; i + kBlockValues <= n; i += kBlockValues) {
    for (int64_t k = i; k < i + kBlockValues; k += 2 * L) {
      sums.add(centred<kCentre>(next.load(k), sh), centred<kCentre>(next.load(k + L), sh));
    }
    sums.end_block();
  }
  sums.add_to(acc);
  if (i < n) exact_run_sums<kCentre>(next.after(i), n - i, static_cast<double>(shift), acc);
}

// One vector of the periodic apply: the data at x[at], the parameters at period position pos
// (n lanes, the rest not read from x).
NORMKIT_INLINE vec::F periodic_at(const float* x, int64_t at, int64_t pos, const float* hi,
                                  const float* scale, const float* offset) {
  return vec::fma(vec::sub(vec::load(x + at), vec::load(hi + pos)), vec::load(scale + pos),
                  vec::load(offset + pos));
}
NORMKIT_INLINE vec::F periodic_first(const float* x, int64_t at, int64_t pos, int64_t n,
                                     const float* hi, const float* scale, const float* offset) {
  return vec::fma(vec::sub(vec::load_first(x + at, n), vec::load(hi + pos)), vec::load(scale + pos),
                  vec::load(offset + pos));
}

// The elements before y's first aligned address in [i, end), written with a masked store;
// advances i and the period position p past them. With streaming stores, and for ranges of
// kAlignedRunValues or more without them: split stores cost channels-last GroupNorm and
// InstanceNorm [32, 64, 56, 56] at 1 thread half as much time again (bench/ab.js).
NORMKIT_INLINE void periodic_head(const float* x, float* y, int64_t& i, int64_t& p, int64_t end,
                                  int64_t period, const float* hi, const float* scale,
                                  const float* offset) {
  const int64_t head = unaligned_head(y + i);
  if (head > 0 && head < end - i) {
    vec::store_first(y + i, periodic_first(x, i, p, head, hi, scale, offset), head);
    i += head;
    p = (p + head) % period;
  }
}

// Channels-last apply over the flat run [begin, end) of elements: the parameters repeat with
// period `period` (a multiple of 16 and of the channel count), and each array holds period + 16
// values so a vector starting anywhere in the period reads straight through. Vectorizes across
// rows for any channel count and keeps the stores aligned (periodic_head).
template <bool kStream, bool kPrefetchStores = false>
NORMKIT_NOINLINE void periodic_apply(const float* x, float* y, int64_t begin, int64_t end,
                                     int64_t period, const float* hi, const float* scale,
                                     const float* offset) {
  constexpr int64_t L = vec::kLanes;
  int64_t i = begin;
  int64_t p = begin % period;
  if (kStream || end - begin >= kAlignedRunValues) {
    periodic_head(x, y, i, p, end, period, hi, scale, offset);
  }
  for (; i + L <= end; i += L) {
    if constexpr (kPrefetchStores) prefetch_for_store<L>(y + i);
    store_vector<kStream>(y + i, periodic_at(x, i, p, hi, scale, offset));
    p += L;
    if (p >= period) p -= period;
  }
  if (i < end) {
    vec::store_first(y + i, periodic_first(x, i, p, end - i, hi, scale, offset), end - i);
  }
}

// periodic_apply for periods of kVectors vectors (up to 64 channels, e.g. BatchNorm1d over
// features, on AVX-512): the parameters of a whole period live in registers, so each vector
// costs one load and one store; at cache speeds the three parameter loads per vector would bound
// the loop.
template <int kVectors, bool kStream, bool kPrefetchStores>
NORMKIT_NOINLINE void periodic_apply_in_registers(const float* x, float* y, int64_t begin,
                                                  int64_t end, int64_t period, const float* hi,
                                                  const float* scale, const float* offset) {
  constexpr int64_t L = vec::kLanes;
  int64_t i = begin;
  int64_t p = begin % period;
  if (kStream || end - begin >= kAlignedRunValues) {
    periodic_head(x, y, i, p, end, period, hi, scale, offset);
  }
  vec::F h[kVectors], s[kVectors], o[kVectors];
  for (int k = 0; k < kVectors; ++k) {
    const int64_t at = (p + L * k) % period;
    h[k] = vec::load(hi + at);
    s[k] = vec::load(scale + at);
    o[k] = vec::load(offset + at);
  }
  for (; i + L * kVectors <= end; i += L * kVectors) {
    if constexpr (kPrefetchStores) prefetch_for_store<L * kVectors>(y + i);
    for (int k = 0; k < kVectors; ++k) {
      store_vector<kStream>(y + i + L * k,
                            vec::fma(vec::sub(vec::load(x + i + L * k), h[k]), s[k], o[k]));
    }
  }
  // Less than a period left.
  if (i < end) periodic_apply<false>(x, y, i, end, period, hi, scale, offset);
}

// The in-register apply for a period of `vectors` vectors, kVectors and up; false when the
// period is too long for the tier's registers (or longer than 64 values).
template <int kVectors, bool kStream, bool kPrefetchStores>
NORMKIT_INLINE bool periodic_apply_short(int64_t vectors, const float* x, float* y, int64_t begin,
                                         int64_t end, int64_t period, const float* hi,
                                         const float* scale, const float* offset) {
  if constexpr (kVectors > vec::kRegisterVectors || kVectors * vec::kLanes > 64) {
    return false;
  } else {
    if (vectors == kVectors) {
      periodic_apply_in_registers<kVectors, kStream, kPrefetchStores>(x, y, begin, end, period, hi,
                                                                      scale, offset);
      return true;
    }
    return periodic_apply_short<kVectors + 1, kStream, kPrefetchStores>(vectors, x, y, begin, end,
                                                                        period, hi, scale, offset);
  }
}

// Apply::apply_and_accumulate's loop: a channel's run applied while the next run is summed (and,
// with streaming stores, the lines ahead prefetched: in cache the prefetches cost BatchNorm
// training, GroupNorm and InstanceNorm channels-first [32, 64, 56, 56] 4-12% of their time).
template <bool kStream>
NORMKIT_INLINE void accumulate_next_run(const float* cur, float* y, int64_t n, Affine f,
                                        const float* next, const float* then, float shift,
                                        ShiftedSums& acc) {
  const Values after_next{then};
  pipelined_src<true, false, false, kStream, false, /*kSumsFromStart=*/false>(
      Values{cur}, nullptr, y, n, f, nullptr, nullptr, Values{next}, shift, acc,
      kStream ? kPrefetchAheadValues : 0, &after_next);
}

// accumulate_next_run for runs of kOutOfLineRunValues or more, compiled on its own
// (NORMKIT_NOINLINE, kernels/simd.h): inlined into the channels-first driver
// (kernels/channels_first.cc), whose set loop keeps many values live, GCC 12 spilled a vector of
// the sums to the stack and reloaded it on every iteration of the loop.
template <bool kStream>
NORMKIT_NOINLINE void apply_and_accumulate_run(const float* cur, float* y, int64_t n, Affine f,
                                               const float* next, const float* then, float shift,
                                               ShiftedSums& acc) {
  accumulate_next_run<kStream>(cur, y, n, f, next, then, shift, acc);
}

// The tier's apply primitives, by the names the drivers use.
struct Apply {
  // Whether the tier writes large outputs with streaming stores (kStream is ignored otherwise).
  static constexpr bool kHasStreamingStores = vec::kStreams;
  NORMKIT_INLINE static void fence() { vec::fence(); }

  // y[i] = ((x[i] - hi) * scale + offset) * w[i] + b[i] over a run. Template flags remove the
  // per-element branch on absent weight or bias. y may equal x.
  template <bool kWeight, bool kBias, bool kStream>
  NORMKIT_INLINE static void apply_run(const float* x, float* y, int64_t n, Affine f,
                                       const float* w, const float* b) {
    apply_src<kWeight, kBias, kStream>(Values{x}, nullptr, y, n, f, w, b);
  }

  // apply_run of the residual sum a + b, writing the sum to `sum` on the way (kStreamSum: with
  // streaming stores where the tier has them). sum and y may each equal a or b, not each other.
  template <bool kWeight, bool kBias, bool kStream, bool kStreamSum>
  NORMKIT_INLINE static void add_apply_run(const float* a, const float* b, float* sum, float* y,
                                           int64_t n, Affine f, const float* w, const float* bias) {
    apply_src<kWeight, kBias, kStream, kStreamSum>(SumOf{a, b}, sum, y, n, f, w, bias);
  }

  // apply_run of `cur` while adding the fast sums of `next` (a run of the same length) into acc.
  // `then` is the run summed after `next`: with streaming stores (data larger than the cache) the
  // lines kPrefetchAheadValues ahead of those summed are prefetched, past next's end from then's
  // start.
  template <bool kStream>
  NORMKIT_INLINE static void apply_and_accumulate(const float* cur, float* y, int64_t n, Affine f,
                                                  const float* next, const float* then, float shift,
                                                  ShiftedSums& acc) {
    if (n >= kOutOfLineRunValues)
      return apply_and_accumulate_run<kStream>(cur, y, n, f, next, then, shift, acc);
    accumulate_next_run<kStream>(cur, y, n, f, next, then, shift, acc);
  }

  // A row's apply_run (or add_apply_run, with a residual sum as the source) while adding the
  // fast sums of the next row (kCentre: shifted by `shift`; else squares) into acc, prefetching
  // `ahead` values past the next row's (0: none).
  template <bool kCentre, bool kWeight, bool kBias, bool kStream, bool kStreamSum, class Src>
  NORMKIT_INLINE static void apply_and_accumulate_row(Src cur, float* sum, float* y, int64_t n,
                                                      Affine f, const float* w, const float* b,
                                                      Src next, float shift, ShiftedSums& acc,
                                                      int64_t ahead) {
    pipelined_src<kCentre, kWeight, kBias, kStream, kStreamSum>(cur, sum, y, n, f, w, b, next,
                                                                shift, acc, ahead);
  }

  // Channels-last apply over the flat elements [begin, end), the parameters repeating with the
  // period of `a`; kPrefetchStores (cached stores only): the output's lines prefetched for
  // writing (kStorePrefetchAheadValues).
  template <bool kStream, bool kPrefetchStores = false>
  NORMKIT_INLINE static void apply_periodic(const float* x, float* y, int64_t begin, int64_t end,
                                            const PeriodicAffine& a) {
    static_assert(!(kStream && kPrefetchStores), "streaming stores need no prefetch");
    const float *hi = a.hi(), *scale = a.scale(), *offset = a.offset();
    const int64_t period = a.period();
    if (periodic_apply_short<1, kStream, kPrefetchStores>(period / vec::kLanes, x, y, begin, end,
                                                          period, hi, scale, offset)) {
      return;
    }
    periodic_apply<kStream, kPrefetchStores>(x, y, begin, end, period, hi, scale, offset);
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

// Whether an op reading `bytes_in` and writing `bytes_out` writes with streaming stores (where
// the tier has them; kernels/simd.h has the rule).
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

NORMKIT_TIER_END
}  // namespace normkit
