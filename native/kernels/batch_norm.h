#pragma once

#include <cstdint>

namespace normkit {

// Logical (N, C, spatial...) with the spatial axes flattened. channels_last stores the data as
// (N, spatial..., C); otherwise as (N, C, spatial...).
struct BatchNormShape {
  int64_t batch;
  int64_t channels;
  int64_t spatial;
  bool channels_last;
};

// Training: normalizes with the batch mean and biased variance of each channel, then, where
// running_mean / running_var are not null, updates them in place with `momentum` (running_var
// with the unbiased variance). save_mean / save_var (may be null) receive the batch statistics.
// Requires batch * spatial != 1. y may equal x.
void batch_norm_forward_training(const float* x, float* y, const BatchNormShape& shape,
                                 const float* weight, const float* bias, double eps,
                                 double momentum, float* running_mean, float* running_var,
                                 double* save_mean, double* save_var);

// Eval: normalizes with the given running statistics. y may equal x.
void batch_norm_forward_eval(const float* x, float* y, const BatchNormShape& shape,
                             const float* weight, const float* bias, const float* running_mean,
                             const float* running_var, double eps);

// Per-channel biased mean and variance of the batch, accumulated in double.
void batch_norm_collect_stats(const float* x, const BatchNormShape& shape, double* mean,
                              double* var);

}  // namespace normkit
