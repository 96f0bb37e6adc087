// The narrow vector layer the kernels are written over: one header per instruction set, each
// defining the same names in normkit::<tier>::vec (see vec/baseline.h for the vocabulary), in the
// spirit of ggml's GGML_F32_VEC and ATen's Vectorized<T>. The tier a file is compiled for
// (kernels/tier.h) picks the header.
#pragma once

#include "kernels/tier.h"

#if defined(NORMKIT_TIER_AVX512)
#include "kernels/vec/avx512.h"
#elif defined(NORMKIT_TIER_AVX2)
#include "kernels/vec/avx2.h"
#elif defined(NORMKIT_TIER_NEON)
#include "kernels/vec/neon.h"
#else
#include "kernels/vec/baseline.h"
#endif
