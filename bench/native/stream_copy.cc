// The bench's memory limit: y[i] = a * x[i] + b written with streaming (non-temporal) stores, on
// `threads` OpenMP threads, with the vector width of the tier being measured. A streaming store
// writes the line to memory without reading it first, so this is one read and one write of the
// tensor at full bandwidth: about 1.3 times faster than an ordinary copy loop on tensors far
// larger than the cache, the honest yardstick for them. On data that fits the cache it is slower
// than an ordinary copy (the stores still go to memory): the bench reports in-cache cases against
// it as well, and against the addon's ordinary copy (copyBaseline).
//
// A Node-API module (plain C API, no node-addon-api) built on demand by bench/build.js into the
// ignored bench/results/build/: streamCopy(x: Float32Array, y: Float32Array, a, b, threads,
// tier) where tier is 'avx512' | 'avx2' | 'baseline'; streamCopyTiers() lists what this CPU runs.
#include <node_api.h>
#include <omp.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define NK_X86 1
#else
#define NK_X86 0
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace {

void scalar_range(const float* x, float* y, int64_t begin, int64_t end, float a, float b) {
  for (int64_t i = begin; i < end; ++i) y[i] = a * x[i] + b;
}

#if NK_X86
// Each range starts with ordinary stores up to the vector's alignment, streams the aligned body,
// and ends with ordinary stores; the caller fences once after all threads are done.
__attribute__((target("avx512f"))) void avx512_range(const float* x, float* y, int64_t begin,
                                                     int64_t end, float a, float b) {
  int64_t i = begin;
  while (i < end && (reinterpret_cast<uintptr_t>(y + i) & 63)) y[i] = a * x[i] + b, ++i;
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (; i + 16 <= end; i += 16)
    _mm512_stream_ps(y + i, _mm512_fmadd_ps(_mm512_loadu_ps(x + i), va, vb));
  scalar_range(x, y, i, end, a, b);
  _mm_sfence();
}

__attribute__((target("avx2,fma"))) void avx2_range(const float* x, float* y, int64_t begin,
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
void sse2_range(const float* x, float* y, int64_t begin, int64_t end, float a, float b) {
  int64_t i = begin;
  while (i < end && (reinterpret_cast<uintptr_t>(y + i) & 15)) y[i] = a * x[i] + b, ++i;
  const __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b);
  for (; i + 4 <= end; i += 4)
    _mm_stream_ps(y + i, _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + i), va), vb));
  scalar_range(x, y, i, end, a, b);
  _mm_sfence();
}

bool cpu_has(const char* what) {
  __builtin_cpu_init();
  if (std::strcmp(what, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(what, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}
#endif

using RangeFn = void (*)(const float*, float*, int64_t, int64_t, float, float);

RangeFn range_for(const char* tier) {
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

napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

bool float_array(napi_env env, napi_value v, float** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, nullptr, nullptr) != napi_ok)
    return false;
  *data = static_cast<float*>(ptr);
  return type == napi_float32_array;
}

napi_value StreamCopy(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 6) return throw_error(env, "streamCopy(x, y, a, b, threads, tier)");
  float *x = nullptr, *y = nullptr;
  size_t n = 0, ny = 0;
  if (!float_array(env, argv[0], &x, &n) || !float_array(env, argv[1], &y, &ny) || ny != n)
    return throw_error(env, "Expected two Float32Arrays of the same length for x and y");
  double a = 0, b = 0;
  int32_t threads = 1;
  napi_get_value_double(env, argv[2], &a);
  napi_get_value_double(env, argv[3], &b);
  napi_get_value_int32(env, argv[4], &threads);
  char tier[16] = {0};
  size_t tier_length = 0;
  napi_get_value_string_utf8(env, argv[5], tier, sizeof tier, &tier_length);
  const RangeFn range = range_for(tier);
  if (!range) return throw_error(env, "Expected a tier this CPU runs for tier");
  const int64_t count = static_cast<int64_t>(n);
  const int nth = std::max(1, threads);
  const float fa = static_cast<float>(a), fb = static_cast<float>(b);
#pragma omp parallel num_threads(nth)
  {
    // Contiguous slices, cut at 64-byte multiples so no two threads write the same line.
    const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
    const int64_t per = ((count + k - 1) / k + 15) / 16 * 16;
    const int64_t begin = std::min(count, t * per), end = std::min(count, begin + per);
    if (begin < end) range(x, y, begin, end, fa, fb);
  }
  return nullptr;
}

napi_value StreamCopyTiers(napi_env env, napi_callback_info) {
  napi_value list;
  napi_create_array(env, &list);
  uint32_t i = 0;
  for (const char* tier : {"avx512", "avx2", "baseline"}) {
    if (!range_for(tier)) continue;
    napi_value s;
    napi_create_string_utf8(env, tier, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, list, i++, s);
  }
  return list;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "streamCopy", NAPI_AUTO_LENGTH, StreamCopy, nullptr, &fn);
  napi_set_named_property(env, exports, "streamCopy", fn);
  napi_create_function(env, "streamCopyTiers", NAPI_AUTO_LENGTH, StreamCopyTiers, nullptr, &fn);
  napi_set_named_property(env, exports, "streamCopyTiers", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
