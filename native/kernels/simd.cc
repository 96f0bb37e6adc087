#include "kernels/simd.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace normkit {

// Size of the largest cache level, from Linux's sysfs (sysconf's figure is wrong under some
// hypervisors: 320 MiB for a 32 MiB L3 was seen); 32 MiB when it cannot tell.
int64_t last_level_cache_bytes() {
  int64_t best = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream size_file(dir + "size");
    std::string size;
    if (!(size_file >> size) || size.empty()) continue;
    int64_t bytes = std::strtoll(size.c_str(), nullptr, 10);
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    best = std::max(best, bytes);
  }
  return best > 0 ? best : int64_t{32} << 20;
}

StreamingPolicy policy_from_environment() {
  const char* v = std::getenv("NORMKIT_STREAMING");
  if (v && std::strcmp(v, "always") == 0) return StreamingPolicy::kAlways;
  if (v && std::strcmp(v, "never") == 0) return StreamingPolicy::kNever;
  return StreamingPolicy::kAuto;
}

std::atomic<StreamingPolicy> g_streaming{policy_from_environment()};

void set_streaming_policy(StreamingPolicy policy) { g_streaming.store(policy); }
StreamingPolicy streaming_policy() { return g_streaming.load(); }

bool use_streaming_stores(int64_t bytes_in, int64_t bytes_out) {
  const StreamingPolicy policy = g_streaming.load(std::memory_order_relaxed);
  if (policy != StreamingPolicy::kAuto) return policy == StreamingPolicy::kAlways;
  static const int64_t kCacheBytes = last_level_cache_bytes();
  // Half: the cache is shared with other cores and tenants, and a second pass over the input
  // (channels-last BatchNorm) needs the input to survive in it while the output is written.
  return bytes_in + bytes_out > kCacheBytes / 2;
}

}  // namespace normkit
