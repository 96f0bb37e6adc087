// Argument unwrapping for the binding layer. The TypeScript layer validates every call first;
// these checks make a direct call with bad arguments throw instead of reading out of bounds.
// Messages are worded as lib/validate.ts words them: `Expected <what> for <argument>, but
// received <value>`.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace normkit::binding {

struct FloatSpan {
  float* data = nullptr;
  int64_t length = 0;
  bool present = false;
  explicit operator bool() const { return present; }
};

[[noreturn]] void type_error(const Napi::Env& env, const std::string& msg);
[[noreturn]] void range_error(const Napi::Env& env, const std::string& msg);
// A short description of a JS value for messages: `Float64Array(3)`, `-1`, `a string`.
std::string describe(const Napi::Value& v);

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

}  // namespace normkit::binding
