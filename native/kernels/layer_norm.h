#pragma once

#include <cstdint>

namespace normkit {

// LayerNorm over `rows` contiguous rows of `cols` values (torch.nn.functional.layer_norm).
// weight and bias have `cols` values and may be null. y may equal x (in place).
// mean_out and rstd_out (may be null) receive each row's mean and 1/sqrt(var + eps), for a
// backward pass. Pure: no allocation beyond the stack, no I/O, no N-API.
void layer_norm_forward(const float* x, float* y, int64_t rows, int64_t cols, const float* weight,
                        const float* bias, double eps, float* mean_out, float* rstd_out);

}  // namespace normkit
