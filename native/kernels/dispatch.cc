// The run-time tier table: the only place that knows the tiers. Each tier is every kernel file
// compiled with that tier's instruction set (kernels/tier.h, binding.gyp); this file, compiled
// for the baseline of the platform, checks the CPU once, picks a tier (the best the CPU runs, or
// the one NORMKIT_SIMD names) and forwards each kernel of kernels/ops.h to it.
//
// NORMKIT_SIMD: "avx512", "avx2", "baseline" (x86-64) or "neon" (AArch64) forces that tier;
// "generic" (the name of the portable path before the tiers) is the best tier without AVX-512;
// unset, empty or "auto" is the best. A tier the CPU cannot run, or an unknown name, warns once
// on stderr and runs the best tier.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/copy.h"
#include "kernels/ops.h"
#include "kernels/simd.h"
#include "kernels/table.h"

namespace normkit {

namespace {

struct TierEntry {
  const char* name;
  const KernelTable& (*table)();
  bool (*runs)();  // whether this CPU (and OS) runs it
};

bool always() { return true; }

#if defined(__x86_64__) && defined(__GNUC__)
// libgcc's checks include the OS's XSAVE support for the AVX and AVX-512 register state.
bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
// Best first.
const TierEntry kTiers[] = {
    {"avx512", kernel_table_avx512, cpu_has_avx512},
    {"avx2", kernel_table_avx2, cpu_has_avx2},
    {"baseline", kernel_table_baseline, always},
};
#elif defined(__aarch64__)
const TierEntry kTiers[] = {{"neon", kernel_table_neon, always}};
#else
const TierEntry kTiers[] = {{"baseline", kernel_table_baseline, always}};
#endif

const TierEntry* best(bool allow_avx512) {
  for (const TierEntry& t : kTiers) {
    if (t.runs() && (allow_avx512 || std::strcmp(t.name, "avx512") != 0)) return &t;
  }
  return &kTiers[sizeof(kTiers) / sizeof(kTiers[0]) - 1];
}

const KernelTable& choose() {
  const char* want = std::getenv("NORMKIT_SIMD");
  if (!want || !*want || std::strcmp(want, "auto") == 0) return best(true)->table();
  if (std::strcmp(want, "generic") == 0) return best(false)->table();
  const TierEntry* fallback = best(true);
  for (const TierEntry& t : kTiers) {
    if (std::strcmp(t.name, want) != 0) continue;
    if (t.runs()) return t.table();
    std::fprintf(stderr, "normkit: NORMKIT_SIMD=%s: this CPU does not run that tier; using %s\n",
                 want, fallback->name);
    return fallback->table();
  }
  std::string known;
  for (const TierEntry& t : kTiers) known += std::string(t.name) + ", ";
  std::fprintf(stderr,
               "normkit: NORMKIT_SIMD=%s is not a tier of this build (%sgeneric or auto); "
               "using %s\n",
               want, known.c_str(), fallback->name);
  return fallback->table();
}

// The tier in use, chosen at the first call (a warning, if any, is printed once).
const KernelTable& active() {
  static const KernelTable& table = choose();
  return table;
}

}  // namespace

const char* simd_path() { return active().name; }

const char* simd_tiers() {
  static const std::string tiers = [] {
    std::string s;
    for (const TierEntry& t : kTiers) {
      if (t.runs()) s += (s.empty() ? "" : " ") + std::string(t.name);
    }
    return s;
  }();
  return tiers.c_str();
}

// Every op's kernel forwards to the tier in use (the list: kernels/ops.gen.h).
#define NORMKIT_FORWARD_KERNEL(name, params, args) \
  void name params { active().name args; }
NORMKIT_FOR_EACH_KERNEL(NORMKIT_FORWARD_KERNEL)
#undef NORMKIT_FORWARD_KERNEL

void scale_copy(const float* x, float* y, int64_t n, float a, float b) {
  active().scale_copy(x, y, n, a, b);
}

}  // namespace normkit
