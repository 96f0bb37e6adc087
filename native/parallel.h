// The one place that decides how many threads a kernel uses and runs them. Kernels call
// parallel_for with a thread count from threads_for (the least work worth a thread); the threads
// themselves are normkit's own pool (parallel.cc), the only code that knows about threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace normkit {

// Threads the library may use at once (the budget); starts at the hardware's count.
int get_num_threads();
void set_num_threads(int threads);
// The processors this process may run on (its CPU affinity where the system has one).
int hardware_threads();
// Whether a call can run on more than one thread (always, since the pool is normkit's own).
bool multithreaded();
// The pool's worker threads started so far (0 until the first call that uses two threads).
int pool_threads();

// Threads worth using for `work` units when each thread should get at least `grain` units.
// Out of line, like everything here but parallel_for: this header is shared by every kernel tier
// (kernels/tier.h), and an inline function compiled for AVX-512 in one tier could be the copy the
// linker keeps for all.
int threads_for(int64_t work, int64_t grain);

// The process-wide compute-thread budget (set_num_threads), shared by every calling thread: the
// main thread, the libuv pool's async work, and worker threads (the addon is loaded once per
// process, so this state is too). A kernel call takes up to `want` threads from it, waiting until
// at least one is free, and gives them back when done: concurrent async calls and workers never
// run more compute threads than the budget, however many callers there are. Calls nest: on a
// thread that already holds a lease (inside a parallel_for, on the caller or a pool thread) they
// grant one thread and take nothing, since waiting for more there could wait for itself.
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

namespace detail {
using RangeFn = void (*)(void* context, int thread, int64_t begin, int64_t end);
// Runs fn over [0, n) on the calling thread (index 0) and up to threads - 1 pool threads, as many
// as are idle or can be started: a thread that fails to start means fewer threads, never an error.
void run_on_pool(int threads, int64_t n, RangeFn fn, void* context);
}  // namespace detail

// Calls f(thread_index, begin, end) over [0, n) split into at most `threads` contiguous,
// near-equal ranges, on as many threads as the budget grants and the pool can start. One thread
// runs inline: small calls never touch the pool.
template <typename F>
void parallel_for(int threads, int64_t n, F&& f) {
  if (n <= 0) return;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  const ThreadLease lease(threads);
  if (lease.granted() == 1) {
    f(0, int64_t{0}, n);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::run_on_pool(
      lease.granted(), n,
      [](void* context, int t, int64_t begin, int64_t end) {
        (*static_cast<Fn*>(context))(t, begin, end);
      },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace normkit
