// BatchNorm's checks: statistics per channel over the batch and the spatial axes; training
// (batch statistics, running statistics updated with the unbiased variance) and eval (running
// statistics normalize), over harness.h's channel sweeps.
#include <cstdint>

#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const ChannelKernel kBatchNorm = {
    "batch_norm_forward",
    [](const ChannelCall& a) {
      normkit::batch_norm_forward(a.input, a.batch, a.channels, a.spatial, a.channels_last,
                                  a.weight, a.bias, a.running_mean, a.running_var, a.training,
                                  kMomentum, kEps, a.out, a.save_mean, a.save_rstd);
    },
    // A statistic per channel.
    [](const Shape& s, int64_t) { return s.channels; },
    [](const Buffer<float>& x, const Shape& s, int64_t, const float* w, const float* b) {
      return grouped_reference(x, s, s.channels, [](int64_t, int64_t ch) { return ch; }, w, b);
    },
    // The running update takes the channel's statistics over the whole batch.
    [](const Shape&) { return int64_t{1}; },
};

// Training needs more than one value per channel (the caller checks).
bool trains(const Shape& s) { return s.batch * s.spatial != 1; }

NORMKIT_KERNEL_CHECK(batch_norm_forward) {
  for_each_channel_shape([](const Shape& s, bool small) {
    for (const ChannelOptions& o : channel_options(small)) {
      if (trains(s)) {
        run_channels(kBatchNorm,
                     {s, 0, true, o.weight, o.bias, o.running, o.stats, o.in_place, Data::kPlain});
      }
      // Eval requires the running statistics.
      run_channels(kBatchNorm,
                   {s, 0, false, o.weight, o.bias, true, o.stats, o.in_place, Data::kPlain});
    }
    for (Data d : kHardData) {
      if (trains(s)) run_channels(kBatchNorm, {s, 0, true, true, true, true, true, false, d});
      run_channels(kBatchNorm, {s, 0, false, true, true, true, true, false, d});
    }
    if (s.batch * s.spatial > 1 && s.channels > 1) {
      for (int plant : {1, 2}) {
        run_channels(kBatchNorm,
                     {s, 0, true, false, false, false, false, false, Data::kPlain, plant});
      }
    }
  });
}

NORMKIT_LARGE_KERNEL_CHECK(batch_norm_forward) {
  for (const Shape& s : large_channel_shapes()) {
    for (bool in_place : {false, true}) {
      run_channels(kBatchNorm, {s, 0, true, true, true, true, true, in_place, Data::kPlain});
    }
    run_channels(kBatchNorm, {s, 0, false, true, true, true, false, true, Data::kPlain});
  }
}

}  // namespace
}  // namespace normkit::harness
