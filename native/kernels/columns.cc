#include "kernels/columns.h"

#include <algorithm>

#include "kernels/scratch.h"
#include "kernels/tiers.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void column_moments(const float* x, int64_t rows, int64_t c, const float* shift, int threads,
                    bool fast, bool prefetch, ShiftedSums* sums) {
  if (c <= 0) return;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, rows)));
  // Partials: per thread, s1 then s2, each padded to whole cache lines.
  const int64_t stride = (c + kDoublesPerLine - 1) / kDoublesPerLine * kDoublesPerLine;
  Scratch<double, 2 * kInlineChannels> partial(static_cast<size_t>(threads * stride * 2));
  std::fill(partial.data(), partial.data() + threads * stride * 2, 0.0);
  parallel_for(threads, rows, [&](int t, int64_t begin, int64_t end) {
    double* s1 = partial.data() + t * stride * 2;
    if (fast) {
      Tier::column_sums_fast(x, begin, end, c, shift, s1, s1 + stride, prefetch);
    } else {
      Tier::column_sums(x, begin, end, c, shift, s1, s1 + stride);
    }
  });
  for (int64_t i = 0; i < c; ++i) {
    ShiftedSums acc;
    for (int t = 0; t < threads; ++t) {
      acc.s1 += partial[t * stride * 2 + i];
      acc.s2 += partial[t * stride * 2 + stride + i];
    }
    sums[i] = acc;
  }
}

NORMKIT_TIER_END
}  // namespace normkit
