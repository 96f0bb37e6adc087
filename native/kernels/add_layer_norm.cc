// Residual add + LayerNorm: the add as the pre-op of the row moments, which write the sums the
// apply then reads back from L1/L2 (four memory streams where add, then LayerNorm, take five).
#include "kernels/ops.h"
#include "kernels/row_norm.h"

namespace normkit {

namespace {
NORMKIT_DISPATCH void rows_portable(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Portable, /*kCentre=*/true, /*kAdd=*/true>(a, begin, end, stream);
}
NORMKIT_AVX512_ENTRY void rows_avx512(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Avx512, /*kCentre=*/true, /*kAdd=*/true>(a, begin, end, stream);
}
}  // namespace

void add_layer_norm_forward(const float* input, const float* residual, int64_t rows, int64_t cols,
                            const float* weight, const float* bias, double eps, float* out,
                            float* sum_out, float* save_mean, float* save_rstd) {
  run_row_norm({input,
                residual,
                sum_out,
                rows,
                cols,
                weight,
                bias,
                eps,
                out,
                {save_mean, save_rstd, nullptr, nullptr}},
               rows_portable, rows_avx512);
}

}  // namespace normkit
