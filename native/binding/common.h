// Argument unwrapping for the binding layer. The TypeScript layer validates every call first;
// these checks make a direct call with bad arguments throw instead of reading out of bounds.
#pragma once

#include <napi.h>

#include <cstdint>

namespace normkit::binding {

struct FloatSpan {
  float* data = nullptr;
  int64_t length = 0;
  explicit operator bool() const { return data != nullptr || length > 0; }
};

// A Float32Array argument of exactly `length` elements; null/undefined gives an empty span when
// `optional`.
FloatSpan float_array(const Napi::CallbackInfo& info, size_t index, const char* name,
                      int64_t length, bool optional);
// A Float32Array argument of any length.
FloatSpan float_array_any(const Napi::CallbackInfo& info, size_t index, const char* name);
// A non-negative integer no larger than 2^53.
int64_t size_arg(const Napi::CallbackInfo& info, size_t index, const char* name);
double number_arg(const Napi::CallbackInfo& info, size_t index, const char* name);
bool bool_arg(const Napi::CallbackInfo& info, size_t index, const char* name);
// a * b, throwing a RangeError on overflow.
int64_t checked_product(const Napi::Env& env, int64_t a, int64_t b);
// Throws unless `out` is `input` itself or shares no bytes with it and with any parameter.
void check_out_aliasing(const Napi::Env& env, const FloatSpan& out, const FloatSpan& input,
                        std::initializer_list<FloatSpan> params);

}  // namespace normkit::binding
