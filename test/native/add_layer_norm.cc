// Residual add + LayerNorm's checks: the float32 sum, then LayerNorm's centred rows, with every
// aliasing of out and sum_out onto input and residual the kernel allows (harness.h's row
// sweeps).
#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const RowKernel kAddLayerNorm = {
    "add_layer_norm_forward",
    /*centred=*/true,
    /*fused_add=*/true,
    [](const RowCall& a) {
      normkit::add_layer_norm_forward(a.input, a.residual, a.rows, a.cols, a.weight, a.bias, kEps,
                                      a.out, a.sum_out, a.save_mean, a.save_rstd);
    },
    // The harness hands the reference the float32 sum.
    [](const float* sum, int64_t rows, int64_t cols, const float* w, const float* b) {
      return row_reference(sum, rows, cols, w, b, /*centre=*/true);
    },
};

NORMKIT_KERNEL_CHECK(add_layer_norm_forward) { check_rows(kAddLayerNorm); }
NORMKIT_LARGE_KERNEL_CHECK(add_layer_norm_forward) { check_rows_large(kAddLayerNorm); }

}  // namespace
}  // namespace normkit::harness
