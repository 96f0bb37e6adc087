#include "binding/common.h"

#include <cstdio>
#include <string>

namespace normkit::binding {

namespace {
constexpr double kMaxSafeInteger = 9007199254740992.0;

Napi::Value arg(const Napi::CallbackInfo& info, size_t index) {
  return index < info.Length() ? info[index] : info.Env().Undefined();
}

std::string number_text(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array:
      return "Int8Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint8_clamped_array:
      return "Uint8ClampedArray";
    case napi_int16_array:
      return "Int16Array";
    case napi_uint16_array:
      return "Uint16Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint32_array:
      return "Uint32Array";
    case napi_float32_array:
      return "Float32Array";
    case napi_float64_array:
      return "Float64Array";
    default:
      return "a typed array";
  }
}
}  // namespace

void type_error(const Napi::Env& env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
void range_error(const Napi::Env& env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

std::string describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return v.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_number:
      return number_text(v.As<Napi::Number>().DoubleValue());
    case napi_string:
      return "a string";
    case napi_bigint:
      return "a bigint";
    case napi_function:
      return "a function";
    case napi_symbol:
      return "a symbol";
    default:
      break;
  }
  if (v.IsTypedArray()) {
    const Napi::TypedArray t = v.As<Napi::TypedArray>();
    return std::string(typed_array_name(t.TypedArrayType())) + "(" +
           std::to_string(t.ElementLength()) + ")";
  }
  if (v.IsArray()) return "an array";
  return "an object";
}

namespace {
// One napi_get_typedarray_info call answers type, length and data: small calls are dominated by
// N-API round trips, so none is spent twice. False for anything but a Float32Array.
bool float32_info(const Napi::Env& env, const Napi::Value& v, FloatSpan& out) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_float32_array) {
    // napi_get_typedarray_info leaves no exception pending for a non-typed-array.
    return false;
  }
  // data already points at the view's first element (N-API adds byteOffset).
  out = {static_cast<float*>(data), static_cast<int64_t>(length), true};
  return true;
}

[[noreturn]] void not_float32(const Napi::Env& env, const Napi::Value& v, const char* name) {
  type_error(env,
             std::string("Expected a Float32Array for ") + name + ", but received " + describe(v));
}

FloatSpan checked_length(const Napi::Env& env, FloatSpan s, const char* name, int64_t length) {
  if (s.length != length) {
    range_error(env, std::string("Expected a Float32Array of ") + std::to_string(length) +
                         " elements for " + name + ", but received Float32Array(" +
                         std::to_string(s.length) + ")");
  }
  return s;
}
}  // namespace

FloatSpan float_array_any(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Value v = arg(info, index);
  FloatSpan s;
  if (!float32_info(info.Env(), v, s)) not_float32(info.Env(), v, name);
  return s;
}

FloatSpan float_array(const Napi::CallbackInfo& info, size_t index, const char* name,
                      int64_t length, bool optional) {
  if (optional && index >= info.Length()) return {};  // trailing optional arrays may be left out
  const Napi::Value v = arg(info, index);
  FloatSpan s;
  if (float32_info(info.Env(), v, s)) return checked_length(info.Env(), s, name, length);
  // Not a Float32Array: absent (null or undefined) where that is allowed, else an error. The
  // type is asked only here, so a present array costs one N-API call.
  if (optional) {
    napi_valuetype t;
    if (napi_typeof(info.Env(), v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
      return {};
    }
  }
  not_float32(info.Env(), v, name);
}

double number_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  double d = 0;
  const Napi::Value v = arg(info, index);
  if (napi_get_value_double(info.Env(), v, &d) != napi_ok) {
    type_error(info.Env(),
               std::string("Expected a number for ") + name + ", but received " + describe(v));
  }
  return d;
}

int64_t size_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const double d = number_arg(info, index, name);
  if (!(d >= 0 && d <= kMaxSafeInteger) || d != static_cast<double>(static_cast<int64_t>(d))) {
    range_error(info.Env(), std::string("Expected a non-negative integer size for ") + name +
                                ", but received " + number_text(d));
  }
  return static_cast<int64_t>(d);
}

bool bool_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  bool b = false;
  const Napi::Value v = arg(info, index);
  if (napi_get_value_bool(info.Env(), v, &b) != napi_ok) {
    type_error(info.Env(),
               std::string("Expected a boolean for ") + name + ", but received " + describe(v));
  }
  return b;
}

int64_t checked_product(const Napi::Env& env, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    range_error(env, "Expected sizes whose product fits in 64 bits for input.shape, but received " +
                         std::to_string(a) + " x " + std::to_string(b));
  return r;
}

}  // namespace normkit::binding
