// The tier's kernel primitives under one name: row moments (kernels/rows.h), column moments
// (kernels/columns.h) and the apply steps (kernels/apply.h), each written once over the vector
// layer (kernels/vec/) and compiled per tier (kernels/tier.h). The drivers take it as `T`.
#pragma once

#include "kernels/apply.h"
#include "kernels/columns.h"
#include "kernels/rows.h"
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

struct Tier : Rows, Columns, Apply {};

NORMKIT_TIER_END
}  // namespace normkit
