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
  static const KernelTable table{
      NORMKIT_STRING(NORMKIT_TIER), layer_norm_forward,    rms_norm_forward,
      add_layer_norm_forward,       add_rms_norm_forward,  batch_norm_forward,
      group_norm_forward,           instance_norm_forward, scale_copy};
  return table;
}

}  // namespace normkit
