// RMSNorm: row moments without centring; per-element weight.
#include "kernels/ops.h"
#include "kernels/row_norm.h"

namespace normkit {

namespace {
NORMKIT_DISPATCH void rows_portable(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Portable, /*kCentre=*/false, /*kAdd=*/false>(a, begin, end, stream);
}
NORMKIT_AVX512_ENTRY void rows_avx512(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  normalize_rows<Avx512, /*kCentre=*/false, /*kAdd=*/false>(a, begin, end, stream);
}
}  // namespace

void rms_norm_forward(const float* input, int64_t rows, int64_t cols, const float* weight,
                      double eps, float* out, float* save_rstd) {
  run_row_norm({input,
                nullptr,
                nullptr,
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
