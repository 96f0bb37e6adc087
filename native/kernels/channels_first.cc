#include "kernels/channels_first.h"

#include <algorithm>
#include <vector>

#include "kernels/apply.h"
#include "kernels/rows.h"
#include "kernels/tier.h"
#include "kernels/tiers.h"
#include "kernels/tiling.h"
#include "parallel.h"

namespace normkit {
NORMKIT_TIER_BEGIN

namespace {

NORMKIT_INLINE int64_t channel_of(const RunSets& s, int64_t k, int64_t j) {
  return (k % s.channel_period) * s.set_channels + j * s.run_channels;
}
NORMKIT_INLINE bool contiguous(const RunSets& s) { return s.run_step == s.run_len; }
NORMKIT_INLINE int64_t set_count(const RunSets& s) { return s.runs * s.run_len; }

// The shift of set k: from its first run, or from the whole set when it is contiguous.
NORMKIT_INLINE float set_shift(const RunSets& s, int64_t k) {
  return pick_shift(s.x + k * s.set_step, contiguous(s) ? set_count(s) : s.run_len);
}

// The sums of set k about `shift`: fast (T's float partials) or exact. A contiguous set is one
// long run.
template <class T, bool kFast>
NORMKIT_INLINE ShiftedSums set_sums(const RunSets& s, int64_t k, float shift) {
  const float* x = s.x + k * s.set_step;
  const int64_t runs = contiguous(s) ? 1 : s.runs;
  const int64_t len = contiguous(s) ? set_count(s) : s.run_len;
  ShiftedSums acc;
  for (int64_t j = 0; j < runs; ++j) {
    if constexpr (kFast) {
      T::template run_sums_fast<true>(x + j * s.run_step, len, shift, acc);
    } else {
      T::template run_sums<true>(x + j * s.run_step, len, shift, acc);
    }
  }
  return acc;
}

// Run j of set k with the set's statistics: T's float form, or the exact path (needs_exact).
template <class T, bool kStream>
NORMKIT_INLINE void apply_run_of_set(const RunSets& s, int64_t k, int64_t j, const Stats& st,
                                     int64_t lo, int64_t hi) {
  const int64_t off = k * s.set_step + j * s.run_step + lo;
  const int64_t c = channel_of(s, k, j);
  if (channel_needs_exact(st.mean, st.rstd, s.weight, c)) {
    return exact_channel_run(s.x + off, s.y + off, hi - lo, st.mean, st.rstd, s.weight, s.bias, c);
  }
  T::template apply_run<false, false, kStream>(s.x + off, s.y + off, hi - lo,
                                               channel_form(st.mean, st.rstd, s.weight, s.bias, c),
                                               nullptr, nullptr);
}

template <class T, bool kStream>
NORMKIT_INLINE void apply_set(const RunSets& s, int64_t k, const Stats& st) {
  const int64_t base = k * s.set_step;
  if (s.run_len == 1 && contiguous(s) && s.run_channels == 1) {
    // One value per channel (GroupNorm over (N, C)): the channel parameters are per element.
    const int64_t c0 = channel_of(s, k, 0);
    const float* w = s.weight ? s.weight + c0 : nullptr;
    const float* b = s.bias ? s.bias + c0 : nullptr;
    if (needs_exact(st.mean, st.rstd)) {
      return exact_run(s.x + base, s.y + base, s.runs, st.mean, st.rstd, w, b);
    }
    apply_run_with<T, kStream>(s.x + base, s.y + base, s.runs, affine_form(st.mean, st.rstd, 0.0),
                               w, b);
    return;
  }
  for (int64_t j = 0; j < s.runs; ++j) apply_run_of_set<T, kStream>(s, k, j, st, 0, s.run_len);
}

// Sets [begin, end) on one thread, each set's statistics and apply back to back (its data,
// 400 KB for a BatchNorm channel of 32x56x56, is read the second time from L2). With runs long
// enough, the next set is summed while the current one is applied (apply_and_accumulate), so
// after the first set every statistic is gathered under the cover of an output stream.
template <class T, bool kStream>
NORMKIT_INLINE void sets_range(const RunSets& s, int64_t begin, int64_t end) {
  const int64_t count = set_count(s);
  const bool pipeline = s.run_len >= kPipelineMinRun;
  float shift = set_shift(s, begin);
  ShiftedSums acc = set_sums<T, true>(s, begin, shift);
  for (int64_t k = begin; k < end; ++k) {
    if (T::kFastSumsInexact && !trust_fast_sums<true>(acc, count)) {
      acc = set_sums<T, false>(s, k, shift);
    }
    const Stats st = finish_centred(acc, shift, count, s.eps);
    s.stats.record(k, st);
    const bool next = k + 1 < end;
    const float next_shift = next ? set_shift(s, k + 1) : 0.0f;
    acc = ShiftedSums{};
    if (next && pipeline) {
      for (int64_t j = 0; j < s.runs; ++j) {
        const int64_t off = k * s.set_step + j * s.run_step;
        const int64_t c = channel_of(s, k, j);
        if (channel_needs_exact(st.mean, st.rstd, s.weight, c)) {
          exact_channel_run(s.x + off, s.y + off, s.run_len, st.mean, st.rstd, s.weight, s.bias, c);
          T::template run_sums<true>(s.x + off + s.set_step, s.run_len, next_shift, acc);
          continue;
        }
        const Affine f = channel_form(st.mean, st.rstd, s.weight, s.bias, c);
        // The run summed after the next set's run j (only prefetched): its run j + 1, else the
        // first of the set after it, if any.
        const int64_t then = j + 1 < s.runs   ? off + s.set_step + s.run_step
                             : k + 2 < s.sets ? (k + 2) * s.set_step
                                              : off + s.set_step;
        T::template apply_and_accumulate<kStream>(s.x + off, s.y + off, s.run_len, f,
                                                  s.x + off + s.set_step, s.x + then, next_shift,
                                                  acc);
      }
    } else {
      apply_set<T, kStream>(s, k, st);
      if (next) acc = set_sums<T, true>(s, k + 1, next_shift);
    }
    shift = next_shift;
  }
  if constexpr (kStream) T::fence();
}

// Fewer sets than threads: the runs are cut into pieces, each piece's exact sums taken on any
// thread and merged per set, then the pieces applied on any thread.
struct Pieces {
  int64_t per_run;
  const float* shift;  // per set
  ShiftedSums* sums;   // per piece
  const Stats* stats;  // per set
};

NORMKIT_INLINE void piece_at(const RunSets& s, const Pieces& p, int64_t u, int64_t& k, int64_t& j,
                             int64_t& lo, int64_t& hi) {
  const int64_t q = u / p.per_run, part = u % p.per_run;
  k = q / s.runs;
  j = q % s.runs;
  lo = s.run_len * part / p.per_run;
  hi = s.run_len * (part + 1) / p.per_run;
}

template <class T>
NORMKIT_INLINE void piece_sums(const RunSets& s, const Pieces& p, int64_t begin, int64_t end) {
  for (int64_t u = begin; u < end; ++u) {
    int64_t k, j, lo, hi;
    piece_at(s, p, u, k, j, lo, hi);
    T::template run_sums<true>(s.x + k * s.set_step + j * s.run_step + lo, hi - lo, p.shift[k],
                               p.sums[u]);
  }
}

template <class T, bool kStream>
NORMKIT_INLINE void piece_apply(const RunSets& s, const Pieces& p, int64_t begin, int64_t end) {
  for (int64_t u = begin; u < end; ++u) {
    int64_t k, j, lo, hi;
    piece_at(s, p, u, k, j, lo, hi);
    apply_run_of_set<T, kStream>(s, k, j, p.stats[k], lo, hi);
  }
  if constexpr (kStream) T::fence();
}

// What each parallel region runs, by template flag.
enum class Step { kSets, kPieceSums, kPieceApply };

template <class T, Step kStep, bool kStream>
NORMKIT_INLINE void step(const RunSets& s, const Pieces& p, int64_t begin, int64_t end) {
  if constexpr (kStep == Step::kSets) sets_range<T, kStream>(s, begin, end);
  if constexpr (kStep == Step::kPieceSums) piece_sums<T>(s, p, begin, end);
  if constexpr (kStep == Step::kPieceApply) piece_apply<T, kStream>(s, p, begin, end);
}

template <class T, Step kStep>
NORMKIT_INLINE void step(const RunSets& s, const Pieces& p, int64_t begin, int64_t end,
                         bool stream) {
  if constexpr (T::kHasStreamingStores && kStep != Step::kPieceSums) {
    if (stream) return step<T, kStep, true>(s, p, begin, end);
  }
  step<T, kStep, false>(s, p, begin, end);
}

}  // namespace

void normalize_run_sets(const RunSets& s) {
  if (s.sets <= 0) return;
  const int64_t count = set_count(s);
  if (count <= 0) return s.stats.record_empty(s.sets);
  const int64_t numel = s.sets * count;
  const int threads = threads_for(numel, kGrainValues);
  const int64_t bytes = numel * static_cast<int64_t>(sizeof(float));
  const bool stream = stream_output(bytes, bytes);
  if (s.sets >= threads) {
    const Pieces none{1, nullptr, nullptr, nullptr};
    parallel_for(threads, s.sets, [&](int, int64_t begin, int64_t end) {
      step<Tier, Step::kSets>(s, none, begin, end, stream);
    });
    return;
  }
  const int64_t runs = s.sets * s.runs;
  const int64_t per_run =
      runs >= threads ? 1
                      : std::min<int64_t>((threads + runs - 1) / runs,
                                          (s.run_len + kMinPieceValues - 1) / kMinPieceValues);
  const int64_t pieces = runs * per_run;
  std::vector<float> shift(static_cast<size_t>(s.sets));
  for (int64_t k = 0; k < s.sets; ++k) shift[k] = set_shift(s, k);
  std::vector<ShiftedSums> sums(static_cast<size_t>(pieces));
  std::vector<Stats> stats(static_cast<size_t>(s.sets));
  const Pieces p{per_run, shift.data(), sums.data(), stats.data()};
  parallel_for(threads, pieces, [&](int, int64_t begin, int64_t end) {
    step<Tier, Step::kPieceSums>(s, p, begin, end, stream);
  });
  const int64_t per_set = s.runs * per_run;
  for (int64_t k = 0; k < s.sets; ++k) {
    stats[k] = finish_centred(merge_partials(&sums[k * per_set], per_set), shift[k], count, s.eps);
    s.stats.record(k, stats[k]);
  }
  parallel_for(threads, pieces, [&](int, int64_t begin, int64_t end) {
    step<Tier, Step::kPieceApply>(s, p, begin, end, stream);
  });
}

NORMKIT_TIER_END
}  // namespace normkit
