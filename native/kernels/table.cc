// This tier's table (kernels/table.h): compiled once per tier like every kernel file, so each
// tier's copy points at that tier's kernels.
#include "kernels/table.h"

#include "kernels/tier.h"

#define NORMKIT_CAT_(a, b) a##b
#define NORMKIT_CAT(a, b) NORMKIT_CAT_(a, b)
#define NORMKIT_STRING_(a) #a
#define NORMKIT_STRING(a) NORMKIT_STRING_(a)

namespace normkit {

const KernelTable& NORMKIT_CAT(kernel_table_, NORMKIT_TIER)() {
  static const KernelTable table{NORMKIT_STRING(NORMKIT_TIER),
#define NORMKIT_KERNEL_ENTRY(name, params, args) name,
                                 NORMKIT_FOR_EACH_KERNEL(NORMKIT_KERNEL_ENTRY)
#undef NORMKIT_KERNEL_ENTRY
                                     scale_copy};
  return table;
}

}  // namespace normkit
