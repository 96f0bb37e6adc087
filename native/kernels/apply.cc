#include "kernels/apply.h"

#include "kernels/tiers.h"
#include "parallel.h"

namespace normkit {
NORMKIT_TIER_BEGIN

namespace {

// ---- channels-last: the periodic apply, or rows one at a time when the period is too long --

template <class T>
NORMKIT_INLINE void periodic_range(const float* x, float* y, int64_t begin, int64_t end,
                                   const PeriodicAffine& a, bool stream, bool prefetch) {
  if constexpr (T::kHasStreamingStores) {
    if (stream) {
      T::template apply_periodic<true>(x, y, begin, end, a);
      T::fence();
      return;
    }
  }
  if (prefetch) return T::template apply_periodic<false, true>(x, y, begin, end, a);
  T::template apply_periodic<false>(x, y, begin, end, a);
}

// ---- channels-first: one Affine per plane ------------------------------------------------

template <class T, bool kStream>
NORMKIT_INLINE void planes_range(const float* x, float* y, int64_t begin, int64_t end,
                                 int64_t spatial, const ChannelAffine& a) {
  const int64_t c = a.channels();
  for (int64_t p = begin; p < end; ++p) {
    T::template apply_run<false, false, kStream>(x + p * spatial, y + p * spatial, spatial,
                                                 a[p % c], nullptr, nullptr);
  }
  if constexpr (kStream) T::fence();
}

template <class T>
NORMKIT_INLINE void planes_range(const float* x, float* y, int64_t begin, int64_t end,
                                 int64_t spatial, const ChannelAffine& a, bool stream) {
  if constexpr (T::kHasStreamingStores) {
    if (stream) return planes_range<T, true>(x, y, begin, end, spatial, a);
  }
  planes_range<T, false>(x, y, begin, end, spatial, a);
}

}  // namespace

bool stream_output(int64_t bytes_in, int64_t bytes_out) {
  return Tier::kHasStreamingStores && use_streaming_stores(bytes_in, bytes_out);
}

void apply_channels_last(const float* x, float* y, int64_t rows, const ChannelAffine& a,
                         int threads, bool stream) {
  const int64_t c = a.channels();
  if (rows <= 0 || c <= 0) return;
  if (a.exact()) {
    parallel_for(threads, rows,
                 [&](int, int64_t begin, int64_t end) { a.apply_exact_rows(x, y, begin, end); });
    return;
  }
  if (PeriodicAffine::worth_it(c, rows * c)) {
    const PeriodicAffine pa(a);
    const int64_t bytes = rows * c * static_cast<int64_t>(sizeof(float));
    const bool prefetch = !stream && prefetch_output_lines(bytes, bytes, threads);
    parallel_for(threads, rows, [&](int, int64_t begin, int64_t end) {
      periodic_range<Tier>(x, y, begin * c, end * c, pa, stream, prefetch);
    });
    return;
  }
  parallel_for(threads, rows, [&](int, int64_t begin, int64_t end) {
    apply_rows_of_channels(x, y, begin, end, a);
  });
}

void apply_channels_first(const float* x, float* y, int64_t batch, int64_t spatial,
                          const ChannelAffine& a, int threads, bool stream) {
  if (spatial <= 0) return;
  if (a.exact()) {
    const int64_t c = a.channels();
    parallel_for(threads, batch * c, [&](int, int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        a.apply_exact(x + p * spatial, y + p * spatial, spatial, p % c);
      }
    });
    return;
  }
  parallel_for(threads, batch * a.channels(), [&](int, int64_t begin, int64_t end) {
    planes_range<Tier>(x, y, begin, end, spatial, a, stream);
  });
}

void apply_channel_stats(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                         bool channels_last, const double* mean, const double* rstd, const float* w,
                         const float* b) {
  const int64_t numel = batch * channels * spatial;
  if (numel <= 0) return;
  ChannelAffine a(channels);
  a.fill(mean, rstd, 1, w, b);
  const int threads = threads_for(numel, kGrainValues);
  const int64_t bytes = numel * static_cast<int64_t>(sizeof(float));
  const bool stream = stream_output(bytes, bytes);
  // Data with one value per (n, c) is channels-last whatever the flag says.
  if (channels_last || spatial == 1) {
    apply_channels_last(x, y, batch * spatial, a, threads, stream);
  } else {
    apply_channels_first(x, y, batch, spatial, a, threads, stream);
  }
}

NORMKIT_TIER_END
}  // namespace normkit
