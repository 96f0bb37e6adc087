// The bench's memory limit (stream_copy.h) for Node: the `limit` rows of bench/run.js.
// A Node-API module (plain C API, no node-addon-api) built on demand by bench/build.js into the
// ignored bench/results/build/: streamCopy(x: Float32Array, y: Float32Array, a, b, threads,
// tier) where tier is 'avx512' | 'avx2' | 'baseline'; streamCopyTiers() lists what this CPU runs.
#include <node_api.h>

#include "stream_copy.h"

namespace {

using namespace normkit_bench;

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
  stream_copy(range, x, y, static_cast<int64_t>(n), static_cast<float>(a), static_cast<float>(b),
              threads);
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
