#include "kernels/channels_last.h"

#include "kernels/apply.h"
#include "kernels/columns.h"
#include "kernels/moments.h"
#include "kernels/scratch.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {

namespace {

// Group sums from channel sums: each group's channels share its shift, so they add.
void merge_groups(const ShiftedSums* channel_sums, int64_t groups, int64_t group_channels,
                  ShiftedSums* group_sums) {
  for (int64_t g = 0; g < groups; ++g) {
    ShiftedSums acc;
    for (int64_t d = 0; d < group_channels; ++d) acc += channel_sums[g * group_channels + d];
    group_sums[g] = acc;
  }
}

// Sample n on `threads` threads: column moments over its rows, merged per group, finished, then
// the per-channel apply while the sample (800 KB for 56x56x64) is still in L2.
void normalize_sample(const ChannelGroups& a, int64_t n, int threads, bool stream) {
  const int64_t c = a.channels, groups = a.groups, d = c / groups, rows = a.spatial;
  const int64_t count = d * rows;
  const float* x = a.x + n * rows * c;
  Scratch<float, kInlineChannels> shift(static_cast<size_t>(c));
  for (int64_t g = 0; g < groups; ++g) {
    // The group's k-th value in storage order is in row k / d, channel g * d + k % d.
    const float* xg = x + g * d;
    const float sh =
        median_of_first_three(count, [xg, c, d](int64_t k) { return xg[(k / d) * c + k % d]; });
    for (int64_t i = 0; i < d; ++i) shift[g * d + i] = sh;
  }
  Scratch<ShiftedSums, kInlineChannels> channel_sums(static_cast<size_t>(c));
  Scratch<ShiftedSums, kInlineChannels> group_sums(static_cast<size_t>(groups));
  const bool fast = fast_column_sums_inexact();
  column_moments(x, rows, c, shift.data(), threads, fast, channel_sums.data());
  merge_groups(channel_sums.data(), groups, d, group_sums.data());
  if (fast) {
    bool trusted = true;
    for (int64_t g = 0; g < groups && trusted; ++g) {
      trusted = trust_fast_sums<true>(group_sums[g], count);
    }
    // Rare (a shift far from its group's mean, huge or tiny data): sum again exactly.
    if (!trusted) {
      column_moments(x, rows, c, shift.data(), threads, false, channel_sums.data());
      merge_groups(channel_sums.data(), groups, d, group_sums.data());
    }
  }
  Scratch<double, kInlineChannels> mean(static_cast<size_t>(groups));
  Scratch<double, kInlineChannels> rstd(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const Stats st = finish_centred(group_sums[g], shift[g * d], count, a.eps);
    a.stats.record(n * groups + g, st);
    mean[g] = st.mean;
    rstd[g] = st.rstd;
  }
  ChannelAffine affine(c);
  affine.fill(mean.data(), rstd.data(), d, a.weight, a.bias);
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
  if (threads > 1 && a.batch >= threads) {
    // A sample per thread at a time: no partials to merge, the sample stays in its core's L2.
    parallel_for(threads, a.batch, [&](int, int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) normalize_sample(a, n, 1, stream);
    });
  } else {
    for (int64_t n = 0; n < a.batch; ++n) normalize_sample(a, n, threads, stream);
  }
}

}  // namespace normkit
