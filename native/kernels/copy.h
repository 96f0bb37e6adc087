#pragma once

#include <cstdint>

namespace normkit {

// y[i] = a * x[i] + b on the library's threads: the copy-bandwidth baseline every kernel is
// judged against (the same bytes read and written, the least possible arithmetic).
void scale_copy(const float* x, float* y, int64_t n, float a, float b);

}  // namespace normkit
