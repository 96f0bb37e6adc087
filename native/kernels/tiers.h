// The kernel tiers: each bundles one implementation of every access pattern's primitives (row
// moments, column moments, apply) under the same names, so a driver written once over `T`
// compiles for each. Portable is plain C++ (vectorized by the compiler, cloned per instruction
// set by NORMKIT_DISPATCH); Avx512 is hand-written intrinsics. A driver is instantiated in one
// entry point per tier (NORMKIT_DISPATCH for Portable, NORMKIT_AVX512_ENTRY for Avx512), and the
// op picks the entry with use_avx512(). Where AVX-512 cannot be built, Avx512 is Portable.
#pragma once

#include "kernels/apply.h"
#include "kernels/apply_avx512.h"
#include "kernels/columns.h"
#include "kernels/columns_avx512.h"
#include "kernels/rows.h"
#include "kernels/rows_avx512.h"
#include "kernels/simd.h"

namespace normkit {

struct Portable : PortableRows, PortableColumns, PortableApply {};

#if NORMKIT_HAVE_AVX512
struct Avx512 : Avx512Rows, Avx512Columns, Avx512Apply {};
#else
using Avx512 = Portable;
#endif

// The entry point of the tier in use.
template <typename F>
F* tier_entry(F* portable, F* avx512) {
  return use_avx512() ? avx512 : portable;
}

}  // namespace normkit
