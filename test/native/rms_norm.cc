// RMSNorm's checks: uncentred row moments, weight only (harness.h's row sweeps), and rows of
// zeros.
#include <algorithm>
#include <cmath>
#include <string>

#include "harness.h"
#include "kernels/ops.h"

namespace normkit::harness {
namespace {

const RowKernel kRmsNorm = {
    "rms_norm_forward",
    /*centred=*/false,
    /*fused_add=*/false,
    [](const RowCall& a) {
      normkit::rms_norm_forward(a.input, a.rows, a.cols, a.weight, kEps, a.out, a.save_rstd);
    },
    [](const float* x, int64_t rows, int64_t cols, const float* w, const float*) {
      return row_reference(x, rows, cols, w, nullptr, /*centre=*/false);
    },
};

NORMKIT_KERNEL_CHECK(rms_norm_forward) {
  check_rows(kRmsNorm);
  // Rows of zeros: 0 / sqrt(0 + eps) = 0.
  for (int64_t cols : {int64_t{1}, int64_t{16}, int64_t{4097}}) {
    Buffer<float> x(3 * cols), y(3 * cols), rstd(3);
    std::fill(x.get(), x.get() + 3 * cols, 0.0f);
    normkit::rms_norm_forward(x.get(), 3, cols, nullptr, kEps, y.get(), rstd.get());
    const std::string where = describe(kRmsNorm.name, {3, cols}, "zero rows");
    for (int64_t i = 0; i < 3 * cols; ++i) check(y[i] == 0.0f, where, ": not 0");
    for (int64_t i = 0; i < 3; ++i) {
      check_value(rstd[i], 1.0 / std::sqrt(kEps), where, " rstd", i, 0, 1e-6);
    }
  }
}

NORMKIT_LARGE_KERNEL_CHECK(rms_norm_forward) { check_rows_large(kRmsNorm); }

}  // namespace
}  // namespace normkit::harness
