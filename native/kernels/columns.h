// Moments over channels-last columns: each channel summed down rows of `c` values. Threads take
// ranges of rows and keep per-thread partial sums, merged once at the end; all partials of a
// channel share its shift, so the merge is plain addition.
//
// Written once over the vector layer (kernels/vec/), compiled per tier: the primitives are
// collected in Columns (part of the tier's Tier, kernels/tiers.h); column_moments (columns.cc)
// is the threaded driver.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/moments.h"
#include "kernels/rows.h"
#include "kernels/simd.h"
#include "kernels/tier.h"
#include "kernels/tiling.h"
#include "kernels/vec/vec.h"

namespace normkit {
NORMKIT_TIER_BEGIN

// Vectors per column tile of the fast sums: 64 channels on AVX-512, 32 on AVX2, 16 on SSE2 and
// NEON. Their float partials and shifts (3 x 4 vectors) fit in the registers of every tier.
constexpr int kTileVectors = 4;
constexpr int64_t kTileChannels = kTileVectors * vec::kLanes;

// The fast sums of one column tile [c0, c0 + kTileChannels) over rows [r0, r1): float partials
// over kFloatBlockRows rows at a time, widened into double accumulators kept for the whole range
// (touched once per kFloatBlockRows rows, so spilling them costs little), then added to s1 and
// s2 once. A row of the tile is read as one sequential run, which the prefetchers follow better
// than a stride. kMasked: the last, partial tile (lanes[j] channels in its vector j); full tiles
// load nothing but the data per row.
template <bool kMasked>
NORMKIT_INLINE void column_tile_fast(const float* x, int64_t r0, int64_t r1, int64_t c, int64_t c0,
                                     const int64_t* lanes, const float* shift, double* s1,
                                     double* s2) {
  using namespace vec;
  constexpr int K = kTileVectors;
  F sh[K];
  D a[2 * K], q[2 * K];
  for (int j = 0; j < K; ++j) {
    sh[j] = kMasked ? load_first(shift + c0 + kLanes * j, lanes[j]) : load(shift + c0 + kLanes * j);
  }
  for (int j = 0; j < 2 * K; ++j) a[j] = q[j] = dzero();
  for (int64_t r = r0; r < r1; r += kFloatBlockRows) {
    const int64_t end = r + kFloatBlockRows < r1 ? r + kFloatBlockRows : r1;
    F fa[K], fq[K];
    for (int j = 0; j < K; ++j) fa[j] = fq[j] = zero();
    for (int64_t i = r; i < end; ++i) {
      const float* xr = x + i * c + c0;
      for (int j = 0; j < K; ++j) {
        // Masked lanes load 0 against a shift of 0: they add nothing.
        const F d =
            sub(kMasked ? load_first(xr + kLanes * j, lanes[j]) : load(xr + kLanes * j), sh[j]);
        fa[j] = add(fa[j], d);
        fq[j] = fma(d, d, fq[j]);
      }
    }
    for (int j = 0; j < K; ++j) {
      a[2 * j] = dadd(a[2 * j], widen_lo(fa[j]));
      a[2 * j + 1] = dadd(a[2 * j + 1], widen_hi(fa[j]));
      q[2 * j] = dadd(q[2 * j], widen_lo(fq[j]));
      q[2 * j + 1] = dadd(q[2 * j + 1], widen_hi(fq[j]));
    }
  }
  constexpr int64_t kHalf = kLanes / 2;
  if constexpr (!kMasked) {
    // A whole tile: vector adds into the sums (a scalar loop here cost as much as the block's
    // data for short blocks: 256 channels, 16 rows).
    for (int j = 0; j < 2 * K; ++j) {
      double* p1 = s1 + c0 + kHalf * j;
      double* p2 = s2 + c0 + kHalf * j;
      dstore(p1, dadd(dload(p1), a[j]));
      dstore(p2, dadd(dload(p2), q[j]));
    }
  } else {
    double t1[kLanes * K], t2[kLanes * K];
    for (int j = 0; j < 2 * K; ++j) {
      dstore(t1 + kHalf * j, a[j]);
      dstore(t2 + kHalf * j, q[j]);
    }
    int64_t n = 0;
    for (int j = 0; j < K; ++j) n += lanes[j];
    for (int64_t i = 0; i < n; ++i) {
      s1[c0 + i] += t1[i];
      s2[c0 + i] += t2[i];
    }
  }
}

struct Columns {
  // Adds (x - shift[i]) and its square over rows [begin, end) into s1[i], s2[i] exactly (in
  // double), vectorized across channels by the compiler: the rare redo of untrusted fast sums.
  NORMKIT_INLINE static void column_sums(const float* x, int64_t begin, int64_t end, int64_t c,
                                         const float* shift, double* s1, double* s2) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * c;
#pragma omp simd
      for (int64_t i = 0; i < c; ++i) {
        const double d = static_cast<double>(xr[i]) - static_cast<double>(shift[i]);
        s1[i] += d;
        s2[i] += d * d;
      }
    }
  }

  // column_sums with the float partials of fast_run_sums (check with trust_fast_sums). Rows are
  // taken in blocks of about kColumnBlockBytes (at least kFloatBlockRows rows), which stay in L1
  // while each column tile sweeps them. With `prefetch` (data larger than the cache), each block's
  // lines kPrefetchAheadValues further on are prefetched into L2 as the block starts: out of
  // cache, on a Granite Rapids-class VM at 1 and 2 threads (bench/run.js, time / streaming-store
  // copy), BatchNorm training channels-last [512, 64, 56, 56] 0.57-0.59 from 0.51-0.52, GroupNorm
  // 0.78-0.83 from 0.71-0.73 (prefetching 1 to 16 KB ahead gave the same); in cache the same
  // prefetches cost 5-15%.
  NORMKIT_INLINE static void column_sums_fast(const float* x, int64_t begin, int64_t end, int64_t c,
                                              const float* shift, double* s1, double* s2,
                                              bool prefetch = false) {
    const int64_t block_rows = std::max<int64_t>(
        kFloatBlockRows, kColumnBlockBytes / (c * 4) / kFloatBlockRows * kFloatBlockRows);
    const int64_t full = c / kTileChannels * kTileChannels;
    int64_t tail[kTileVectors];
    for (int j = 0; j < kTileVectors; ++j) {
      const int64_t left = c - full - vec::kLanes * j;
      tail[j] = left >= vec::kLanes ? vec::kLanes : left > 0 ? left : 0;
    }
    for (int64_t r0 = begin; r0 < end; r0 += block_rows) {
      const int64_t r1 = r0 + block_rows < end ? r0 + block_rows : end;
      if (prefetch) {
        // Only prefetched (into L2, as the row pipeline's): past the rows of this range, the
        // lines may lie past the data.
        const Values data{x};
        for (int64_t k = r0 * c; k < r1 * c; k += kFloatsPerLine) {
          data.prefetch(k + kPrefetchAheadValues);
        }
      }
      for (int64_t c0 = 0; c0 < full; c0 += kTileChannels) {
        column_tile_fast<false>(x, r0, r1, c, c0, nullptr, shift, s1, s2);
      }
      if (full < c) column_tile_fast<true>(x, r0, r1, c, full, tail, shift, s1, s2);
    }
  }
};

// The sums of each of `c` channels over `rows` channels-last rows, about shift[i] (a value of
// the data), into sums[i]; on `threads` threads, fast (float partials: check them with
// trust_fast_sums, per statistic after merging the channels it covers) or exact; the fast sums
// prefetch ahead where `prefetch` (data larger than the cache).
void column_moments(const float* x, int64_t rows, int64_t c, const float* shift, int threads,
                    bool fast, bool prefetch, ShiftedSums* sums);

NORMKIT_TIER_END
}  // namespace normkit
