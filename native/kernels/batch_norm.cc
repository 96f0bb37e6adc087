#include "kernels/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/avx512.h"
#include "kernels/moments.h"
#include "kernels/scratch.h"
#include "parallel.h"

namespace normkit {

namespace {

constexpr int64_t kGrainValues = int64_t{1} << 15;
// Per-thread partial sums are padded to a whole number of 64-byte lines (no false sharing).
constexpr int64_t kDoublesPerLine = 8;

// Per-channel parameters of the apply step: y = (x - hi) * scale + offset (see Affine), three
// arrays of `channels` floats in one scratch block.
class ChannelAffine {
 public:
  explicit ChannelAffine(int64_t c) : channels_(c), store_(static_cast<size_t>(3 * c)) {}
  int64_t channels() const { return channels_; }
  const float* hi() const { return store_.data(); }
  const float* scale() const { return store_.data() + channels_; }
  const float* offset() const { return store_.data() + 2 * channels_; }
  Affine operator[](int64_t c) const { return {hi()[c], scale()[c], offset()[c]}; }
  // Every channel's affine form of (x - mean) / sqrt(var + eps) * w + b, as affine_form() in a
  // loop the compiler can vectorize (small calls would otherwise spend their time here).
  template <typename M, typename V>
  void fill(const M* mean, const V* var, double eps, const float* w, const float* b) {
    float *hi = store_.data(), *scale = hi + channels_, *offset = hi + 2 * channels_;
#pragma omp simd
    for (int64_t c = 0; c < channels_; ++c) {
      const double m = static_cast<double>(mean[c]);
      const double rstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
      const double sc = w ? rstd * w[c] : rstd;
      const float h = static_cast<float>(m);
      const double lo = m - static_cast<double>(h);
      hi[c] = h;
      scale[c] = static_cast<float>(sc);
      offset[c] = static_cast<float>((b ? b[c] : 0.0) - (std::isfinite(lo) ? lo : 0.0) * sc);
    }
  }

