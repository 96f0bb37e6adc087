// Residual add + RMSNorm's checks: the float32 sum, then RMSNorm's uncentred rows, with every
// aliasing of out and sum_out onto input and residual the kernel allows (harness.h's row
// sweeps).
#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const RowKernel kAddRmsNorm = {
    "add_rms_norm_forward",
    /*centred=*/false,
    /*fused_add=*/true,
    [](const RowCall& a) {
      normkit::add_rms_norm_forward(a.input, a.residual, a.rows, a.cols, a.weight, kEps, a.out,
                                    a.sum_out, a.save_rstd);
    },
    // The harness hands the reference the float32 sum.
    [](const float* sum, int64_t rows, int64_t cols, const float* w, const float*) {
      return row_reference(sum, rows, cols, w, nullptr, /*centre=*/false);
    },
};

NORMKIT_KERNEL_CHECK(add_rms_norm_forward) { check_rows(kAddRmsNorm); }
NORMKIT_LARGE_KERNEL_CHECK(add_rms_norm_forward) { check_rows_large(kAddRmsNorm); }

}  // namespace
}  // namespace normkit::harness
