// rms_norm_forward: torch.nn.functional.rms_norm, out = x / sqrt(mean(x^2) + eps) * weight
// over rows of `cols` values. Saves only rstd.
//
// RMSNorm: row moments without centring; per-element weight.
#include "kernels/ops.h"
#include "kernels/row_norm.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

void rms_norm_forward(const float* input, int64_t rows, int64_t cols, const float* weight,
                      double eps, float* out, float* save_rstd) {
  run_row_norm</*kCentre=*/false, /*kAdd=*/false>({input,
                                                   nullptr,
                                                   nullptr,
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