 private:
  int64_t channels_;
  Scratch<float, 3 * 256> store_;
};

// The affine form of channel c: (x - mean) * rstd * w + b.
Affine channel_form(double mean, double rstd, const float* w, const float* b, int64_t c) {
  return affine_form(mean, w ? rstd * w[c] : rstd, b ? b[c] : 0.0);
}

// Channels-last parameters repeated over a period that is a multiple of both the channel count
// and the 16-float vector, plus 16 values of wrap-around, so the AVX-512 apply can run over a
// flat range of rows without per-row tails (see avx512::apply_periodic).
class PeriodicAffine {
 public:
  // Longest period worth building (3 arrays of this many floats, 64 KB each); beyond it, rows
  // are applied one at a time.
  static constexpr int64_t kMaxPeriod = int64_t{1} << 14;
  static int64_t period_for(int64_t c) { return c * (16 / std::gcd<int64_t>(c, 16)); }

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
  Scratch<float, 3 * (256 + 16)> store_;
};

int64_t planes(const BatchNormShape& s) { return s.batch * s.channels; }
int64_t rows(const BatchNormShape& s) { return s.batch * s.spatial; }
// Data with one value per (n, c) is channels-last whatever the flag says.
bool rows_of_channels(const BatchNormShape& s) { return s.channels_last || s.spatial == 1; }

#if NORMKIT_HAVE_AVX512
// ---- AVX-512 versions of the loops above (same numerics) -----------------------------------

NORMKIT_TARGET_AVX512 void sum_rows_of_channels_avx512(const float* x, int64_t begin, int64_t end,
                                                       int64_t c, const double* shift, double* s1,
                                                       double* s2) {
  avx512::sum_rows_of_channels(x, begin, end, c, shift, s1, s2);
}

NORMKIT_TARGET_AVX512 void sum_rows_of_channels_fast_avx512(const float* x, int64_t begin,
                                                            int64_t end, int64_t c,
                                                            const float* shift, double* s1,
                                                            double* s2) {
  avx512::sum_rows_of_channels_fast(x, begin, end, c, shift, s1, s2);
}

NORMKIT_TARGET_AVX512 void sum_planes_avx512(const float* x, int64_t begin, int64_t end, int64_t c,
                                             int64_t spatial, ShiftedSums* sums) {
  for (int64_t p = begin; p < end; ++p) {
    avx512::accumulate_shifted(x + p * spatial, spatial, x[(p % c) * spatial], sums[p]);
  }
}

template <bool kStream>
NORMKIT_TARGET_AVX512 void apply_planes_avx512(const float* x, float* y, int64_t begin, int64_t end,
                                               int64_t c, int64_t spatial, const ChannelAffine* a) {
  for (int64_t p = begin; p < end; ++p) {
    const int64_t ch = p % c;
    avx512::apply_run<false, false, kStream>(x + p * spatial, y + p * spatial, spatial, (*a)[ch],
                                             nullptr, nullptr);
  }
  if (kStream) _mm_sfence();
}

template <bool kStream>
NORMKIT_TARGET_AVX512 void apply_periodic_avx512(const float* x, float* y, int64_t begin,
                                                 int64_t end, const PeriodicAffine* a) {
  const float *hi = a->hi(), *scale = a->scale(), *offset = a->offset();
  switch (a->period()) {
    case 16:
      avx512::apply_periodic_in_registers<1, kStream>(x, y, begin, end, 16, hi, scale, offset);
      break;
    case 32:
      avx512::apply_periodic_in_registers<2, kStream>(x, y, begin, end, 32, hi, scale, offset);
      break;
    case 48:
      avx512::apply_periodic_in_registers<3, kStream>(x, y, begin, end, 48, hi, scale, offset);
      break;
    case 64:
      avx512::apply_periodic_in_registers<4, kStream>(x, y, begin, end, 64, hi, scale, offset);
      break;
    default:
      avx512::apply_periodic<kStream>(x, y, begin, end, a->period(), hi, scale, offset);
  }
  if (kStream) _mm_sfence();
}

// Sums of one channels-first channel on the AVX-512 path: the float-partial sums (kFast, to be
// checked with trust_fast_sums) or the exact double ones.
template <bool kFast>
NORMKIT_AVX512_INLINE ShiftedSums channel_sums_avx512(const float* x, const BatchNormShape& s,
                                                      int64_t ch, float shift) {
  const int64_t c = s.channels, sp = s.spatial;
  ShiftedSums acc;
  for (int64_t n = 0; n < s.batch; ++n) {
    const float* plane = x + (n * c + ch) * sp;
    if constexpr (kFast) {
      avx512::accumulate_shifted_fast(plane, sp, shift, acc);
    } else {
      avx512::accumulate_shifted(plane, sp, shift, acc);
    }
  }
  return acc;
}

// Channels [begin, end) of channels-first training, pipelined: channel ch is normalized while
// channel ch + 1 is summed (avx512::apply_and_accumulate), so after the first channel every
// statistic is gathered under the cover of an output stream.
template <bool kStream>
NORMKIT_TARGET_AVX512 void fused_channels_avx512(const float* x, float* y, int64_t begin,
                                                 int64_t end, const BatchNormShape& s,
                                                 const float* w, const float* b, double eps,
                                                 double* mean, double* var) {
  const int64_t c = s.channels, sp = s.spatial, count = s.batch * sp;
  float shift = pick_shift(x + begin * sp, sp, 1);
  ShiftedSums acc = channel_sums_avx512<true>(x, s, begin, shift);
  for (int64_t ch = begin; ch < end; ++ch) {
    if (!avx512::trust_fast_sums(acc, count)) acc = channel_sums_avx512<false>(x, s, ch, shift);
    const GroupStats st = finish_moments(acc, shift, count);
    mean[ch] = st.mean;
    var[ch] = st.var;
    const Affine f = channel_form(st.mean, 1.0 / std::sqrt(st.var + eps), w, b, ch);
    acc = ShiftedSums{};
    if (ch + 1 < end) {
      shift = pick_shift(x + (ch + 1) * sp, sp, 1);
      for (int64_t n = 0; n < s.batch; ++n) {
        const int64_t off = (n * c + ch) * sp;
        avx512::apply_and_accumulate<kStream>(x + off, y + off, sp, f, x + off + sp, shift, acc);
      }
    } else {
      for (int64_t n = 0; n < s.batch; ++n) {
        const int64_t off = (n * c + ch) * sp;
        avx512::apply_run<false, false, kStream>(x + off, y + off, sp, f, nullptr, nullptr);
      }
    }
  }
  if (kStream) _mm_sfence();
}
#endif

// ---- statistics -------------------------------------------------------------------------

// Channels-last: rows of C values; sums over rows, vectorized across channels.
NORMKIT_DISPATCH void sum_rows_of_channels(const float* x, int64_t begin, int64_t end, int64_t c,
                                           const double* shift, double* s1, double* s2) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * c;
#pragma omp simd
    for (int64_t i = 0; i < c; ++i) {
      const double d = static_cast<double>(xr[i]) - shift[i];
      s1[i] += d;
      s2[i] += d * d;
    }
  }
}

