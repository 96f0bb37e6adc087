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
// Out of line, like everything here but parallel_for: this header is shared by every kernel tier
// (kernels/tier.h), and an inline function compiled for AVX-512 in one tier could be the copy the
// linker keeps for all.
int threads_for(int64_t work, int64_t grain);

// The process-wide compute-thread budget (set_num_threads), shared by every calling thread: the
// main thread, the libuv pool's async work, and worker threads (the addon is loaded once per
// process, so this state is too). A kernel call takes up to `want` threads from it, waiting until
// at least one is free, and gives them back when done: concurrent async calls and workers never
// run more compute threads than the budget, however many callers there are.
int acquire_threads(int want);
void release_threads(int threads);

class ThreadLease {
 public:
  explicit ThreadLease(int want) : granted_(acquire_threads(want)) {}
  ~ThreadLease() { release_threads(granted_); }
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  int granted() const { return granted_; }

 private:
  int granted_;
};

// Calls f(thread_index, begin, end) over [0, n) split into at most `threads` contiguous,
// near-equal ranges, on as many threads as the budget grants. One thread runs inline: small
// calls never pay for a parallel region.
template <typename F>
void parallel_for(int threads, int64_t n, F&& f) {
  if (n <= 0) return;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  const ThreadLease lease(threads);
  threads = lease.granted();
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
