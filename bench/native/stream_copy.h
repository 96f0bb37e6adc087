#pragma once
// The memory limit the bench judges normkit by: y[i] = a * x[i] + b written with streaming
// (non-temporal) stores on `threads` threads at a tier's vector width. Shared by the Node-API
// module (stream_copy.cc, the `limit` rows of bench/run.js; built with OpenMP) and the kernel
// scaling bench without Node (scaling.cc; built without OpenMP, it runs the copy on normkit's own
// pool, the threads its kernels run on). A streaming store writes the line to memory without reading it
// first, so this is one read and one write of the tensor at full bandwidth: about 1.3 times faster
// than an ordinary copy loop on tensors far larger than the cache.
#ifdef _OPENMP
#include <omp.h>
#else
#include "parallel.h"
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define NK_X86 1
#else
#define NK_X86 0
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace normkit_bench {

inline void scalar_range(const float* x, float* y, int64_t begin, int64_t end, float a, float b) {
  for (int64_t i = begin; i < end; ++i) y[i] = a * x[i] + b;
}

#if NK_X86
// Each range starts with ordinary stores up to the vector's alignment, streams the aligned body,
// ends with ordinary stores, and fences (streaming stores are weakly ordered).
__attribute__((target("avx512f"))) inline void avx512_range(const float* x, float* y, int64_t begin,
                                                            int64_t end, float a, float b) {
  int64_t i = begin;
  while (i < end && (reinterpret_cast<uintptr_t>(y + i) & 63)) y[i] = a * x[i] + b, ++i;
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (; i + 16 <= end; i += 16)
    _mm512_stream_ps(y + i, _mm512_fmadd_ps(_mm512_loadu_ps(x + i), va, vb));
  scalar_range(x, y, i, end, a, b);
  _mm_sfence();
}

__attribute__((target("avx2,fma"))) inline void avx2_range(const float* x, float* y, int64_t begin,
                                                           int64_t end, float a, float b) {
  int64_t i = begin;
  while (i < end && (reinterpret_cast<uintptr_t>(y + i) & 31)) y[i] = a * x[i] + b, ++i;
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  for (; i + 8 <= end; i += 8)
    _mm256_stream_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, vb));
  scalar_range(x, y, i, end, a, b);
  _mm_sfence();
}

// SSE2, which every x86-64 runs.
inline void sse2_range(const float* x, float* y, int64_t begin, int64_t end, float a, float b) {
  int64_t i = begin;
  while (i < end && (reinterpret_cast<uintptr_t>(y + i) & 15)) y[i] = a * x[i] + b, ++i;
  const __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b);
  for (; i + 4 <= end; i += 4)
    _mm_stream_ps(y + i, _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + i), va), vb));
  scalar_range(x, y, i, end, a, b);
  _mm_sfence();
}

inline bool cpu_has(const char* what) {
  __builtin_cpu_init();
  if (std::strcmp(what, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(what, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}
#endif

using RangeFn = void (*)(const float*, float*, int64_t, int64_t, float, float);

inline RangeFn range_for(const char* tier) {
#if NK_X86
  if (std::strcmp(tier, "avx512") == 0 && cpu_has("avx512")) return avx512_range;
  if (std::strcmp(tier, "avx2") == 0 && cpu_has("avx2")) return avx2_range;
  if (std::strcmp(tier, "baseline") == 0) return sse2_range;
  return nullptr;
#else
  // No streaming stores written for other architectures: an ordinary loop stands in.
  return std::strcmp(tier, "baseline") == 0 ? scalar_range : nullptr;
#endif
}

// y = a * x + b on `threads` threads in contiguous slices cut at 64-byte multiples (no two
// threads write the same line), each streaming its aligned body; `range` from range_for.
inline void stream_copy(RangeFn range, const float* x, float* y, int64_t count, float a, float b,
                        int threads) {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads < 1 ? 1 : threads)
  {
    const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
    const int64_t per = ((count + k - 1) / k + 15) / 16 * 16;
    const int64_t begin = std::min(count, t * per), end = std::min(count, begin + per);
    if (begin < end) range(x, y, begin, end, a, b);
  }
#else
  // Whole 16-float (64-byte) blocks per thread.
  normkit::parallel_for(threads < 1 ? 1 : threads, (count + 15) / 16,
                        [&](int, int64_t begin, int64_t end) {
                          range(x, y, begin * 16, std::min(count, end * 16), a, b);
                        });
#endif
}

}  // namespace normkit_bench
