// add_rms_norm_forward: sum_out = input + residual; out = rms_norm(sum_out). Aliasing as
// add_layer_norm_forward.
//
// Residual add + RMSNorm: add_layer_norm's pre-op on RMSNorm's uncentred row moments.
#include "kernels/ops.h"
#include "kernels/row_norm.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void add_rms_norm_forward(const float* input, const float* residual, int64_t rows, int64_t cols,
                          const float* weight, double eps, float* out, float* sum_out,
                          float* save_rstd) {
  run_row_norm</*kCentre=*/false, /*kAdd=*/true>({input,
                                                  residual,
                                                  sum_out,
                                                  rows,
                                                  cols,
                                                  weight,
                                                  nullptr,
                                                  eps,
                                                  out,
                                                  {nullptr, save_rstd, nullptr, nullptr}});
}

NORMKIT_TIER_END
}  // namespace normkit
