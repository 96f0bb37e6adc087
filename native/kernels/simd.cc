#include "kernels/simd.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace normkit {

// The largest of cpu0's caches at `level` (any level: 0), from Linux's sysfs (sysconf's figure
// is wrong under some hypervisors: 320 MiB for a 32 MiB L3 was seen); 0 when it cannot tell.
int64_t cache_bytes(int level) {
  int64_t best = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream size_file(dir + "size");
    std::string size;
    if (!(size_file >> size) || size.empty()) continue;
    if (level > 0) {
      std::ifstream level_file(dir + "level");
      int at = 0;
      if (!(level_file >> at) || at != level) continue;
    }
    int64_t bytes = std::strtoll(size.c_str(), nullptr, 10);
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    best = std::max(best, bytes);
  }
  return best;
}

// The last-level cache; 32 MiB when sysfs cannot tell.
int64_t last_level_cache_bytes() {
  const int64_t bytes = cache_bytes(0);
  return bytes > 0 ? bytes : int64_t{32} << 20;
}

// The private L2 of a core; 1 MiB when sysfs cannot tell.
int64_t private_cache_bytes() {
  const int64_t bytes = cache_bytes(2);
  return bytes > 0 ? bytes : int64_t{1} << 20;
}

StreamingPolicy policy_from_environment() {
  const char* v = std::getenv("NORMKIT_STREAMING");
  if (v && std::strcmp(v, "always") == 0) return StreamingPolicy::kAlways;
  if (v && std::strcmp(v, "never") == 0) return StreamingPolicy::kNever;
  if (v && std::strcmp(v, "prefetch") == 0) return StreamingPolicy::kPrefetch;
  return StreamingPolicy::kAuto;
}

std::atomic<StreamingPolicy> g_streaming{policy_from_environment()};

void set_streaming_policy(StreamingPolicy policy) { g_streaming.store(policy); }
StreamingPolicy streaming_policy() { return g_streaming.load(); }

bool use_streaming_stores(int64_t bytes_in, int64_t bytes_out) {
  const StreamingPolicy policy = g_streaming.load(std::memory_order_relaxed);
  if (policy != StreamingPolicy::kAuto) return policy == StreamingPolicy::kAlways;
  static const int64_t kCacheBytes = last_level_cache_bytes();
  // A seventh: the cache is shared with other cores and tenants (what a VM may fill is not what
  // sysfs reports), and on server parts it is a victim cache reached over a mesh, where writing
  // back through it is barely cheaper than writing to memory. Measured with
  // bench/native/scaling.sh (NORMKIT_SCALING_STREAMING=compare, each policy's calls back to
  // back) on two Xeon VMs: with a 300 MiB L3 and 16 cores, streaming stores were 1.0 to 1.35
  // times as fast on 50 MB of input and output ([32, 64, 56, 56], [8192, 768]) at 1 to 8 threads
  // (channels-last GroupNorm and InstanceNorm 0.93 to 1.16; 0.85 to 1.3 at 16), 0.96 to 1.5 on
  // 67 MB ([2048, 4096]), 1.15 to 3.3 on 100 MB (the fused residual forms), and mostly slower on
  // 4 MB and less; with a 480 MiB L3 and 2 cores, 0.8 to 1.0 times as fast on 50 and 67 MB at
  // 2 threads and 1.3 to 1.95 on 100 MB. A seventh puts the threshold at 45 and
  // 72 MB on them; half, the threshold before, kept every one of those cases on cached stores.
  return bytes_in + bytes_out > kCacheBytes / 7;
}

bool prefetch_output_lines(int64_t bytes_in, int64_t bytes_out, int threads) {
  if (g_streaming.load(std::memory_order_relaxed) == StreamingPolicy::kPrefetch) return true;
  static const int64_t kPrivateBytes = private_cache_bytes();
  return (bytes_in + bytes_out) / std::max(threads, 1) > kPrivateBytes;
}

}  // namespace normkit
