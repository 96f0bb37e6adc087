// Residual add + RMSNorm: add_layer_norm's pre-op on RMSNorm's uncentred row moments.
#include "kernels/ops.h"
#include "kernels/row_norm.h"

namespace normkit {

namespace {
NORMKIT_DISPATCH void rows_portable(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Portable, /*kCentre=*/false, /*kAdd=*/true>(a, begin, end, stream);
}
NORMKIT_AVX512_ENTRY void rows_avx512(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Avx512, /*kCentre=*/false, /*kAdd=*/true>(a, begin, end, stream);
}
}  // namespace

void add_rms_norm_forward(const float* input, const float* residual, int64_t rows, int64_t cols,
                          const float* weight, double eps, float* out, float* sum_out,
                          float* save_rstd) {
  run_row_norm({input,
                residual,
                sum_out,
                rows,
                cols,
                weight,
                nullptr,
                eps,
                out,
                {nullptr, save_rstd, nullptr, nullptr}},
               rows_portable, rows_avx512);
}

}  // namespace normkit
