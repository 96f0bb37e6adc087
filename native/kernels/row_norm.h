// The row-wise normalizations (LayerNorm, RMSNorm, and both with the residual add): each row's
// moments (kernels/rows.h), finished (kernels/finish.h) and applied with per-element weight and
// bias (kernels/apply.h) while the row is still in L1/L2, so it is read from memory once.
#pragma once

#include <cstdint>

#include "kernels/apply.h"
#include "kernels/finish.h"
#include "kernels/rows.h"
#include "kernels/tiers.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {

struct RowNorm {
  const float* input;
  const float* residual;  // with the add: sum_out = input + residual is what is normalized
  float* sum_out;
  int64_t rows, cols;
  const float* weight;
  const float* bias;
  double eps;
  float* out;
  StatsOut stats;  // per row
};

template <class T, bool kCentre, bool kAdd, bool kWeight, bool kBias, bool kStream>
NORMKIT_INLINE void normalize_rows(const RowNorm& a, int64_t begin, int64_t end) {
  const int64_t n = a.cols;
  for (int64_t r = begin; r < end; ++r) {
    const float* src;
    RunMoments m;
    if constexpr (kAdd) {
      src = a.sum_out + r * n;
      m = add_run_moments<T, kCentre>(a.input + r * n, a.residual + r * n, a.sum_out + r * n, n);
    } else {
      src = a.input + r * n;
      m = run_moments<T, kCentre>(src, n);
    }
    const Stats st =
        kCentre ? finish_centred(m.sums, m.shift, n, a.eps) : finish_uncentred(m.sums, n, a.eps);
    a.stats.record(r, st);
    T::template apply_run<kWeight, kBias, kStream>(src, a.out + r * n, n,
                                                   affine_form(st.mean, st.rstd, 0.0), a.weight,
                                                   a.bias);
  }
  if constexpr (kStream) T::fence();
}

// The instantiation for the given weight, bias and streaming flags.
template <class T, bool kCentre, bool kAdd>
NORMKIT_INLINE void normalize_rows(const RowNorm& a, int64_t begin, int64_t end, bool stream) {
  if constexpr (T::kHasStreamingStores) {
    if (stream) {
      if (a.weight && a.bias) return normalize_rows<T, kCentre, kAdd, true, true, true>(a, begin, end);
      if (a.weight) return normalize_rows<T, kCentre, kAdd, true, false, true>(a, begin, end);
      if (a.bias) return normalize_rows<T, kCentre, kAdd, false, true, true>(a, begin, end);
      return normalize_rows<T, kCentre, kAdd, false, false, true>(a, begin, end);
    }
  }
  if (a.weight && a.bias) return normalize_rows<T, kCentre, kAdd, true, true, false>(a, begin, end);
  if (a.weight) return normalize_rows<T, kCentre, kAdd, true, false, false>(a, begin, end);
  if (a.bias) return normalize_rows<T, kCentre, kAdd, false, true, false>(a, begin, end);
  normalize_rows<T, kCentre, kAdd, false, false, false>(a, begin, end);
}

using RowNormEntry = void(const RowNorm&, int64_t, int64_t, bool);

// Rows split over the threads, on the op's entry point for the tier in use.
inline void run_row_norm(const RowNorm& a, RowNormEntry* portable, RowNormEntry* avx512) {
  if (a.rows <= 0) return;
  if (a.cols <= 0) return a.stats.record_empty(a.rows);
  const int64_t bytes = a.rows * a.cols * static_cast<int64_t>(sizeof(float));
  const int64_t arrays = a.residual ? 2 : 1;  // input and residual in; sum and out written
  const bool stream = stream_output(arrays * bytes, arrays * bytes);
  RowNormEntry* entry = tier_entry<RowNormEntry>(portable, avx512);
  parallel_for(threads_for(a.rows * a.cols, kGrainValues), a.rows,
               [&](int, int64_t begin, int64_t end) { entry(a, begin, end, stream); });
}

}  // namespace normkit
