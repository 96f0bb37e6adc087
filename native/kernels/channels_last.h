// Channels-last normalization with statistics per (sample, group) of channels: column moments
// (kernels/columns.h) per sample, merged per group, then the periodic per-channel apply.
// BatchNorm is one sample of batch * spatial rows with a group per channel.
#pragma once

#include <cstdint>

#include "kernels/finish.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

struct ChannelGroups {
  const float* x;  // (batch, spatial, channels)
  float* y;
  int64_t batch, spatial, channels, groups;  // groups divides channels
  const float* weight;                       // per channel; may be null
  const float* bias;
  double eps;
  StatsOut stats;  // per (sample, group), sample-major
};

void normalize_channel_groups(const ChannelGroups& g);

NORMKIT_TIER_END
}  // namespace normkit
