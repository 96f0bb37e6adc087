// What the kernels share across tiers: the inline macro, the tier in use, and the rule for
// streaming stores. The tiers themselves (kernels/tier.h, kernels/vec/) are picked at run time by
// kernels/dispatch.cc, the only place that knows them; the shipped build never targets the build
// machine's CPU.
#pragma once

#if defined(__GNUC__)
#define NORMKIT_INLINE inline __attribute__((always_inline))
#define NORMKIT_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define NORMKIT_INLINE inline
#define NORMKIT_NOINLINE __declspec(noinline)
#else
#define NORMKIT_INLINE inline
#define NORMKIT_NOINLINE
#endif
// NORMKIT_NOINLINE marks the loops over a whole range that a driver calls once (the periodic
// channels-last apply): compiled on their own, their pointers stay in registers. Inlined into a
// driver with many live values, GCC kept y on the stack and reloaded it for every store; the
// reload waits behind pending stores to the same 4 KB offsets, so the store-bound loop ran
// serially (BatchNorm training [8, 256, 14, 14] channels-last at 1 thread: 105 us against 76).

#include <cstdint>

namespace normkit {

// The tier that runs (kernels/dispatch.cc): "avx512", "avx2", "baseline" or "neon". The CPU's
// best, or the one NORMKIT_SIMD names; read once.
const char* simd_path();

// The tiers this binary has that this CPU runs, best first, separated by spaces (for tests and
// tools that run every tier: NORMKIT_SIMD=<each>).
const char* simd_tiers();

// Whether a kernel reading `bytes_in` and writing `bytes_out` should write with streaming
// (non-temporal) stores, on the tiers that have them: yes when input and output together exceed
// a seventh of the last-level cache (simd.cc says why that share), since such an output gains
// little from staying cached, and skipping the read-for-ownership of each output line saves a
// third of the traffic of a read-once, write-once kernel. Smaller outputs stay in cache for
// whoever reads them next.
bool use_streaming_stores(int64_t bytes_in, int64_t bytes_out);

// Whether a kernel reading `bytes_in` and writing `bytes_out` with cached stores on `threads`
// threads should prefetch the lines it writes (kernels/tiling.h, kStorePrefetchAheadValues):
// yes when each thread's share of input and output exceeds the private (L2) cache, so that the
// lines it writes are no longer there from the last call and each store's read-for-ownership
// would wait on L3 or memory. Smaller data keeps its output in L2, where the prefetches are
// only overhead.
bool prefetch_output_lines(int64_t bytes_in, int64_t bytes_out, int threads);

// Overrides the streaming rule: kAlways / kNever stream or not whatever the size (kNever leaves
// the prefetch rule as it is); kPrefetch never streams and prefetches whatever the size (so that
// tests reach that path with small tensors). Starts from NORMKIT_STREAMING ("auto", "always",
// "never", "prefetch"); benchmarks switch it to compare.
enum class StreamingPolicy { kAuto, kAlways, kNever, kPrefetch };
void set_streaming_policy(StreamingPolicy policy);
StreamingPolicy streaming_policy();

}  // namespace normkit
