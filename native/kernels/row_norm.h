// The row-wise normalizations (LayerNorm, RMSNorm, and both with the residual add): each row's
// moments (kernels/rows.h), finished (kernels/finish.h) and applied with per-element weight and
// bias (kernels/apply.h) while the row is still in L1/L2, so it is read from memory once. With
// the residual add both steps read a + b; the apply writes the sum.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/apply.h"
#include "kernels/finish.h"
#include "kernels/rows.h"
#include "kernels/tier.h"
#include "kernels/tiers.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {
NORMKIT_TIER_BEGIN

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

// Output stores: cached, streaming for the output, or streaming for the output and the sum
// (the sum streams only where it shares the output's alignment).
enum StreamMode { kNoStream, kStreamOut, kStreamOutAndSum };

// The apply step's parameters of a row: the float form, and the statistics for the exact path
// where the form cannot hold them (needs_exact in kernels/apply.h).
struct RowForm {
  Affine f;
  double mean, rstd;
  bool exact;
};

// Row r's sums (fast where trusted, else exact) and the shift they are taken about.
template <class T, bool kCentre, bool kAdd>
NORMKIT_INLINE RunMoments row_moments(const RowNorm& a, int64_t r) {
  const int64_t n = a.cols, at = r * n;
  return kAdd ? add_run_moments<T, kCentre>(a.input + at, a.residual + at, n)
              : run_moments<T, kCentre>(a.input + at, n);
}

// Row r's statistics from its sums, recorded, as the apply step's parameters.
template <bool kCentre>
NORMKIT_INLINE RowForm row_form(const RowNorm& a, int64_t r, const RunMoments& m) {
  const int64_t n = a.cols;
  const Stats st =
      kCentre ? finish_centred(m.sums, m.shift, n, a.eps) : finish_uncentred(m.sums, n, a.eps);
  a.stats.record(r, st);
  return {affine_form(st.mean, st.rstd, 0.0), st.mean, st.rstd, needs_exact(st.mean, st.rstd)};
}

template <class T, bool kCentre, bool kAdd>
NORMKIT_INLINE RowForm row_affine(const RowNorm& a, int64_t r) {
  return row_form<kCentre>(a, r, row_moments<T, kCentre, kAdd>(a, r));
}

template <class T, bool kAdd, bool kWeight, bool kBias, int kStreamMode>
NORMKIT_INLINE void row_apply(const RowNorm& a, int64_t r, const RowForm& form) {
  constexpr bool kStream = kStreamMode != kNoStream;
  const int64_t n = a.cols, at = r * n;
  const Affine f = form.f;
  if (form.exact) {
    if constexpr (kAdd) {
      exact_add_run(a.input + at, a.residual + at, a.sum_out + at, a.out + at, n, form.mean,
                    form.rstd, a.weight, a.bias);
    } else {
      exact_run(a.input + at, a.out + at, n, form.mean, form.rstd, a.weight, a.bias);
    }
    return;
  }
  if constexpr (kAdd) {
    T::template add_apply_run<kWeight, kBias, kStream, kStreamMode == kStreamOutAndSum>(
        a.input + at, a.residual + at, a.sum_out + at, a.out + at, n, f, a.weight, a.bias);
  } else {
    T::template apply_run<kWeight, kBias, kStream>(a.input + at, a.out + at, n, f, a.weight,
                                                   a.bias);
  }
}

// Row r's values: the input's row, or the residual sum's.
template <bool kAdd>
NORMKIT_INLINE auto row_src(const RowNorm& a, int64_t r) {
  if constexpr (kAdd) {
    return SumOf{a.input + r * a.cols, a.residual + r * a.cols};
  } else {
    return Values{a.input + r * a.cols};
  }
}

// Rows [begin, end) as a software pipeline: each row is normalized while the next one's sums are
// taken in the same loop (apply_and_accumulate_row), so reading new rows and writing results
// overlap as in a copy (LayerNorm [174762, 768] out of cache, 2 threads: from 0.6 to 0.75 of the
// streaming-store copy, 0.8 to 0.9 with the prefetch). The first row's sums, and those after a
// row on the exact path, are taken alone (row_moments); pipelined sums the trust check rejects
// are redone exactly before they are used.
template <class T, bool kCentre, bool kAdd, bool kWeight, bool kBias, int kStreamMode>
NORMKIT_INLINE void rows_pipelined(const RowNorm& a, int64_t begin, int64_t end) {
  constexpr bool kStream = kStreamMode != kNoStream;
  constexpr bool kStreamSum = kStreamMode == kStreamOutAndSum;
  const int64_t n = a.cols;
  // The lines kPrefetchAheadValues past those of the next row being summed are prefetched into
  // L2 (kernels/tiling.h), so that the loads of each new row do not wait on memory where the
  // hardware prefetchers, which stop at page boundaries, fall behind.
  const int64_t ahead = end - begin > 2 ? std::min(n, kPrefetchAheadValues) : 0;
  RunMoments m = row_moments<T, kCentre, kAdd>(a, begin);
  bool pipelined = false;  // m's sums came from the pipeline, unchecked
  for (int64_t r = begin; r < end; ++r) {
    const int64_t at = r * n;
    if (pipelined && T::kFastSumsInexact && !trust_fast_sums<kCentre>(m.sums, n)) {
      // The pipelined sums of this row are rejected: exact ones, about the same shift.
      m.sums = ShiftedSums{};
      if constexpr (kAdd) {
        T::template add_run_sums<kCentre>(a.input + at, a.residual + at, n, m.shift, m.sums);
      } else {
        T::template run_sums<kCentre>(a.input + at, n, m.shift, m.sums);
      }
    }
    const RowForm form = row_form<kCentre>(a, r, m);
    if (r + 1 == end || form.exact) {
      row_apply<T, kAdd, kWeight, kBias, kStreamMode>(a, r, form);
      if (r + 1 < end) m = row_moments<T, kCentre, kAdd>(a, r + 1);
      pipelined = false;
      continue;
    }
    const auto next = row_src<kAdd>(a, r + 1);
    const float next_shift =
        kCentre ? median_of_first_three(n, [&next](int64_t k) { return next[k]; }) : 0.0f;
    m = RunMoments{ShiftedSums{}, next_shift};
    T::template apply_and_accumulate_row<kCentre, kWeight, kBias, kStream, kStreamSum>(
        row_src<kAdd>(a, r), kAdd ? a.sum_out + at : nullptr, a.out + at, n, form.f, a.weight,
        a.bias, next, next_shift, m.sums, ahead);
    pipelined = true;
  }
  if constexpr (kStream) T::fence();
}

