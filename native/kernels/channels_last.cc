#include "kernels/channels_last.h"

#include <algorithm>

#include "kernels/apply.h"
#include "kernels/columns.h"
#include "kernels/moments.h"
#include "kernels/scratch.h"
#include "kernels/tier.h"
#include "kernels/tiers.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {
NORMKIT_TIER_BEGIN

namespace {

// The shifts of sample x's channels: one per group (a value of the group's data), shared by its
// channels so their sums merge by plain addition.
void pick_group_shifts(const ChannelGroups& a, const float* x, float* shift) {
  const int64_t c = a.channels, d = c / a.groups, count = d * a.spatial;
  for (int64_t g = 0; g < a.groups; ++g) {
    // The group's k-th value in storage order is in row k / d, channel g * d + k % d.
    const float* xg = x + g * d;
    const float sh =
        median_of_first_three(count, [xg, c, d](int64_t k) { return xg[(k / d) * c + k % d]; });
    std::fill(shift + g * d, shift + (g + 1) * d, sh);
  }
}

// Group sums from channel sums: each group's channels share its shift, so they add.
void merge_groups(const ShiftedSums* channel_sums, int64_t groups, int64_t group_channels,
                  ShiftedSums* group_sums) {
  for (int64_t g = 0; g < groups; ++g) {
    group_sums[g] = merge_partials(channel_sums + g * group_channels, group_channels);
  }
}

// The working arrays of one sample's statistics.
class SampleStats {
 public:
  explicit SampleStats(const ChannelGroups& a)
      : a_(a),
        shift_(static_cast<size_t>(a.channels)),
        sums_(static_cast<size_t>(a.channels)),
        group_(static_cast<size_t>(a.groups)),
        mean_(static_cast<size_t>(a.groups)),
        rstd_(static_cast<size_t>(a.groups)) {}
  float* shift() { return shift_.data(); }
  ShiftedSums* sums() { return sums_.data(); }
  // Whether the sums in sums() can be trusted (see trust_fast_sums), per group.
  bool trusted() {
    const int64_t d = a_.channels / a_.groups;
    merge_groups(sums_.data(), a_.groups, d, group_.data());
    for (int64_t g = 0; g < a_.groups; ++g) {
      if (!trust_fast_sums<true>(group_[g], d * a_.spatial)) return false;
    }
    return true;
  }
  // Sample n's statistics from sums(): recorded, and its per-channel apply parameters.
  void finish(int64_t n, ChannelAffine& affine) {
    const int64_t d = a_.channels / a_.groups;
    merge_groups(sums_.data(), a_.groups, d, group_.data());
    for (int64_t g = 0; g < a_.groups; ++g) {
      const Stats st = finish_centred(group_[g], shift_[g * d], d * a_.spatial, a_.eps);
      a_.stats.record(n * a_.groups + g, st);
      mean_[g] = st.mean;
      rstd_[g] = st.rstd;
    }
    affine.fill(mean_.data(), rstd_.data(), d, a_.weight, a_.bias);
  }

