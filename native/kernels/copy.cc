#include "kernels/copy.h"

#include "kernels/simd.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {
NORMKIT_TIER_BEGIN

namespace {
void scale_copy_range(const float* x, float* y, int64_t begin, int64_t end, float a, float b) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) y[i] = a * x[i] + b;
}
}  // namespace

void scale_copy(const float* x, float* y, int64_t n, float a, float b) {
  parallel_for(threads_for(n, kGrainValues), n,
               [&](int, int64_t begin, int64_t end) { scale_copy_range(x, y, begin, end, a, b); });
}

NORMKIT_TIER_END
}  // namespace normkit
