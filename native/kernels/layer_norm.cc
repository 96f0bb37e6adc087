// layer_norm_forward: torch.nn.functional.layer_norm over `rows` contiguous rows of `cols`
// values.
//
// LayerNorm: row moments, centred; per-element weight and bias.
#include "kernels/ops.h"
#include "kernels/row_norm.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void layer_norm_forward(const float* input, int64_t rows, int64_t cols, const float* weight,
                        const float* bias, double eps, float* out, float* save_mean,
                        float* save_rstd) {
  run_row_norm</*kCentre=*/true, /*kAdd=*/false>({input,
                                                  nullptr,
                                                  nullptr,
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
