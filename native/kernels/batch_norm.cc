// batch_norm_forward: torch.nn.functional.batch_norm. Training: batch statistics per channel,
// running statistics (when not null) updated with `momentum` (variance unbiased); requires
// batch * spatial != 1. Eval: running_mean and running_var (not null) normalize. Saved: per
// channel.
//
// BatchNorm: statistics per channel over the batch. Channels-first, a set of runs (a plane per
// sample) per channel; channels-last, column moments over all batch * spatial rows. Eval
// applies the running statistics.
#include "kernels/channels_first.h"
#include "kernels/channels_last.h"
#include "kernels/ops.h"
#include "kernels/running_stats.h"
#include "kernels/scratch.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void batch_norm_forward(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                        bool channels_last, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, double momentum,
                        double eps, float* out, float* save_mean, float* save_rstd) {
  if (channels <= 0) return;
  if (!training) {
    return normalize_with_running_stats(input, out, batch, channels, spatial, channels_last, weight,
                                        bias, running_mean, running_var, eps, save_mean, save_rstd,
                                        1);
  }
  const int64_t count = batch * spatial;
  // An empty batch leaves the running statistics alone, as PyTorch does; no scratch is needed.
  if (count <= 0) return StatsOut{save_mean, save_rstd}.record_empty(channels);
  Scratch<double, kInlineChannels> mean(static_cast<size_t>(channels));
  Scratch<double, kInlineChannels> var(static_cast<size_t>(channels));
  const StatsOut stats{save_mean, save_rstd, mean.data(), var.data()};
  // Data with one value per (n, c) is channels-last whatever the flag says.
  if (channels_last || spatial == 1) {
    normalize_channel_groups({input, out, 1, count, channels, channels, weight, bias, eps, stats});
  } else {
    normalize_run_sets({input, out, channels, batch, spatial, spatial, channels * spatial, channels,
                        1, 0, weight, bias, eps, stats});
  }
  const double unbias = count > 1 ? static_cast<double>(count) / (count - 1) : 1.0;
  update_running_stats(running_mean, running_var, channels, mean.data(), var.data(), 1, unbias,
                       momentum);
}

NORMKIT_TIER_END
}  // namespace normkit
