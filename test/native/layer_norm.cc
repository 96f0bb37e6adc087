// LayerNorm's checks: centred row moments, weight and bias (harness.h's row sweeps).
#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const RowKernel kLayerNorm = {
    "layer_norm_forward",
    /*centred=*/true,
    /*fused_add=*/false,
    [](const RowCall& a) {
      normkit::layer_norm_forward(a.input, a.rows, a.cols, a.weight, a.bias, kEps, a.out,
                                  a.save_mean, a.save_rstd);
    },
    [](const float* x, int64_t rows, int64_t cols, const float* w, const float* b) {
      return row_reference(x, rows, cols, w, b, /*centre=*/true);
    },
};

NORMKIT_KERNEL_CHECK(layer_norm_forward) { check_rows(kLayerNorm); }
NORMKIT_LARGE_KERNEL_CHECK(layer_norm_forward) { check_rows_large(kLayerNorm); }

}  // namespace
}  // namespace normkit::harness
