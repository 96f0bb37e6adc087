// The forward kernel of every op, one function per op, in the positional order of the seam.
//
// The signatures come from the op descriptors (lib/ops/<op>.ts `args`), generated into
// kernels/ops.gen.h by scripts/gen-ops.js; the binding (native/binding/ops.gen.h, generated from
// the same descriptors) calls these functions with the unwrapped arguments in that order, so the
// order is declared once, in TypeScript. A kernel file whose definition differs from its
// declaration fails to link; a mismatch in kinds fails to compile. What each kernel computes is
// said at the top of its file, native/kernels/<op>.cc.
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

#include "kernels/ops.gen.h"
#include "kernels/ops_namespace.h"

namespace normkit {
NORMKIT_OPS_BEGIN

#define NORMKIT_DECLARE_KERNEL(name, params, args) void name params;
NORMKIT_FOR_EACH_KERNEL(NORMKIT_DECLARE_KERNEL)
#undef NORMKIT_DECLARE_KERNEL

NORMKIT_OPS_END
}  // namespace normkit
