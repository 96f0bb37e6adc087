// The kernels of one tier as a table of function pointers: what kernels/dispatch.cc chooses from.
// Each tier's table is defined by kernels/table.cc compiled for that tier.
#pragma once

#include "kernels/copy.h"
#include "kernels/ops.h"

namespace normkit {

using LayerNormKernel = decltype(layer_norm_forward);
using RmsNormKernel = decltype(rms_norm_forward);
using AddLayerNormKernel = decltype(add_layer_norm_forward);
using AddRmsNormKernel = decltype(add_rms_norm_forward);
using BatchNormKernel = decltype(batch_norm_forward);
using GroupNormKernel = decltype(group_norm_forward);
using InstanceNormKernel = decltype(instance_norm_forward);
using ScaleCopyKernel = decltype(scale_copy);

struct KernelTable {
  const char* name;  // what simdPath() reports
  LayerNormKernel* layer_norm;
  RmsNormKernel* rms_norm;
  AddLayerNormKernel* add_layer_norm;
  AddRmsNormKernel* add_rms_norm;
  BatchNormKernel* batch_norm;
  GroupNormKernel* group_norm;
  InstanceNormKernel* instance_norm;
  ScaleCopyKernel* scale_copy;
};

// One per tier built into the binary (kernels/table.cc); only kernels/dispatch.cc calls them.
const KernelTable& kernel_table_avx512();
const KernelTable& kernel_table_avx2();
const KernelTable& kernel_table_baseline();
const KernelTable& kernel_table_neon();

}  // namespace normkit
