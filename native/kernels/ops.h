// The forward kernel of every op, one function per op, in the positional order of the seam.
//
// The argument order of each function is the order declared by the op's descriptor in
// lib/ops.ts (its `args`); the binding (native/binding/ops.gen.h, generated from those
// descriptors) calls these functions with the unwrapped arguments in that order, so the order is
// declared once, in TypeScript. A mismatch in kinds fails to compile.
//
// Conventions shared by every op:
//  - Pure: pointers and sizes only, no N-API, no allocation beyond scratch, no I/O.
//  - Optional arrays (weight, bias, running statistics, saved statistics) may be null.
//  - Outputs may equal an input exactly where the descriptor allows it (in place), never overlap
//    it partially; the binding has checked this.
//  - save_mean / save_rstd, when not null, receive each statistic's mean and 1/sqrt(var + eps) as
//    float32, one per statistic (row, channel, (sample, group) or (sample, channel)), as
//    torch.native_layer_norm returns them, for the backward pass. RMSNorm saves only rstd.
//  - Sizes are int64_t; channels_last data is stored (N, ...spatial, C), otherwise (N, C, ...).
//
// Each tier defines these functions in its own namespace (kernels/tier.h), where a kernel file
// includes this header; everywhere else they are normkit's, defined in kernels/dispatch.cc,
// which calls the tier in use.
#pragma once

#include <cstdint>

#include "kernels/ops_namespace.h"

namespace normkit {
NORMKIT_OPS_BEGIN

// torch.nn.functional.layer_norm over `rows` contiguous rows of `cols` values.
void layer_norm_forward(const float* input, int64_t rows, int64_t cols, const float* weight,
                        const float* bias, double eps, float* out, float* save_mean,
                        float* save_rstd);

// torch.nn.functional.rms_norm: out = x / sqrt(mean(x^2) + eps) * weight over rows of `cols`.
void rms_norm_forward(const float* input, int64_t rows, int64_t cols, const float* weight,
                      double eps, float* out, float* save_rstd);

// sum_out = input + residual; out = layer_norm(sum_out). sum_out may equal input or residual;
// out may equal input or residual, never sum_out.
void add_layer_norm_forward(const float* input, const float* residual, int64_t rows, int64_t cols,
                            const float* weight, const float* bias, double eps, float* out,
                            float* sum_out, float* save_mean, float* save_rstd);

// sum_out = input + residual; out = rms_norm(sum_out). Aliasing as add_layer_norm_forward.
void add_rms_norm_forward(const float* input, const float* residual, int64_t rows, int64_t cols,
                          const float* weight, double eps, float* out, float* sum_out,
                          float* save_rstd);

// torch.nn.functional.batch_norm. Training: batch statistics per channel, running statistics
// (when not null) updated with `momentum` (variance unbiased); requires batch * spatial != 1.
// Eval: running_mean and running_var (not null) normalize. Saved: per channel.
void batch_norm_forward(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                        bool channels_last, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, double momentum,
                        double eps, float* out, float* save_mean, float* save_rstd);

// torch.nn.functional.group_norm: statistics per (sample, group) over channels / groups channels
// and the spatial axes; per-channel weight and bias. channels % groups == 0, groups > 0.
// Saved: batch * groups values, sample-major.
void group_norm_forward(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                        int64_t groups, bool channels_last, const float* weight, const float* bias,
                        double eps, float* out, float* save_mean, float* save_rstd);

// torch.nn.functional.instance_norm: with use_input_stats, statistics per (sample, channel) over
// the spatial axes (spatial > 1 required), and running statistics (when not null) updated with
// the batch mean of the per-instance updates (unbiased variance over spatial). Without
// use_input_stats, running_mean and running_var (not null) normalize every sample.
// Saved: batch * channels values, sample-major.
void instance_norm_forward(const float* input, int64_t batch, int64_t channels, int64_t spatial,
                           bool channels_last, const float* weight, const float* bias,
                           float* running_mean, float* running_var, bool use_input_stats,
                           double momentum, double eps, float* out, float* save_mean,
                           float* save_rstd);

NORMKIT_OPS_END
}  // namespace normkit
