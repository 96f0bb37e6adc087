// The thread pool and budget (native/parallel.cc) under ThreadSanitizer, built and run by
// scripts/sanitize-threads.sh:
// several threads call parallel_for at once, as the main thread, the libuv pool and worker
// threads do, while another changes the budget; calls nest, and one part throws. Every call must
// cover [0, n) exactly once in at most `threads` contiguous ranges with distinct thread indices,
// and the budget must never be exceeded. Any data race is a ThreadSanitizer report.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parallel.h"

namespace {

std::atomic<int> g_failures{0};
std::atomic<int> g_running{0};  // compute threads inside parallel_for parts right now
std::atomic<int> g_peak{0};

void fail(const char* what, int64_t a, int64_t b) {
  if (g_failures.fetch_add(1) < 10)
    std::fprintf(stderr, "FAIL %s (%lld, %lld)\n", what, (long long)a, (long long)b);
}

// One checked call: every index written once, by one part; indices distinct; parts contiguous.
void checked_call(int threads, int64_t n, bool nest) {
  std::vector<int> hits(static_cast<size_t>(n), 0);  // plain ints: a double write is a race
  std::vector<std::atomic<int>> seen(static_cast<size_t>(threads));
  normkit::parallel_for(threads, n, [&](int t, int64_t begin, int64_t end) {
    const int now = g_running.fetch_add(1) + 1;
    int peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
    if (t < 0 || t >= threads)
      fail("thread index", t, threads);
    else if (seen[t].fetch_add(1) != 0)
      fail("thread index twice", t, threads);
    for (int64_t i = begin; i < end; ++i) hits[i] += 1;
    if (nest) {
      // A nested call runs inline on this thread, without waiting for the budget.
      int64_t inner = 0;
      normkit::parallel_for(4, 1000, [&](int, int64_t b, int64_t e) { inner += e - b; });
      if (inner != 1000) fail("nested call", inner, 1000);
    }
    g_running.fetch_sub(1);
  });
  for (int64_t i = 0; i < n; ++i) {
    if (hits[i] != 1) {
      fail("index covered", i, hits[i]);
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int callers = argc > 1 ? std::atoi(argv[1]) : 6;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 300;
  const int max_budget = 4 * normkit::hardware_threads();
  std::printf("sanitize-threads: %d callers x %d calls, budget 1 to %d, %d hardware threads\n",
              callers, iterations, max_budget, normkit::hardware_threads());
  std::atomic<bool> stop{false};
  std::thread budget([&] {
    for (int i = 0; !stop.load(); ++i) {
      normkit::set_num_threads(1 + i % max_budget);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([c, iterations] {
      for (int i = 0; i < iterations; ++i) {
        const int want = 1 + (i + c) % 8;
        const int64_t n = 1 + (i * 7919 + c * 104729) % 5000;
        checked_call(want, n, (i + c) % 5 == 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  stop.store(true);
  budget.join();

  // An exception in any part reaches the caller, after every part has finished.
  normkit::set_num_threads(4);
  for (int i = 0; i < 50; ++i) {
    std::atomic<int> parts{0};
    bool caught = false;
    try {
      normkit::parallel_for(4, 4, [&](int, int64_t begin, int64_t end) {
        parts.fetch_add(1);
        if (begin <= i % 4 && i % 4 < end) throw std::runtime_error("part");
      });
    } catch (const std::runtime_error&) {
      caught = true;
    }
    if (!caught) fail("exception not rethrown", i, 0);
  }

  std::printf("sanitize-threads: %d pool threads started, at most %d parts at once\n",
              normkit::pool_threads(), g_peak.load());
  if (g_peak.load() > max_budget) fail("budget exceeded", g_peak.load(), max_budget);
  if (g_failures.load() != 0) {
    std::fprintf(stderr, "sanitize-threads: %d failures\n", g_failures.load());
    return 1;
  }
  std::printf("sanitize-threads: ok\n");
  return 0;
}