void collect_rows_of_channels(const float* x, const BatchNormShape& s, double* mean, double* var) {
  const int64_t c = s.channels, n = rows(s);
  std::vector<float> fshift(c);
  for (int64_t i = 0; i < c; ++i) fshift[i] = pick_shift(x + i, n, c);
  const std::vector<double> shift(fshift.begin(), fshift.end());
  const int threads = threads_for(n * c, kGrainValues);
  const int64_t stride = (c + kDoublesPerLine - 1) / kDoublesPerLine * kDoublesPerLine;
  std::vector<double> partial(static_cast<size_t>(threads) * stride * 2, 0.0);
  auto merged = [&](int64_t i) {
    ShiftedSums acc;
    for (int t = 0; t < threads; ++t) {
      acc.s1 += partial[t * stride * 2 + i];
      acc.s2 += partial[t * stride * 2 + stride + i];
    }
    return acc;
  };
  bool done = false;
#if NORMKIT_HAVE_AVX512
  if (use_avx512()) {
    parallel_for(threads, n, [&](int t, int64_t begin, int64_t end) {
      double* s1 = partial.data() + t * stride * 2;
      sum_rows_of_channels_fast_avx512(x, begin, end, c, fshift.data(), s1, s1 + stride);
    });
    done = true;
    for (int64_t i = 0; i < c && done; ++i) done = avx512::trust_fast_sums(merged(i), n);
    // Rare (a shift far from its channel's mean, huge or tiny data): sum again exactly.
    if (!done) std::fill(partial.begin(), partial.end(), 0.0);
  }
#endif
  if (!done) {
    parallel_for(threads, n, [&](int t, int64_t begin, int64_t end) {
      double* s1 = partial.data() + t * stride * 2;
      NORMKIT_IF_AVX512(
          sum_rows_of_channels_avx512(x, begin, end, c, shift.data(), s1, s1 + stride))
      sum_rows_of_channels(x, begin, end, c, shift.data(), s1, s1 + stride);
    });
  }
  for (int64_t i = 0; i < c; ++i) {
    const GroupStats st = finish_moments(merged(i), shift[i], n);
    mean[i] = st.mean;
    var[i] = st.var;
  }
}

NORMKIT_DISPATCH void sum_planes(const float* x, int64_t begin, int64_t end, int64_t c,
                                 int64_t spatial, ShiftedSums* sums) {
  for (int64_t p = begin; p < end; ++p) {
    const double shift = x[(p % c) * spatial];
    accumulate_shifted(x + p * spatial, spatial, shift, sums[p]);
  }
}

