#include "kernels/simd.h"

#include <cstdlib>
#include <cstring>

namespace normkit {

namespace {
bool cpu_has_avx512() {
#if NORMKIT_HAVE_AVX512
  // libgcc's checks include the OS's XSAVE support for the AVX-512 register state.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

bool decide_avx512() {
  const char* want = std::getenv("NORMKIT_SIMD");
  if (want && std::strcmp(want, "generic") == 0) return false;
  return cpu_has_avx512();
}
}  // namespace

bool use_avx512() {
  static const bool enabled = decide_avx512();
  return enabled;
}

const char* simd_path() {
  if (use_avx512()) return "avx512";
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
  // Mirrors the target_clones resolver's choice.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "baseline";
}

}  // namespace normkit
