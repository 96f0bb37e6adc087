// What BatchNorm and InstanceNorm share beyond the normalization itself: normalizing with the
// running statistics (eval), and updating them from batch statistics (training).
#pragma once

#include <cstdint>
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

// out = (x - running_mean[c]) / sqrt(running_var[c] + eps) * w[c] + b[c] for every sample, in
// either layout. save_mean / save_rstd (may be null) receive the running mean and
// 1/sqrt(running_var + eps) of each channel, `repeats` times over (one per sample for
// InstanceNorm).
void normalize_with_running_stats(const float* x, float* out, int64_t batch, int64_t channels,
                                  int64_t spatial, bool channels_last, const float* weight,
                                  const float* bias, const float* running_mean,
                                  const float* running_var, double eps, float* save_mean,
                                  float* save_rstd, int64_t repeats);

// running = (1 - momentum) * running + momentum * batch statistic, where the batch statistic of
// channel c is the average over `samples` rows of `channels` (mean[s * channels + c]; for
// InstanceNorm a row per sample, as PyTorch averages its per-instance updates) and the variance
// is made unbiased with `unbias`. Either running array may be null.
void update_running_stats(float* running_mean, float* running_var, int64_t channels,
                          const double* mean, const double* var, int64_t samples, double unbias,
                          double momentum);

NORMKIT_TIER_END
}  // namespace normkit
