// LayerNorm: row moments, centred; per-element weight and bias.
#include "kernels/ops.h"
#include "kernels/row_norm.h"

namespace normkit {

namespace {
NORMKIT_DISPATCH void rows_portable(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Portable, /*kCentre=*/true, /*kAdd=*/false>(a, begin, end, stream);
}
NORMKIT_AVX512_ENTRY void rows_avx512(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Avx512, /*kCentre=*/true, /*kAdd=*/false>(a, begin, end, stream);
}
}  // namespace

void layer_norm_forward(const float* input, int64_t rows, int64_t cols, const float* weight,
                        const float* bias, double eps, float* out, float* save_mean,
                        float* save_rstd) {
  run_row_norm({input,
                nullptr,
                nullptr,
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