// Channels-first: one partial per (n, c) plane, merged per channel.
void collect_planes(const float* x, const BatchNormShape& s, double* mean, double* var) {
  const int64_t c = s.channels, p = planes(s);
  std::vector<ShiftedSums> sums(p);
  parallel_for(threads_for(p * s.spatial, kGrainValues), p, [&](int, int64_t begin, int64_t end) {
    NORMKIT_IF_AVX512(sum_planes_avx512(x, begin, end, c, s.spatial, sums.data()))
    sum_planes(x, begin, end, c, s.spatial, sums.data());
  });
  for (int64_t i = 0; i < c; ++i) {
    ShiftedSums acc;
    for (int64_t n = 0; n < s.batch; ++n) {
      acc.s1 += sums[n * c + i].s1;
      acc.s2 += sums[n * c + i].s2;
    }
    const GroupStats st = finish_moments(acc, x[i * s.spatial], rows(s));
    mean[i] = st.mean;
    var[i] = st.var;
  }
}

// ---- apply ------------------------------------------------------------------------------

NORMKIT_DISPATCH void apply_rows_of_channels(const float* x, float* y, int64_t begin, int64_t end,
                                             int64_t c, const ChannelAffine* a) {
  for (int64_t r = begin; r < end; ++r) {
    apply_channels(x + r * c, y + r * c, c, a->hi(), a->scale(), a->offset());
  }
}

NORMKIT_DISPATCH void apply_planes(const float* x, float* y, int64_t begin, int64_t end, int64_t c,
                                   int64_t spatial, const ChannelAffine* a) {
  for (int64_t p = begin; p < end; ++p) {
    const int64_t ch = p % c;
    apply_plane(x + p * spatial, y + p * spatial, spatial, (*a)[ch]);
  }
}

void apply(const float* x, float* y, const BatchNormShape& s, const ChannelAffine& a) {
  const int64_t numel = s.batch * s.channels * s.spatial;
  const int threads = threads_for(numel, kGrainValues);
#if NORMKIT_HAVE_AVX512
  if (use_avx512()) {
    const int64_t bytes = numel * static_cast<int64_t>(sizeof(float));
    const bool stream = use_streaming_stores(bytes, bytes);
    if (rows_of_channels(s) &&
        PeriodicAffine::period_for(s.channels) <= PeriodicAffine::kMaxPeriod) {
      const PeriodicAffine pa(a);
      const int64_t n = rows(s), c = s.channels;
      parallel_for(threads, n, [&](int, int64_t b, int64_t e) {
        if (stream)
          apply_periodic_avx512<true>(x, y, b * c, e * c, &pa);
        else
          apply_periodic_avx512<false>(x, y, b * c, e * c, &pa);
      });
      return;
    }
    if (!rows_of_channels(s)) {
      parallel_for(threads, planes(s), [&](int, int64_t b, int64_t e) {
        if (stream)
          apply_planes_avx512<true>(x, y, b, e, s.channels, s.spatial, &a);
        else
          apply_planes_avx512<false>(x, y, b, e, s.channels, s.spatial, &a);
      });
      return;
    }
  }
#endif
  if (rows_of_channels(s)) {
    parallel_for(threads, rows(s), [&](int, int64_t b, int64_t e) {
      apply_rows_of_channels(x, y, b, e, s.channels, &a);
    });
  } else {
    parallel_for(threads, planes(s), [&](int, int64_t b, int64_t e) {
      apply_planes(x, y, b, e, s.channels, s.spatial, &a);
    });
  }
}

