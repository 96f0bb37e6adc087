#include "kernels/running_stats.h"

#include "kernels/apply.h"
#include "kernels/finish.h"
#include "kernels/scratch.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void normalize_with_running_stats(const float* x, float* out, int64_t batch, int64_t channels,
                                  int64_t spatial, bool channels_last, const float* weight,
                                  const float* bias, const float* running_mean,
                                  const float* running_var, double eps, float* save_mean,
                                  float* save_rstd, int64_t repeats) {
  if (channels <= 0) return;
  Scratch<double, kInlineChannels> mean(static_cast<size_t>(channels));
  Scratch<double, kInlineChannels> rstd(static_cast<size_t>(channels));
  double* m = mean.data();
  double* s = rstd.data();
#pragma omp simd
  for (int64_t c = 0; c < channels; ++c) {
    m[c] = running_mean[c];
    s[c] = rstd_of(running_var[c], eps);
  }
  if (save_mean || save_rstd) {
    const StatsOut saved{save_mean, save_rstd, nullptr, nullptr};
    for (int64_t r = 0; r < repeats; ++r) {
      for (int64_t c = 0; c < channels; ++c) saved.record(r * channels + c, {m[c], 0.0, s[c]});
    }
  }
  apply_channel_stats(x, out, batch, channels, spatial, channels_last, mean.data(), rstd.data(),
                      weight, bias);
}

void update_running_stats(float* running_mean, float* running_var, int64_t channels,
                          const double* mean, const double* var, int64_t samples, double unbias,
                          double momentum) {
  if (samples <= 0) return;
  for (int64_t c = 0; c < channels; ++c) {
    double m = 0, v = 0;
    for (int64_t s = 0; s < samples; ++s) {
      m += mean[s * channels + c];
      v += var[s * channels + c];
    }
    m /= static_cast<double>(samples);
    v /= static_cast<double>(samples);
    if (running_mean) {
      running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * m);
    }
    if (running_var) {
      running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * v * unbias);
    }
  }
}

NORMKIT_TIER_END
}  // namespace normkit
