// The one place that decides how many threads a kernel uses. Kernels call parallel_for with a
// grain (the least work worth a thread); everything about OpenMP stays behind this header.
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace normkit {

// Threads the library may use per call (the budget); starts at the hardware's count.
int get_num_threads();
void set_num_threads(int threads);
int hardware_threads();
bool has_openmp();

// Threads worth using for `work` units when each thread should get at least `grain` units.
inline int threads_for(int64_t work, int64_t grain) {
  if (work <= 0) return 1;
  const int64_t useful = std::max<int64_t>(1, work / std::max<int64_t>(1, grain));
  return static_cast<int>(std::min<int64_t>(useful, get_num_threads()));
}

// Calls f(thread_index, begin, end) over [0, n) split into `threads` contiguous, near-equal
// ranges. One thread runs inline: small calls never pay for a parallel region.
template <typename F>
void parallel_for(int threads, int64_t n, F&& f) {
  if (n <= 0) return;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (threads == 1) {
    f(0, int64_t{0}, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int64_t chunk = n / nt, extra = n % nt;
    const int64_t begin = t * chunk + std::min<int64_t>(t, extra);
    const int64_t end = begin + chunk + (t < extra ? 1 : 0);
    if (begin < end) f(t, begin, end);
  }
#else
  f(0, int64_t{0}, n);
#endif
}

}  // namespace normkit
