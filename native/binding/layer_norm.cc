#include "binding/bindings.h"
#include "binding/common.h"
#include "kernels/layer_norm.h"

namespace normkit::binding {

// layerNormForward(input, rows, cols, weight | null, bias | null, eps, out)
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int64_t rows = size_arg(info, 1, "rows");
  const int64_t cols = size_arg(info, 2, "cols");
  const int64_t numel = checked_product(env, rows, cols);
  const FloatSpan input = float_array(info, 0, "input", numel, false);
  const FloatSpan weight = float_array(info, 3, "weight", cols, true);
  const FloatSpan bias = float_array(info, 4, "bias", cols, true);
  const double eps = number_arg(info, 5, "eps");
  const FloatSpan out = float_array(info, 6, "out", numel, false);
  check_out_aliasing(env, out, input, {weight, bias});
  layer_norm_forward(input.data, out.data, rows, cols, weight.data, bias.data, eps, nullptr,
                     nullptr);
  return env.Undefined();
}

}  // namespace normkit::binding
