// Moments over channels-last columns: each channel summed down rows of `c` values. Threads take
// ranges of rows and keep per-thread partial sums, merged once at the end; all partials of a
// channel share its shift, so the merge is plain addition.
//
// PortableColumns here and Avx512Columns in kernels/columns_avx512.h are the per-tier
// primitives; column_moments (columns.cc) is the threaded driver.
#pragma once

#include <cstdint>

#include "kernels/moments.h"
#include "kernels/simd.h"

namespace normkit {

struct PortableColumns {
  // Adds (x - shift[i]) and its square over rows [begin, end) into s1[i], s2[i], vectorized
  // across channels.
  NORMKIT_INLINE static void column_sums(const float* x, int64_t begin, int64_t end, int64_t c,
                                         const float* shift, double* s1, double* s2) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * c;
#pragma omp simd
      for (int64_t i = 0; i < c; ++i) {
        const double d = static_cast<double>(xr[i]) - static_cast<double>(shift[i]);
        s1[i] += d;
        s2[i] += d * d;
      }
    }
  }
  NORMKIT_INLINE static void column_sums_fast(const float* x, int64_t begin, int64_t end, int64_t c,
                                              const float* shift, double* s1, double* s2) {
    column_sums(x, begin, end, c, shift, s1, s2);
  }
};

// Whether the tier in use has inexact fast column sums, which callers check with
// trust_fast_sums (per statistic, after merging the channels it covers) and redo exactly.
bool fast_column_sums_inexact();

// The sums of each of `c` channels over `rows` channels-last rows, about shift[i] (a value of
// the data), into sums[i]; on `threads` threads, fast (see fast_column_sums_inexact) or exact.
void column_moments(const float* x, int64_t rows, int64_t c, const float* shift, int threads,
                    bool fast, ShiftedSums* sums);

}  // namespace normkit
