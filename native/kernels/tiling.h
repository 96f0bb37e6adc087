// Every tiling and grain constant of the kernels, named once, with the cache level it is sized
// for.
#pragma once

#include <cstddef>
#include <cstdint>

namespace normkit {

// Least values per thread worth a parallel region (128 KB of float input); below it the
// region's start-up costs more than the thread saves.
constexpr int64_t kGrainValues = int64_t{1} << 15;

// Per-thread partial sums are padded to whole 64-byte lines, so threads never share a line.
constexpr int64_t kDoublesPerLine = 8;

// Rows of at most this many values are normalized two at a time, so the latency of one row's
// statistics (horizontal sums, divide, square root: ~100 cycles) overlaps the other's work.
constexpr int64_t kShortRowValues = 512;

// Rows longer than kShortRowValues are normalized as a software pipeline (kernels/row_norm.h)
// that prefetches, into L2, the lines this many values (3 KB) past those of the next row being
// summed: the row after the next for rows of up to 768 values, further into the next one for
// longer rows. Into L1 (prefetcht0) and a whole row ahead, as before, the prefetched lines evicted
// what the loop still used where a row is long: the current row, the next one, the weight and the
// bias of LayerNorm [*, 4096] are 64 KB, more than a 48 KB L1. Measured on a Granite Rapids-class
// VM (bench/run.js, 2 runs, AVX-512, 1 and 2 threads, time / streaming-store copy of the same
// bytes), L2 at 768 values against L1 a row ahead up to 4096 values: LayerNorm [32768, 4096] out
// of cache 0.86-0.90 against 0.57-0.59, RMSNorm [32768, 4096] 1.07-1.11 against 0.75-0.77,
// LayerNorm [174762, 768] 0.96-0.99 against 0.91-0.92, the in-cache [8192, 768] and [2048, 4096]
// within noise; LayerNorm [8192, 16384] and [2048, 65536] (512 MiB) 0.88 of the time of no
// prefetch. (On Zen 4, L1 a row ahead had taken LayerNorm [2048, 4096] from 1.06-1.24 ms to
// 0.88-0.94 at 2 threads; not measured again there.)
constexpr int64_t kPrefetchAheadValues = 768;

// The periodic (channels-last) apply with cached stores, where each thread's share of the data
// is larger than its L2 (so the output's lines come from L3 or memory), prefetches the lines it
// will write this many values (1 KB) ahead, for writing. Its loop reads its input from L2 (the
// statistics pass has just read it) and does little else, so each store's read-for-ownership
// waited on the outer caches; prefetched, they overlap. Measured on a Granite Rapids-class VM
// (AVX-512, 4 runs, alternating processes, time with / without): channels-last GroupNorm
// [32, 64, 56, 56] 0.91-0.95 at 1 thread and 0.87-0.96 at 2, InstanceNorm 0.88-0.93 and
// 0.93-0.97, BatchNorm training 0.92-0.97 at 1 and 2; 2 KB ahead gave the same, 512 bytes less.
// Where the output stays in L2 the prefetches cost: BatchNorm training channels-last
// [8, 256, 14, 14] 1.05-1.2 with them. The row pipeline (LayerNorm, RMSNorm, the fused forms,
// channels-first sets), which reads new data as it writes, gained 0-5% from the same prefetches,
// within noise, and does not take them. prefetchw rather than prefetcht0 made no difference.
constexpr int64_t kStorePrefetchAheadValues = 256;

// Runs of at least this many values are applied from their output's first aligned address even
// where the stores do not stream, so that no store (and no load from an array that shares the
// output's offset from a line) is split across two lines; shorter runs store unaligned, as the
// masked head costs them more than the splits it saves. Measured on a Granite Rapids-class VM
// (bench/ab.js, 5 rounds, builds interleaved, time with / without): fused add + LayerNorm and add
// + RMSNorm [8192, 768] with fresh arrays (all 16 bytes past a line) 0.70-0.83, LayerNorm and
// RMSNorm 0.95-0.99, BatchNorm eval channels-first [32, 64, 56, 56] 0.89-0.96 and
// [8, 256, 14, 14] (runs of 196) 0.79-0.95; LayerNorm [64, 128] (runs of 128) was 1.08 with it.
// The channels-last (periodic) apply takes its ranges the same way: GroupNorm and InstanceNorm
// [32, 64, 56, 56] 0.67 at 1 thread and 0.93 at 2, BatchNorm training and eval 0.90-0.95 (7
// rounds).
constexpr int64_t kAlignedRunValues = 160;

// Channels-first runs of at least this many values are applied and summed by a function compiled
// on its own (apply_and_accumulate_run, kernels/apply.h), whose loop keeps its values in
// registers; shorter runs stay inline, where the call would cost more than the spill it saves.
// Measured on a Granite Rapids-class VM (bench/ab.js, 5 rounds, builds interleaved, time with /
// without): BatchNorm training, GroupNorm and InstanceNorm channels-first [32, 64, 56, 56] (runs
// of 3136) 0.85-0.89 at 1 and 2 threads. Out of line for every run, BatchNorm training
// [8, 256, 14, 14] (runs of 196) took 1.04-1.18; with this threshold 0.92-1.10, within the noise
// of its channels-last twin, which this does not touch (0.99-1.07 in the same runs).
constexpr int64_t kOutOfLineRunValues = 1024;

// Floats per 64-byte cache line (the prefetch stride).
constexpr int64_t kFloatsPerLine = 16;

// Exact column sums (channels-last): a block of rows of about this many bytes stays in L1 while
// it is swept once per 32-channel tile whose sums live in registers.
constexpr int64_t kColumnBlockBytes = int64_t{16} << 10;

// Float partials of the fast sums: each lane sums this many values in float before the partial
// is widened into double; 8 keeps the float error near 8 ulp of the partial.
constexpr int64_t kFloatValuesPerLane = 8;
// Rows per float partial of the fast column sums (one value per lane per row).
constexpr int64_t kFloatBlockRows = kFloatValuesPerLane;

// Channels-first sets of runs: below this many values per run, the statistics of the next set
// are not summed under the apply of the current one (the per-run overhead would dominate).
constexpr int64_t kPipelineMinRun = 64;

// Fewer sets than threads (channels-first): runs are cut into pieces of at least this many
// values, so each piece is worth a vector loop.
constexpr int64_t kMinPieceValues = 16;

// The periodic apply expands its parameters only for data holding at least this many periods,
// so the expansion costs less than the apply.
constexpr int64_t kMinPeriodsExpanded = 4;

// Longest channels-last period (a multiple of 16 and of the channel count) expanded for the
// periodic apply: 3 arrays of this many floats (64 KB each, L2); past it, rows one at a time.
constexpr int64_t kMaxPeriod = int64_t{1} << 14;

// Channels whose per-channel working arrays live on the stack; more go to the heap.
constexpr size_t kInlineChannels = 256;

}  // namespace normkit
