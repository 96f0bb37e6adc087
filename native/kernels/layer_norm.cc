#include "kernels/layer_norm.h"

#include <cmath>

#include "kernels/avx512.h"
#include "kernels/moments.h"
#include "parallel.h"

namespace normkit {

namespace {

// Below this many values per thread a parallel region costs more than it saves.
constexpr int64_t kGrainValues = int64_t{1} << 15;

// Row statistics to the apply step's parameters, recording mean and rstd when asked.
NORMKIT_INLINE Affine finish_row(const ShiftedSums& acc, double shift, int64_t cols, double eps,
                                 int64_t r, float* mean_out, float* rstd_out) {
  const GroupStats st = finish_moments(acc, shift, cols);
  const double rstd = 1.0 / std::sqrt(st.var + eps);
  if (mean_out) mean_out[r] = static_cast<float>(st.mean);
  if (rstd_out) rstd_out[r] = static_cast<float>(rstd);
  return affine_form(st.mean, rstd, 0.0);
}

// Each row is read from memory once: it stays in L1/L2 (3 KB at 768, 16 KB at 4096) between
// its statistics and its normalization.
template <bool kWeight, bool kBias>
NORMKIT_INLINE void rows_generic(const float* x, float* y, int64_t begin, int64_t end, int64_t cols,
                                 const float* w, const float* b, double eps, float* mean_out,
                                 float* rstd_out) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * cols;
    const double shift = xr[0];
    ShiftedSums acc;
    accumulate_shifted(xr, cols, shift, acc);
    const Affine f = finish_row(acc, shift, cols, eps, r, mean_out, rstd_out);
    apply_row<kWeight, kBias>(xr, y + r * cols, cols, f, w, b);
  }
}

NORMKIT_DISPATCH void layer_norm_rows(const float* x, float* y, int64_t begin, int64_t end,
                                      int64_t cols, const float* w, const float* b, double eps,
                                      float* mean_out, float* rstd_out) {
  if (w && b)
    return rows_generic<true, true>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
  if (w) return rows_generic<true, false>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
  if (b) return rows_generic<false, true>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
  rows_generic<false, false>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
}

#if NORMKIT_HAVE_AVX512
template <bool kWeight, bool kBias, bool kStream>
NORMKIT_AVX512_INLINE void rows_avx512(const float* x, float* y, int64_t begin, int64_t end,
                                       int64_t cols, const float* w, const float* b, double eps,
                                       float* mean_out, float* rstd_out) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * cols;
    const float shift = pick_shift(xr, cols, 1);
    ShiftedSums acc;
    avx512::accumulate_shifted_fast(xr, cols, shift, acc);
    if (!avx512::trust_fast_sums(acc, cols)) {
      acc = ShiftedSums{};
      avx512::accumulate_shifted(xr, cols, shift, acc);
    }
    const Affine f = finish_row(acc, shift, cols, eps, r, mean_out, rstd_out);
    avx512::apply_run<kWeight, kBias, kStream>(xr, y + r * cols, cols, f, w, b);
  }
  if (kStream) _mm_sfence();
}

template <bool kStream>
NORMKIT_TARGET_AVX512 void layer_norm_rows_avx512(const float* x, float* y, int64_t begin,
                                                  int64_t end, int64_t cols, const float* w,
                                                  const float* b, double eps, float* mean_out,
                                                  float* rstd_out) {
  if (w && b)
    return rows_avx512<true, true, kStream>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
  if (w)
    return rows_avx512<true, false, kStream>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
  if (b)
    return rows_avx512<false, true, kStream>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
  rows_avx512<false, false, kStream>(x, y, begin, end, cols, w, b, eps, mean_out, rstd_out);
}
#endif

}  // namespace

void layer_norm_forward(const float* x, float* y, int64_t rows, int64_t cols, const float* weight,
                        const float* bias, double eps, float* mean_out, float* rstd_out) {
  if (rows <= 0 || cols <= 0) return;
  const int threads = threads_for(rows * cols, kGrainValues);
#if NORMKIT_HAVE_AVX512
  if (use_avx512()) {
    const int64_t bytes = rows * cols * static_cast<int64_t>(sizeof(float));
    const bool stream = use_streaming_stores(bytes, bytes);
    parallel_for(threads, rows, [&](int, int64_t begin, int64_t end) {
      if (stream) {
        layer_norm_rows_avx512<true>(x, y, begin, end, cols, weight, bias, eps, mean_out, rstd_out);
      } else {
        layer_norm_rows_avx512<false>(x, y, begin, end, cols, weight, bias, eps, mean_out,
                                      rstd_out);
      }
    });
    return;
  }
#endif
  parallel_for(threads, rows, [&](int, int64_t begin, int64_t end) {
    layer_norm_rows(x, y, begin, end, cols, weight, bias, eps, mean_out, rstd_out);
  });
}

}  // namespace normkit
