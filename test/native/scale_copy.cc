// The copy baseline's checks (kernels/copy.h): y = a * x + b, in place and not, every size of
// the sweeps and the largest.
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "harness.h"
#include "kernels/copy.h"

namespace normkit::harness {
namespace {

NORMKIT_KERNEL_CHECK(scale_copy) {
  std::vector<int64_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(kMaxValues);
  for (int64_t n : sizes) {
    for (bool in_place : {false, true}) {
      const Buffer<float> x0 = make_values(n, 17, 0.0, 2.0);
      Buffer<float> x(x0, next_lead(), next_trail());
      Buffer<float> y_separate(in_place ? 0 : n, next_lead(), next_trail());
      float* y = in_place ? x.get() : y_separate.get();
      normkit::scale_copy(x.get(), y, n, 1.5f, -0.25f);
      const std::string where = describe("scale_copy", {n}, in_place ? "in_place=1" : "in_place=0");
      check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
      for (int64_t i = 0; i < n; ++i) {
        check_value(y[i], 1.5 * x0[i] - 0.25, where, " y", i, 1e-6, 1e-6);
      }
    }
  }
}

}  // namespace
}  // namespace normkit::harness
