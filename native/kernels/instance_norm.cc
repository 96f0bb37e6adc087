// instance_norm_forward: torch.nn.functional.instance_norm: with use_input_stats, statistics
// per (sample, channel) over the spatial axes (spatial > 1 required), and running statistics
// (when not null) updated with the batch mean of the per-instance updates (unbiased variance
// over spatial). Without use_input_stats, running_mean and running_var (not null) normalize
// every sample. Saved: batch * channels values, sample-major.
//
// InstanceNorm: GroupNorm with a group per channel, plus PyTorch's running-statistics update;
// without input statistics, BatchNorm's eval.
#include "kernels/groups.h"
#include "kernels/ops.h"
#include "kernels/running_stats.h"
#include "kernels/scratch.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void instance_norm_forward(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                           bool channels_last, const float* weight, const float* bias,
                           float* running_mean, float* running_var, bool use_input_stats,
                           double momentum, double eps, float* out, float* save_mean,
                           float* save_rstd) {
  if (channels <= 0) return;
  if (!use_input_stats) {
    return normalize_with_running_stats(input, out, batch, channels, spatial, channels_last, weight,
                                        bias, running_mean, running_var, eps, save_mean, save_rstd,
                                        batch);
  }
  // PyTorch runs batch_norm on the (1, N * C, ...) view with the running statistics repeated N
  // times, then averages the N updated copies. Nothing to average when the batch or the planes
  // are empty: the running statistics stay as they are.
  const bool update = (running_mean || running_var) && batch > 0 && spatial > 0;
  const size_t planes = update ? static_cast<size_t>(batch * channels) : 0;
  Scratch<double, kInlineChannels> mean(planes), var(planes);
  normalize_groups(
      input, batch, channels, spatial, channels, channels_last, weight, bias, eps, out,
      {save_mean, save_rstd, update ? mean.data() : nullptr, update ? var.data() : nullptr});
  if (update) {
    const double unbias = spatial > 1 ? static_cast<double>(spatial) / (spatial - 1) : 1.0;
    update_running_stats(running_mean, running_var, channels, mean.data(), var.data(), batch,
                         unbias, momentum);
  }
}

NORMKIT_TIER_END
}  // namespace normkit
