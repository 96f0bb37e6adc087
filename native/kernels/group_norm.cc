// group_norm_forward: torch.nn.functional.group_norm: statistics per (sample, group) over
// channels / groups channels and the spatial axes; per-channel weight and bias.
// channels % groups == 0, groups > 0. Saved: batch * groups values, sample-major.
//
// GroupNorm: channels-first, each (sample, group) is a contiguous set of runs (row moments,
// per-channel apply); channels-last, column moments per sample merged per group, periodic apply.
#include "kernels/channels_first.h"
#include "kernels/channels_last.h"
#include "kernels/groups.h"
#include "kernels/ops.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void normalize_groups(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                      int64_t groups, bool channels_last, const float* weight, const float* bias,
                      double eps, float* out, const StatsOut& stats) {
  if (groups <= 0) return;
  const int64_t d = channels / groups;
  // With one value per (sample, channel) both layouts are the same memory; the channels-first
  // sets are then plain rows.
  if (channels_last && spatial > 1) {
    normalize_channel_groups(
        {input, out, batch, spatial, channels, groups, weight, bias, eps, stats});
  } else {
    normalize_run_sets({input, out, batch * groups, d, spatial, d * spatial, spatial, groups, d, 1,
                        weight, bias, eps, stats});
  }
}

void group_norm_forward(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                        int64_t groups, bool channels_last, const float* weight, const float* bias,
                        double eps, float* out, float* save_mean, float* save_rstd) {
  normalize_groups(input, batch, channels, spatial, groups, channels_last, weight, bias, eps, out,
                   {save_mean, save_rstd, nullptr, nullptr});
}

NORMKIT_TIER_END
}  // namespace normkit
