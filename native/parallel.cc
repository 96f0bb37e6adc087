#include "parallel.h"

#include <atomic>
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
}  // namespace

int hardware_threads() { return detect_hardware_threads(); }

int get_num_threads() {
#ifdef _OPENMP
  return g_num_threads.load(std::memory_order_relaxed);
#else
  return 1;
#endif
}

void set_num_threads(int threads) {
  g_num_threads.store(std::max(1, threads), std::memory_order_relaxed);
}

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace normkit