// Channels-first training with a channel per thread at a time: the channel's statistics and its
// normalization run back to back, so the second read of its data (400 KB for 32x56x56) comes
// from L2 instead of memory.
NORMKIT_DISPATCH void fused_channels(const float* x, float* y, int64_t begin, int64_t end,
                                     const BatchNormShape& s, const float* w, const float* b,
                                     double eps, double* mean, double* var) {
  const int64_t c = s.channels, sp = s.spatial;
  for (int64_t ch = begin; ch < end; ++ch) {
    const double shift = x[ch * sp];
    ShiftedSums acc;
    for (int64_t n = 0; n < s.batch; ++n) accumulate_shifted(x + (n * c + ch) * sp, sp, shift, acc);
    const GroupStats st = finish_moments(acc, shift, s.batch * sp);
    mean[ch] = st.mean;
    var[ch] = st.var;
    const Affine f = channel_form(st.mean, 1.0 / std::sqrt(st.var + eps), w, b, ch);
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t off = (n * c + ch) * sp;
      apply_plane(x + off, y + off, sp, f);
    }
  }
}

}  // namespace

void batch_norm_collect_stats(const float* x, const BatchNormShape& s, double* mean, double* var) {
  if (s.channels <= 0) return;
  if (rows(s) <= 0) {
    std::fill(mean, mean + s.channels, std::nan(""));
    std::fill(var, var + s.channels, std::nan(""));
    return;
  }
  if (rows_of_channels(s)) {
    collect_rows_of_channels(x, s, mean, var);
  } else {
    collect_planes(x, s, mean, var);
  }
}

void batch_norm_forward_training(const float* x, float* y, const BatchNormShape& s,
                                 const float* weight, const float* bias, double eps,
                                 double momentum, float* running_mean, float* running_var,
                                 double* save_mean, double* save_var) {
  const int64_t c = s.channels, count = rows(s);
  // An empty batch leaves the running statistics alone, as PyTorch does.
  if (c <= 0 || count <= 0) return;
  Scratch<double, 256> mean(static_cast<size_t>(c)), var(static_cast<size_t>(c));
  const int threads = threads_for(count * c, kGrainValues);
  if (!rows_of_channels(s) && c >= threads) {
    const int64_t bytes = count * c * static_cast<int64_t>(sizeof(float));
    const bool stream = use_streaming_stores(bytes, bytes);
    parallel_for(threads, c, [&](int, int64_t b, int64_t e) {
      double* m = mean.data();
      double* v = var.data();
      if (stream) {
        NORMKIT_IF_AVX512(fused_channels_avx512<true>(x, y, b, e, s, weight, bias, eps, m, v))
        fused_channels(x, y, b, e, s, weight, bias, eps, m, v);
      } else {
        NORMKIT_IF_AVX512(fused_channels_avx512<false>(x, y, b, e, s, weight, bias, eps, m, v))
        fused_channels(x, y, b, e, s, weight, bias, eps, m, v);
      }
    });
  } else {
    batch_norm_collect_stats(x, s, mean.data(), var.data());
    ChannelAffine a(c);
    a.fill(mean.data(), var.data(), eps, weight, bias);
    apply(x, y, s, a);
  }
  const double unbias = count > 1 ? static_cast<double>(count) / (count - 1) : 1.0;
  for (int64_t i = 0; i < c; ++i) {
    if (running_mean)
      running_mean[i] = static_cast<float>((1 - momentum) * running_mean[i] + momentum * mean[i]);
    if (running_var)
      running_var[i] =
          static_cast<float>((1 - momentum) * running_var[i] + momentum * var[i] * unbias);
    if (save_mean) save_mean[i] = mean[i];
    if (save_var) save_var[i] = var[i];
  }
}

void batch_norm_forward_eval(const float* x, float* y, const BatchNormShape& s, const float* weight,
                             const float* bias, const float* running_mean, const float* running_var,
                             double eps) {
  const int64_t c = s.channels;
  if (c <= 0 || rows(s) <= 0) return;
  ChannelAffine a(c);
  a.fill(running_mean, running_var, eps, weight, bias);
  apply(x, y, s, a);
}

}  // namespace normkit
