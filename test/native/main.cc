// The kernel driver: runs every check registered with NORMKIT_KERNEL_CHECK (test/native/*.cc,
// one file per kernel, over harness.h) on each thread count, the large checks (the store paths
// of data past the caches, run with streaming stores forced on, then with prefetched cached
// stores) last, and checks every result against a plain double-precision loop. Built with the
// kernels, without N-API, by scripts/sanitize.sh (under AddressSanitizer and UBSan, once per
// SIMD tier) and scripts/test-arm64.sh (NEON, under qemu).
//
//   driver                  threads 1 and 2
//   driver 1 3 8            other thread counts
//   driver --simd-path      the SIMD tier the kernels run (NORMKIT_SIMD picks it)
//   driver --simd-tiers     the tiers this CPU runs
//   driver --list           the registered checks, in the order they run
// NORMKIT_DRIVER_NO_LARGE=1 leaves out the tensors past the streaming-store threshold (tens of
// millions of values: under emulation they take most of the time); NORMKIT_DRIVER_VERBOSE=1
// prints each check's count.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness.h"
#include "kernels/simd.h"
#include "parallel.h"

namespace {

using normkit::harness::KernelCheck;

// Every registered check in a stable order, whatever the link order: by name, those past the
// streaming-store threshold after the rest. Empty, with a message, when the registrations are
// wrong (none at all: the build's glob found no file; a name twice: a copied registration).
std::vector<KernelCheck> ordered_checks() {
  std::vector<KernelCheck> checks = normkit::harness::kernel_checks();
  std::sort(checks.begin(), checks.end(), [](const KernelCheck& a, const KernelCheck& b) {
    if (a.large != b.large) return b.large;
    return std::strcmp(a.name, b.name) < 0;
  });
  if (checks.empty()) {
    std::fprintf(stderr, "sanitize-driver: no checks registered\n");
    return {};
  }
  for (size_t i = 1; i < checks.size(); ++i) {
    if (checks[i].large == checks[i - 1].large &&
        std::strcmp(checks[i].name, checks[i - 1].name) == 0) {
      std::fprintf(stderr, "sanitize-driver: %s%s registered twice\n", checks[i].name,
                   checks[i].large ? " (large)" : "");
      return {};
    }
  }
  return checks;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--simd-path") == 0) {
    std::printf("%s\n", normkit::simd_path());
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--simd-tiers") == 0) {
    std::printf("%s\n", normkit::simd_tiers());
    return 0;
  }
  const std::vector<KernelCheck> checks = ordered_checks();
  if (checks.empty()) return 1;
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const KernelCheck& c : checks) std::printf("%s%s\n", c.name, c.large ? " (large)" : "");
    return 0;
  }
  std::vector<int> thread_counts = {1, 2};
  if (argc > 1) {
    thread_counts.clear();
    for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  }
  const bool no_large = std::getenv("NORMKIT_DRIVER_NO_LARGE") != nullptr;
  const bool verbose = std::getenv("NORMKIT_DRIVER_VERBOSE") != nullptr;
  std::printf("sanitize-driver: SIMD path %s, %d hardware threads\n", normkit::simd_path(),
              normkit::hardware_threads());
  std::fflush(stdout);  // keep the order of this and any FAIL line on stderr
  // The large checks are about the store paths of data larger than the caches: they run twice,
  // with streaming stores forced on (harness.h, streaming_values) and with cached stores whose
  // lines are prefetched for writing (StreamingPolicy::kPrefetch); the rest run with the policy
  // the environment set.
  const normkit::StreamingPolicy policy = normkit::streaming_policy();
  const normkit::StreamingPolicy large_policies[] = {normkit::StreamingPolicy::kAlways,
                                                     normkit::StreamingPolicy::kPrefetch};
  for (int threads : thread_counts) {
    normkit::set_num_threads(threads);
    normkit::set_streaming_policy(policy);
    const int64_t before = normkit::harness::checks_run();
    for (const KernelCheck& c : checks) {
      if (c.large && no_large) continue;
      for (const normkit::StreamingPolicy large : large_policies) {
        if (c.large) normkit::set_streaming_policy(large);
        const int64_t at = normkit::harness::checks_run();
        c.run();
        if (verbose) {
          const bool prefetch = large == normkit::StreamingPolicy::kPrefetch;
          std::printf("    %s%s: %lld checks\n", c.name,
                      c.large ? (prefetch ? " (large, prefetch)" : " (large, streaming)") : "",
                      static_cast<long long>(normkit::harness::checks_run() - at));
          std::fflush(stdout);
        }
        if (!c.large) break;
      }
    }
    std::printf("  threads=%d: %lld checks\n", normkit::get_num_threads(),
                static_cast<long long>(normkit::harness::checks_run() - before));
    std::fflush(stdout);
  }
  const int64_t failed = normkit::harness::checks_failed();
  std::printf("%lld passed, %lld failed\n",
              static_cast<long long>(normkit::harness::checks_run() - failed),
              static_cast<long long>(failed));
  return failed == 0 ? 0 : 1;
}
