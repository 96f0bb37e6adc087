// GroupNorm's checks: statistics per (sample, group) over channels / groups channels and the
// spatial axes, per-channel weight and bias, no running statistics; one group, a group per
// channel, and between.
#include <cstdint>

#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const ChannelKernel kGroupNorm = {
    "group_norm_forward",
    [](const ChannelCall& a) {
      normkit::group_norm_forward(a.input, a.batch, a.channels, a.spatial, a.groups,
                                  a.channels_last, a.weight, a.bias, kEps, a.out, a.save_mean,
                                  a.save_rstd);
    },
    // A statistic per (sample, group).
    [](const Shape& s, int64_t groups) { return s.batch * groups; },
    [](const Buffer<float>& x, const Shape& s, int64_t groups, const float* w, const float* b) {
      const int64_t g = groups, d = s.channels / g;
      return grouped_reference(
          x, s, s.batch * g, [g, d](int64_t n, int64_t ch) { return n * g + ch / d; }, w, b);
    },
    /*running_samples=*/nullptr,
};

// Channel counts and their groups.
struct Grouping {
  int64_t channels, groups;
};
const Grouping kGroupings[] = {{0, 1}, {0, 3}, {1, 1},  {2, 1},   {2, 2},   {6, 1}, {6, 2},
                               {6, 3}, {6, 6}, {12, 4}, {33, 11}, {64, 32}, {64, 1}};

NORMKIT_KERNEL_CHECK(group_norm_forward) {
  const int64_t batches[] = {0, 1, 2, 3, 7};
  const int64_t spatials[] = {0, 1, 2, 3, 17, 33, 200};
  for (int64_t batch : batches) {
    for (const Grouping& g : kGroupings) {
      for (int64_t spatial : spatials) {
        if (batch * g.channels * spatial > kMaxValues) continue;
        for (bool channels_last : {false, true}) {
          const Shape s{batch, g.channels, spatial, channels_last};
          // Bits: 1 weight, 2 bias, 4 saved, 8 in place.
          for (int flags = 0; flags < 16; ++flags) {
            run_channels(kGroupNorm, {s, g.groups, true, (flags & 1) != 0, (flags & 2) != 0, false,
                                      (flags & 4) != 0, (flags & 8) != 0, Data::kPlain});
          }
          for (Data d : kHardData) {
            run_channels(kGroupNorm, {s, g.groups, true, true, true, false, true, false, d});
          }
          if (batch * spatial > 1 && g.channels > 1) {
            for (int plant : {1, 2}) {
              run_channels(kGroupNorm, {s, g.groups, true, true, true, false, true, false,
                                        Data::kPlain, plant});
            }
          }
        }
      }
    }
  }
}

NORMKIT_LARGE_KERNEL_CHECK(group_norm_forward) {
  for (const Shape& s : large_channel_shapes()) {
    run_channels(kGroupNorm, {s, 1, true, true, true, false, true, true, Data::kPlain});
  }
  // Several groups per sample, large.
  static const int64_t n = streaming_values();
  for (bool channels_last : {false, true}) {
    run_channels(kGroupNorm, {Shape{4, 64, n / 256 + 3, channels_last}, 32, true, true, true, false,
                              true, false, Data::kPlain});
  }
}

}  // namespace
}  // namespace normkit::harness
