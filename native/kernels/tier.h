// The tier a kernel translation unit is compiled for. Every kernel .cc file is compiled once per
// tier (binding.gyp: a static library per tier, each with its instruction-set flags and one of
// NORMKIT_TIER_AVX512, _AVX2, _BASELINE, _NEON defined), as ATen builds its kernels once per
// CPU_CAPABILITY. Everything a kernel file defines, and every inline function of the kernel
// headers it includes, lives in the tier's namespace (normkit::avx2, ...; inline, so the code
// reads as plain normkit), so the copies built with different instruction sets are different
// symbols and the linker can never hand one tier's code to another. Only kernels/dispatch.cc
// knows the tiers by name.
#pragma once

#if defined(NORMKIT_TIER_AVX512)
#define NORMKIT_TIER avx512
#elif defined(NORMKIT_TIER_AVX2)
#define NORMKIT_TIER avx2
#elif defined(NORMKIT_TIER_BASELINE)
#define NORMKIT_TIER baseline
#elif defined(NORMKIT_TIER_NEON)
#define NORMKIT_TIER neon
#else
#error \
    "kernel files are compiled once per tier: define NORMKIT_TIER_AVX512, _AVX2, _BASELINE or _NEON"
#endif

#define NORMKIT_TIER_BEGIN inline namespace NORMKIT_TIER {
#define NORMKIT_TIER_END }
