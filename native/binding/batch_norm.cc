#include "binding/bindings.h"
#include "binding/common.h"
#include "kernels/batch_norm.h"

namespace normkit::binding {

// batchNormForward(input, batch, channels, spatial, channelsLast, weight, bias, runningMean,
//                  runningVar, training, momentum, eps, out); parameters may be null.
Napi::Value BatchNormForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  BatchNormShape shape{};
  shape.batch = size_arg(info, 1, "batch");
  shape.channels = size_arg(info, 2, "channels");
  shape.spatial = size_arg(info, 3, "spatial");
  shape.channels_last = bool_arg(info, 4, "channelsLast");
  const int64_t c = shape.channels;
  const int64_t numel = checked_product(env, checked_product(env, shape.batch, c), shape.spatial);
  const FloatSpan input = float_array(info, 0, "input", numel, false);
  const FloatSpan weight = float_array(info, 5, "weight", c, true);
  const FloatSpan bias = float_array(info, 6, "bias", c, true);
  const FloatSpan running_mean = float_array(info, 7, "runningMean", c, true);
  const FloatSpan running_var = float_array(info, 8, "runningVar", c, true);
  const bool training = bool_arg(info, 9, "training");
  const double momentum = number_arg(info, 10, "momentum");
  const double eps = number_arg(info, 11, "eps");
  const FloatSpan out = float_array(info, 12, "out", numel, false);
  check_out_aliasing(env, out, input, {weight, bias, running_mean, running_var});
  if (training) {
    if (shape.batch * shape.spatial == 1 && c > 0) {
      throw Napi::RangeError::New(
          env, "Expected more than 1 value per channel when training for input, but received 1");
    }
    batch_norm_forward_training(input.data, out.data, shape, weight.data, bias.data, eps, momentum,
                                running_mean.data, running_var.data, nullptr, nullptr);
  } else {
    if (!running_mean || !running_var) {
      if (numel > 0 || c > 0) {
        throw Napi::RangeError::New(env,
                                    "Expected Float32Arrays in eval mode for runningMean and "
                                    "runningVar, but received null");
      }
    }
    batch_norm_forward_eval(input.data, out.data, shape, weight.data, bias.data, running_mean.data,
                            running_var.data, eps);
  }
  return env.Undefined();
}

}  // namespace normkit::binding
