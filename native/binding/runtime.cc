#include "binding/bindings.h"
#include "binding/common.h"
#include "kernels/copy.h"
#include "kernels/simd.h"
#include "parallel.h"

namespace normkit::binding {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int64_t n = size_arg(info, 0, "threads");
  const int64_t max = 4 * static_cast<int64_t>(hardware_threads());
  if (n < 1 || n > max)
    throw Napi::RangeError::New(info.Env(), "Expected 1 to " + std::to_string(max) +
                                                " for threads, but received " + std::to_string(n));
  set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), get_num_threads());
}

Napi::Value HardwareThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), hardware_threads());
}

Napi::Value Multithreaded(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), multithreaded());
}

Napi::Value PoolThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pool_threads());
}

Napi::Value SimdPath(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), simd_path());
}

// copyBaseline(x, y, a, b): y = a * x + b, the bandwidth yardstick for the benchmarks.
Napi::Value CopyBaseline(const Napi::CallbackInfo& info) {
  const FloatSpan x = float_array_any(info, 0, "x");
  const FloatSpan y = float_array(info, 1, "y", x.length, false);
  const double a = number_arg(info, 2, "a");
  const double b = number_arg(info, 3, "b");
  scale_copy(x.data, y.data, x.length, static_cast<float>(a), static_cast<float>(b));
  return info.Env().Undefined();
}

}  // namespace normkit::binding
