// InstanceNorm's checks: with use_input_stats, statistics per (sample, channel) over the spatial
// axes, running statistics updated with the average over samples of the per-instance updates;
// without, the running statistics normalize every sample. Over harness.h's channel sweeps.
#include <cstdint>

#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const ChannelKernel kInstanceNorm = {
    "instance_norm_forward",
    [](const ChannelCall& a) {
      normkit::instance_norm_forward(a.input, a.batch, a.channels, a.spatial, a.channels_last,
                                     a.weight, a.bias, a.running_mean, a.running_var, a.training,
                                     kMomentum, kEps, a.out, a.save_mean, a.save_rstd);
    },
    // A statistic per (sample, channel).
    [](const Shape& s, int64_t) { return s.batch * s.channels; },
    [](const Buffer<float>& x, const Shape& s, int64_t, const float* w, const float* b) {
      const int64_t c = s.channels;
      return grouped_reference(
          x, s, s.batch * c, [c](int64_t n, int64_t ch) { return n * c + ch; }, w, b);
    },
    // The running update averages the per-instance statistics over the samples, as PyTorch's
    // repeat-then-average gives.
    [](const Shape& s) { return s.batch; },
};

// The input's statistics need more than one value per plane (the caller checks).
bool trains(const Shape& s) { return s.spatial != 1; }

NORMKIT_KERNEL_CHECK(instance_norm_forward) {
  for_each_channel_shape([](const Shape& s, bool small) {
    for (const ChannelOptions& o : channel_options(small)) {
      if (trains(s)) {
        run_channels(kInstanceNorm,
                     {s, 0, true, o.weight, o.bias, o.running, o.stats, o.in_place, Data::kPlain});
      }
      // Without the input's statistics the running statistics are required.
      run_channels(kInstanceNorm,
                   {s, 0, false, o.weight, o.bias, true, o.stats, o.in_place, Data::kPlain});
    }
    for (Data d : kHardData) {
      if (trains(s)) run_channels(kInstanceNorm, {s, 0, true, true, true, true, true, false, d});
    }
    if (s.batch * s.spatial > 1 && s.channels > 1 && s.spatial > 1) {
      for (int plant : {1, 2}) {
        run_channels(kInstanceNorm,
                     {s, 0, true, false, false, false, false, false, Data::kPlain, plant});
      }
    }
  });
}

NORMKIT_LARGE_KERNEL_CHECK(instance_norm_forward) {
  for (const Shape& s : large_channel_shapes()) {
    run_channels(kInstanceNorm, {s, 0, true, true, true, true, true, false, Data::kPlain});
  }
}

}  // namespace
}  // namespace normkit::harness