 private:
  const ChannelGroups& a_;
  Scratch<float, kInlineChannels> shift_;
  Scratch<ShiftedSums, kInlineChannels> sums_;
  Scratch<ShiftedSums, kInlineChannels> group_;
  Scratch<double, kInlineChannels> mean_, rstd_;
};

// ---- a sample per thread at a time ------------------------------------------------------------

// Column sums of rows [r0, r1) of x into sums (as s1 / s2 arrays: the tiers' column layout).
template <class T, bool kFast, bool kPrefetch = false>
NORMKIT_INLINE void add_column_sums(const float* x, int64_t r0, int64_t r1, int64_t c,
                                    const float* shift, double* s1, double* s2) {
  if constexpr (kFast) {
    T::column_sums_fast(x, r0, r1, c, shift, s1, s2, kPrefetch);
  } else {
    T::column_sums(x, r0, r1, c, shift, s1, s2);
  }
}

// s1 / s2 arrays to ShiftedSums.
NORMKIT_INLINE void gather_sums(const double* s1, const double* s2, int64_t c, ShiftedSums* out) {
  for (int64_t i = 0; i < c; ++i) out[i] = {s1[i], s2[i]};
}

// Samples [begin, end) on one thread, each summed and then applied while it is still in L2
// (800 KB for 56x56x64). Its traffic to memory is the copy's: one read, one write. Three ways of
// taking the sums under an apply's stores were tried and were slower (GroupNorm
// [32, 64, 56, 56] channels-last, 1 and 2 threads, a Granite Rapids-class VM with 2 MiB of L2
// per core, time against this loop's):
//  - the next sample summed under the whole apply of the current one, 64 rows at a time:
//    1.02-1.20 (two samples and an output live spill from L2), also with streaming stores;
//  - the next sample summed under the last eighth, quarter or half of the apply: 0.97-1.33, and
//    again once the apply's stores were aligned: 1.01-1.25 at 1 thread, 0.85-1.16 at 2 (noise);
//  - each sample strip by strip (column tiles of 16, 32 or 48 channels holding whole groups,
//    each strip summed in the sweep down the rows that applies the previous one): 1.2-1.6, the
//    strided sweeps' prefetching costing more than the overlap saved.
template <class T, bool kStream, bool kPrefetchStores>
NORMKIT_INLINE void samples_range(const ChannelGroups& a, int64_t begin, int64_t end) {
  const int64_t c = a.channels, rows = a.spatial, numel = rows * c;
  const int64_t stride = (c + kDoublesPerLine - 1) / kDoublesPerLine * kDoublesPerLine;
  // Column sums as the tiers keep them: s1 then s2.
  Scratch<double, 2 * kInlineChannels> sums(static_cast<size_t>(2 * stride));
  double* s1 = sums.data();
  double* s2 = s1 + stride;
  SampleStats stats(a);
  ChannelAffine affine(c);
  const bool periodic = PeriodicAffine::worth_it(c, numel);
  for (int64_t n = begin; n < end; ++n) {
    const float* x = a.x + n * numel;
    float* y = a.y + n * numel;
    pick_group_shifts(a, x, stats.shift());
    std::fill(s1, s1 + 2 * stride, 0.0);
    add_column_sums<T, true, kStream>(x, 0, rows, c, stats.shift(), s1, s2);
    gather_sums(s1, s2, c, stats.sums());
    if (T::kFastSumsInexact && !stats.trusted()) {
      // Rare (a shift far from its group's mean, huge or tiny data): sum again exactly.
      std::fill(s1, s1 + 2 * stride, 0.0);
      add_column_sums<T, false>(x, 0, rows, c, stats.shift(), s1, s2);
      gather_sums(s1, s2, c, stats.sums());
    }
    stats.finish(n, affine);
    if (affine.exact()) {
      affine.apply_exact_rows(x, y, 0, rows);
    } else if (periodic) {
      // Built per sample: the expansion is a few periods, the sample many more.
      const PeriodicAffine pa(affine);
      T::template apply_periodic<kStream, kPrefetchStores>(x, y, 0, numel, pa);
    } else {
      apply_rows_of_channels(x, y, 0, rows, affine);
    }
  }
  if constexpr (kStream) T::fence();
}

// stream: streaming stores; else prefetch: the apply's output lines prefetched for writing.
template <class T>
NORMKIT_INLINE void samples_range(const ChannelGroups& a, int64_t begin, int64_t end, bool stream,
                                  bool prefetch) {
  if constexpr (T::kHasStreamingStores) {
    if (stream) return samples_range<T, true, false>(a, begin, end);
  }
  if (prefetch) return samples_range<T, false, true>(a, begin, end);
  samples_range<T, false, false>(a, begin, end);
}

// ---- fewer samples than threads: each sample on all of them ---------------------------------

// Sample n on `threads` threads: column moments with per-thread partials, then the apply.
void normalize_sample(const ChannelGroups& a, int64_t n, int threads, bool stream) {
  const int64_t c = a.channels, rows = a.spatial;
  const float* x = a.x + n * rows * c;
  SampleStats stats(a);
  pick_group_shifts(a, x, stats.shift());
  column_moments(x, rows, c, stats.shift(), threads, /*fast=*/true, /*prefetch=*/stream,
                 stats.sums());
  // Rare (a shift far from its group's mean, huge or tiny data): sum again exactly.
  if (Tier::kFastSumsInexact && !stats.trusted()) {
    column_moments(x, rows, c, stats.shift(), threads, false, false, stats.sums());
  }
  ChannelAffine affine(c);
  stats.finish(n, affine);
  apply_channels_last(x, a.y + n * rows * c, rows, affine, threads, stream);
}

}  // namespace

void normalize_channel_groups(const ChannelGroups& a) {
  if (a.batch <= 0 || a.groups <= 0) return;
  const int64_t count = a.channels / a.groups * a.spatial;
  if (count <= 0) return a.stats.record_empty(a.batch * a.groups);
  const int64_t numel = a.batch * a.spatial * a.channels;
  const int threads = threads_for(numel, kGrainValues);
  const int64_t bytes = numel * static_cast<int64_t>(sizeof(float));
  const bool stream = stream_output(bytes, bytes);
  if (threads == 1 || a.batch >= threads) {
    const bool prefetch = !stream && prefetch_output_lines(bytes, bytes, threads);
    parallel_for(threads, a.batch, [&](int, int64_t begin, int64_t end) {
      samples_range<Tier>(a, begin, end, stream, prefetch);
    });
  } else {
    for (int64_t n = 0; n < a.batch; ++n) normalize_sample(a, n, threads, stream);
  }
}

NORMKIT_TIER_END
}  // namespace normkit
