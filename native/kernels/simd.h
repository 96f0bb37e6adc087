// Runtime CPU dispatch, in one place. A hot function marked NORMKIT_DISPATCH is compiled once per
// instruction set (AVX-512, AVX2, baseline x86-64 / SSE2) and the loader picks the best clone for
// the running CPU (GCC target_clones, an ifunc). Helpers it calls are NORMKIT_INLINE, so they are
// inlined into each clone and vectorized for its instruction set. No -march=native anywhere.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NORMKIT_DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NORMKIT_DISPATCH
#endif

#if defined(__GNUC__)
#define NORMKIT_INLINE inline __attribute__((always_inline))
#else
#define NORMKIT_INLINE inline
#endif

namespace normkit {

// Name of the clone NORMKIT_DISPATCH functions run on this CPU: "avx512f", "avx2" or "baseline".
const char* simd_path();

}  // namespace normkit
