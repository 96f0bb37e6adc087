// The vector helpers and the runtime CPU dispatch, in one place.
//
// Two tiers, picked at run time (the shipped build never targets the build machine's CPU):
//  - NORMKIT_DISPATCH functions are plain C++ compiled per instruction set (AVX2, baseline
//    x86-64/SSE2) by GCC target_clones; the loader picks the clone for the running CPU.
//  - On CPUs with AVX-512 (F, DQ, BW, VL) the hot loops run hand-written AVX-512 versions
//    (kernels/*_avx512.h), compiled with NORMKIT_TARGET_AVX512 and called only after a CPU check.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NORMKIT_DISPATCH __attribute__((target_clones("avx2", "default")))
#else
#define NORMKIT_DISPATCH
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#define NORMKIT_HAVE_AVX512 1
#define NORMKIT_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi2")))
// An AVX-512 entry point: a non-inline function that instantiates a tier-generic driver (see
// kernels/tiers.h) with the Avx512 tier. `flatten` inlines the whole driver and the tier's
// primitives into it, so the primitives, which carry the target attribute, need not be
// always_inline (GCC refuses to inline a target function into a generic always_inline one).
#define NORMKIT_AVX512_ENTRY NORMKIT_TARGET_AVX512 __attribute__((flatten))
#else
#define NORMKIT_HAVE_AVX512 0
#define NORMKIT_TARGET_AVX512
#define NORMKIT_AVX512_ENTRY
#endif

// `NORMKIT_IF_AVX512(f(...)) g(...);` calls the AVX-512 f where it runs, else the portable g.
#if NORMKIT_HAVE_AVX512
#define NORMKIT_IF_AVX512(call) \
  if (use_avx512()) {           \
    call;                       \
  } else
#else
#define NORMKIT_IF_AVX512(call)
#endif

#if defined(__GNUC__)
#define NORMKIT_INLINE inline __attribute__((always_inline))
#else
#define NORMKIT_INLINE inline
#endif

#include <cstdint>

namespace normkit {

// True when the AVX-512 kernels run: the CPU and OS support them and NORMKIT_SIMD does not
// ask for the portable path ("generic"). Read once.
bool use_avx512();

// The kernel path in use: "avx512", or the clone of the portable code: "avx2" or "baseline".
const char* simd_path();

// Whether a kernel reading `bytes_in` and writing `bytes_out` should write with streaming
// (non-temporal) stores on the AVX-512 path: yes when input and output together exceed half the
// last-level cache, since the output cannot stay cached anyway and skipping the
// read-for-ownership of each output line saves a third of the traffic of a read-once,
// write-once kernel. Smaller outputs stay in cache for whoever reads them next.
bool use_streaming_stores(int64_t bytes_in, int64_t bytes_out);

// Overrides the rule above: kAlways / kNever stream or not whatever the size. Starts from
// NORMKIT_STREAMING ("auto", "always", "never"); benchmarks switch it to compare.
enum class StreamingPolicy { kAuto, kAlways, kNever };
void set_streaming_policy(StreamingPolicy policy);

}  // namespace normkit