template <class T, bool kCentre, bool kAdd, bool kWeight, bool kBias, int kStreamMode>
NORMKIT_INLINE void rows_kernel(const RowNorm& a, int64_t begin, int64_t end) {
  int64_t r = begin;
  if (a.cols > kShortRowValues) {
    return rows_pipelined<T, kCentre, kAdd, kWeight, kBias, kStreamMode>(a, begin, end);
  }
  // Short rows two at a time: the second row's statistics are independent of the first's, so
  // their latency chains (horizontal sums, divide, square root) overlap.
  for (; r + 2 <= end; r += 2) {
    const RowForm f0 = row_affine<T, kCentre, kAdd>(a, r);
    const RowForm f1 = row_affine<T, kCentre, kAdd>(a, r + 1);
    row_apply<T, kAdd, kWeight, kBias, kStreamMode>(a, r, f0);
    row_apply<T, kAdd, kWeight, kBias, kStreamMode>(a, r + 1, f1);
  }
  for (; r < end; ++r) {
    row_apply<T, kAdd, kWeight, kBias, kStreamMode>(a, r, row_affine<T, kCentre, kAdd>(a, r));
  }
  if constexpr (kStreamMode != kNoStream) T::fence();
}

template <class T, bool kCentre, bool kAdd, int kStreamMode>
NORMKIT_INLINE void rows_with_params(const RowNorm& a, int64_t begin, int64_t end) {
  if (a.weight && a.bias)
    return rows_kernel<T, kCentre, kAdd, true, true, kStreamMode>(a, begin, end);
  if (a.weight) return rows_kernel<T, kCentre, kAdd, true, false, kStreamMode>(a, begin, end);
  if (a.bias) return rows_kernel<T, kCentre, kAdd, false, true, kStreamMode>(a, begin, end);
  rows_kernel<T, kCentre, kAdd, false, false, kStreamMode>(a, begin, end);
}

// The instantiation for the given weight, bias and stream mode.
template <class T, bool kCentre, bool kAdd>
NORMKIT_INLINE void normalize_rows(const RowNorm& a, int64_t begin, int64_t end, int stream) {
  if constexpr (T::kHasStreamingStores) {
    if (kAdd && stream == kStreamOutAndSum) {
      return rows_with_params<T, kCentre, kAdd, kStreamOutAndSum>(a, begin, end);
    }
    if (stream != kNoStream) return rows_with_params<T, kCentre, kAdd, kStreamOut>(a, begin, end);
  }
  rows_with_params<T, kCentre, kAdd, kNoStream>(a, begin, end);
}

// Rows split over the threads: LayerNorm (kCentre), RMSNorm, and both with the add (kAdd).
template <bool kCentre, bool kAdd>
void run_row_norm(const RowNorm& a) {
  if (a.rows <= 0) return;
  if (a.cols <= 0) return a.stats.record_empty(a.rows);
  const int64_t bytes = a.rows * a.cols * static_cast<int64_t>(sizeof(float));
  const int64_t arrays = a.residual ? 2 : 1;  // input and residual in; sum and out written
  int stream = stream_output(arrays * bytes, arrays * bytes) ? kStreamOut : kNoStream;
  if (stream && a.residual &&
      (reinterpret_cast<uintptr_t>(a.sum_out) - reinterpret_cast<uintptr_t>(a.out)) %
              vec::kVectorBytes ==
          0) {
    stream = kStreamOutAndSum;
  }
  parallel_for(threads_for(a.rows * a.cols, kGrainValues), a.rows,
               [&](int, int64_t begin, int64_t end) {
                 normalize_rows<Tier, kCentre, kAdd>(a, begin, end, stream);
               });
}

NORMKIT_TIER_END
}  // namespace normkit
