// Channels-first normalization with statistics over sets of runs: set k is the runs
// x + k * set_step + j * run_step (j in [0, runs)) of run_len values each. BatchNorm: a set per
// channel, a run per sample. GroupNorm: a set per (sample, group), a run per channel of the
// group (the set is contiguous); InstanceNorm: groups of one channel.
#pragma once

#include <cstdint>

#include "kernels/finish.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

struct RunSets {
  const float* x;
  float* y;
  int64_t sets, runs, run_len, set_step, run_step;
  // Channel of run j of set k: (k % channel_period) * set_channels + j * run_channels.
  int64_t channel_period, set_channels, run_channels;
  const float* weight;  // per channel; may be null
  const float* bias;
  double eps;
  StatsOut stats;  // per set
};

void normalize_run_sets(const RunSets& s);

NORMKIT_TIER_END
}  // namespace normkit
