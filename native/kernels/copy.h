#pragma once

#include <cstdint>

#include "kernels/ops_namespace.h"

namespace normkit {
NORMKIT_OPS_BEGIN

// y[i] = a * x[i] + b on the library's threads: the copy-bandwidth baseline every kernel is
// judged against (the same bytes read and written, the least possible arithmetic). Per tier,
// as the ops (kernels/ops.h).
void scale_copy(const float* x, float* y, int64_t n, float a, float b);

NORMKIT_OPS_END
}  // namespace normkit
