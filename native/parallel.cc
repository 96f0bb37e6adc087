#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace normkit {

namespace {
int detect_hardware_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_num_procs());
#else
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}
// The starting budget honours OMP_NUM_THREADS (omp_get_max_threads reads it), else all cores.
int initial_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}
std::atomic<int> g_num_threads{initial_threads()};

// Threads of the budget not in use; may go negative for a while after the budget shrinks.
std::atomic<int> g_free{initial_threads()};
std::mutex g_mutex;
std::condition_variable g_freed;
std::atomic<int> g_waiters{0};
}  // namespace

int threads_for(int64_t work, int64_t grain) {
  if (work <= 0) return 1;
  const int64_t useful = std::max<int64_t>(1, work / std::max<int64_t>(1, grain));
  return static_cast<int>(std::min<int64_t>(useful, get_num_threads()));
}

int acquire_threads(int want) {
  want = std::max(1, want);
  int free = g_free.load(std::memory_order_relaxed);
  for (;;) {
    // The uncontended path: one compare-and-swap, no lock (small calls pay almost nothing).
    while (free > 0) {
      const int take = std::min(want, free);
      if (g_free.compare_exchange_weak(free, free - take, std::memory_order_acquire)) return take;
    }
    std::unique_lock<std::mutex> lock(g_mutex);
    g_waiters.fetch_add(1);
    g_freed.wait(lock, [&] { return (free = g_free.load()) > 0; });
    g_waiters.fetch_sub(1);
  }
}

void release_threads(int threads) {
  g_free.fetch_add(threads);
  // Only when someone sleeps: a waiter registers before it checks, and both sides are
  // sequentially consistent, so either it sees these threads free or this sees it waiting. Taking
  // the lock orders the wake-up after its check.
  if (g_waiters.load() > 0) {
    {
      std::lock_guard<std::mutex> lock(g_mutex);
    }
    g_freed.notify_all();
  }
}

int hardware_threads() { return detect_hardware_threads(); }

int get_num_threads() {
#ifdef _OPENMP
  return g_num_threads.load(std::memory_order_relaxed);
#else
  return 1;
#endif
}

void set_num_threads(int threads) {
  threads = std::max(1, threads);
  const int before = g_num_threads.exchange(threads, std::memory_order_relaxed);
  g_free.fetch_add(threads - before, std::memory_order_relaxed);
  if (threads > before) release_threads(0);
}

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace normkit
