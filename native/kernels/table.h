// The kernels of one tier as a table of function pointers: what kernels/dispatch.cc chooses from.
// Each tier's table is defined by kernels/table.cc compiled for that tier. A field per op, named
// as its kernel (kernels/ops.gen.h), plus the copy the bench measures against.
#pragma once

#include "kernels/copy.h"
#include "kernels/ops.h"

namespace normkit {

namespace kernel_type {
#define NORMKIT_KERNEL_TYPE(name, params, args) using name = decltype(::normkit::name);
NORMKIT_FOR_EACH_KERNEL(NORMKIT_KERNEL_TYPE)
#undef NORMKIT_KERNEL_TYPE
using scale_copy = decltype(::normkit::scale_copy);
}  // namespace kernel_type

struct KernelTable {
  const char* name;  // what simdPath() reports
#define NORMKIT_KERNEL_FIELD(name, params, args) kernel_type::name* name;
  NORMKIT_FOR_EACH_KERNEL(NORMKIT_KERNEL_FIELD)
#undef NORMKIT_KERNEL_FIELD
  kernel_type::scale_copy* scale_copy;
};

// One per tier built into the binary (kernels/table.cc); only kernels/dispatch.cc calls them.
const KernelTable& kernel_table_avx512();
const KernelTable& kernel_table_avx2();
const KernelTable& kernel_table_baseline();
const KernelTable& kernel_table_neon();

}  // namespace normkit
