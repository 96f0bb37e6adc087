// Where kernels/ops.h and kernels/copy.h declare the kernels: in a kernel file (compiled per
// tier), the tier's namespace, which defines them; elsewhere normkit's, where kernels/dispatch.cc
// defines them to call the tier in use.
#pragma once

#if defined(NORMKIT_TIER_AVX512) || defined(NORMKIT_TIER_AVX2) || \
    defined(NORMKIT_TIER_BASELINE) || defined(NORMKIT_TIER_NEON)
#include "kernels/tier.h"
#define NORMKIT_OPS_BEGIN NORMKIT_TIER_BEGIN
#define NORMKIT_OPS_END NORMKIT_TIER_END
#else
#define NORMKIT_OPS_BEGIN
#define NORMKIT_OPS_END
#endif
