// add_layer_norm_forward: sum_out = input + residual; out = layer_norm(sum_out). sum_out may
// equal input or residual; out may equal input or residual, never sum_out.
//
// Residual add + LayerNorm: the add as the pre-op of the row moments, which write the sums the
// apply then reads back from L1/L2 (four memory streams where add, then LayerNorm, take five).
#include "kernels/ops.h"
#include "kernels/row_norm.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void add_layer_norm_forward(const float* input, const float* residual, int64_t rows, int64_t cols,
                            const float* weight, const float* bias, double eps, float* out,
                            float* sum_out, float* save_mean, float* save_rstd) {
  run_row_norm</*kCentre=*/true, /*kAdd=*/true>({input,
                                                 residual,
                                                 sum_out,
                                                 rows,
                                                 cols,
                                                 weight,
                                                 bias,
                                                 eps,
                                                 out,
                                                 {save_mean, save_rstd, nullptr, nullptr}});
}

NORMKIT_TIER_END
}  // namespace normkit
