// GroupNorm's normalization, which InstanceNorm (a group per channel) shares: statistics per
// (sample, group) recorded into `stats`, sample-major.
#pragma once

#include <cstdint>

#include "kernels/finish.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void normalize_groups(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                      int64_t groups, bool channels_last, const float* weight, const float* bias,
                      double eps, float* out, const StatsOut& stats);

NORMKIT_TIER_END
}  // namespace normkit
