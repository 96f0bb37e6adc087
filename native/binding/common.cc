#include "binding/common.h"

#include <string>

namespace normkit::binding {

namespace {
constexpr double kMaxSafeInteger = 9007199254740992.0;

[[noreturn]] void type_error(const Napi::Env& env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] void range_error(const Napi::Env& env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}
Napi::Value arg(const Napi::CallbackInfo& info, size_t index) {
  return index < info.Length() ? info[index] : info.Env().Undefined();
}
bool overlaps(const FloatSpan& a, const FloatSpan& b) {
  if (a.length == 0 || b.length == 0) return false;
  return a.data < b.data + b.length && b.data < a.data + a.length;
}
}  // namespace

FloatSpan float_array_any(const Napi::CallbackInfo& info, size_t index, const char* name) {
  // One napi_get_typedarray_info call answers type, length and data: small calls are dominated
  // by N-API round trips, so none is spent twice.
  const Napi::Value v = arg(info, index);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(info.Env(), v, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_float32_array) {
    type_error(info.Env(),
               std::string("Expected a Float32Array for ") + name + ", but received another value");
  }
  // data already points at the view's first element (N-API adds byteOffset).
  return {static_cast<float*>(data), static_cast<int64_t>(length)};
}

FloatSpan float_array(const Napi::CallbackInfo& info, size_t index, const char* name,
                      int64_t length, bool optional) {
  const Napi::Value v = arg(info, index);
  if (optional && (v.IsNull() || v.IsUndefined())) return {};
  FloatSpan s = float_array_any(info, index, name);
  if (s.length != length) {
    range_error(info.Env(), std::string("Expected a Float32Array of length ") +
                                std::to_string(length) + " for " + name + ", but received length " +
                                std::to_string(s.length));
  }
  return s;
}

double number_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  double d = 0;
  if (napi_get_value_double(info.Env(), arg(info, index), &d) != napi_ok) {
    type_error(info.Env(),
               std::string("Expected a number for ") + name + ", but received another value");
  }
  return d;
}

int64_t size_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const double d = number_arg(info, index, name);
  if (!(d >= 0 && d <= kMaxSafeInteger) || d != static_cast<double>(static_cast<int64_t>(d))) {
    range_error(info.Env(), std::string("Expected a non-negative integer for ") + name +
                                ", but received " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

bool bool_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  bool b = false;
  if (napi_get_value_bool(info.Env(), arg(info, index), &b) != napi_ok) {
    type_error(info.Env(),
               std::string("Expected a boolean for ") + name + ", but received another value");
  }
  return b;
}

int64_t checked_product(const Napi::Env& env, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    range_error(
        env,
        "Expected sizes whose product does not overflow 64 bits for the tensor, but received " +
            std::to_string(a) + " x " + std::to_string(b));
  return r;
}

void check_out_aliasing(const Napi::Env& env, const FloatSpan& out, const FloatSpan& input,
                        std::initializer_list<FloatSpan> params) {
  if (out.data != input.data && overlaps(out, input)) {
    range_error(env,
                "Expected the input itself or memory apart from it for out, but received an "
                "overlapping view");
  }
  for (const FloatSpan& p : params) {
    if (overlaps(out, p))
      range_error(
          env,
          "Expected memory apart from the parameters for out, but received an overlapping view");
  }
}

}  // namespace normkit::binding
