// AVX-512 apply steps (the tier's version of PortableApply in kernels/apply.h): per-element
// parameters over a run, a run with the next run's sums alongside, and the periodic
// channels-last apply. With kStream the 64-byte-aligned middle of the output is written with
// streaming stores, head and tail with masks; callers end a streaming range with fence().
#pragma once

#include <type_traits>

#include "kernels/apply.h"
#include "kernels/avx512.h"
#include "kernels/rows_avx512.h"

#if NORMKIT_HAVE_AVX512

namespace normkit::avx512 {

// One output vector: (x - hi) * scale + offset, then * w + b, * w, or + b.
template <bool kWeight, bool kBias>
NORMKIT_AVX512_INLINE __m512 normalize(__m512 x, __m512 hi, __m512 scale, __m512 offset, __m512 w,
                                       __m512 b) {
  const __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(x, hi), scale, offset);
  if constexpr (kWeight && kBias) return _mm512_fmadd_ps(v, w, b);
  if constexpr (kWeight) return _mm512_mul_ps(v, w);
  if constexpr (kBias) return _mm512_add_ps(v, b);
  return v;
}

// Where the apply writes: y, and with the residual add the sum too (the sum's stores stream
// only when it shares y's alignment, kStreamSum).
template <bool kStream, bool kStreamSum>
NORMKIT_AVX512_INLINE void store_sum(float* sum, int64_t i, __m512 v) {
  if constexpr (kStreamSum) {
    store<kStream>(sum + i, v);
  } else {
    _mm512_storeu_ps(sum + i, v);
  }
}

template <bool kWeight, bool kBias, class Src>
NORMKIT_AVX512_INLINE void apply_masked(Src x, float* sum, float* y, const float* w, const float* b,
                                        int64_t i, __mmask16 m, __m512 hi, __m512 scale,
                                        __m512 offset) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 wv = kWeight ? _mm512_maskz_loadu_ps(m, w + i) : zero;
  const __m512 bv = kBias ? _mm512_maskz_loadu_ps(m, b + i) : zero;
  const __m512 v = x.load(i, m);
  if constexpr (std::is_same_v<Src, VecSumOf>) _mm512_mask_storeu_ps(sum + i, m, v);
  _mm512_mask_storeu_ps(y + i, m, normalize<kWeight, kBias>(v, hi, scale, offset, wv, bv));
}

// y = (x - hi) * scale + offset (then * w[i], + b[i]) over a contiguous run; with a residual
// sum as the source, the sum is written to `sum` on the way. y (and sum) may equal a source
// array: each vector is read before it is written.
template <bool kWeight, bool kBias, bool kStream, bool kStreamSum = false, class Src>
NORMKIT_AVX512_INLINE void apply_src(Src x, float* sum, float* y, int64_t n, Affine f,
                                     const float* w, const float* b) {
  const __m512 hi = _mm512_set1_ps(f.hi), scale = _mm512_set1_ps(f.scale);
  const __m512 offset = _mm512_set1_ps(f.offset);
  const __m512 zero = _mm512_setzero_ps();
  int64_t i = 0;
  if constexpr (kStream) {
    const int64_t head = unaligned_head(y);
    if (head > 0 && head < n) {
      apply_masked<kWeight, kBias>(x, sum, y, w, b, 0, first_lanes(head), hi, scale, offset);
      i = head;
    }
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 wv = kWeight ? _mm512_loadu_ps(w + i) : zero;
    const __m512 bv = kBias ? _mm512_loadu_ps(b + i) : zero;
    const __m512 v = x.load(i);
    if constexpr (std::is_same_v<Src, VecSumOf>) store_sum<kStream, kStreamSum>(sum, i, v);
    store<kStream>(y + i, normalize<kWeight, kBias>(v, hi, scale, offset, wv, bv));
  }
  if (i < n) {
    apply_masked<kWeight, kBias>(x, sum, y, w, b, i, first_lanes(n - i), hi, scale, offset);
  }
}

template <bool kWeight, bool kBias, bool kStream>
NORMKIT_AVX512_INLINE void apply_run(const float* x, float* y, int64_t n, Affine f, const float* w,
                                     const float* b) {
  apply_src<kWeight, kBias, kStream>(VecValues{x}, nullptr, y, n, f, w, b);
}

// Software pipeline of channels-first sets of runs: normalizes `cur` (scalar parameters) into y
// while summing `next` (the next set's run of the same length) into acc, so the statistics of
// one set ride along with the memory traffic of the previous one's output. Same float-partial
// numerics as run_sums_fast.
template <bool kStream>
NORMKIT_AVX512_INLINE void apply_and_accumulate(const float* cur, float* y, int64_t n, Affine f,
                                                const float* next, float shift, ShiftedSums& acc) {
  int64_t i = 0;
  if constexpr (kStream) {
    const int64_t head = unaligned_head(y) < n ? unaligned_head(y) : n;
    if (head > 0) {
      apply_run<false, false, false>(cur, y, head, f, nullptr, nullptr);
      run_sums<true>(VecValues{next}, head, static_cast<double>(shift), acc);
      i = head;
    }
  }
  const __m512 hi = _mm512_set1_ps(f.hi), scale = _mm512_set1_ps(f.scale);
  const __m512 offset = _mm512_set1_ps(f.offset), sh = _mm512_set1_ps(shift);
  BlockSums<true> sums;
  for (; i + kBlockValues <= n; i += kBlockValues) {
    for (int64_t k = 0; k < kBlockValues; k += 32) {
      const __m512 v0 =
          _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(cur + i + k), hi), scale, offset);
      const __m512 v1 =
          _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(cur + i + k + 16), hi), scale, offset);
      store<kStream>(y + i + k, v0);
      store<kStream>(y + i + k + 16, v1);
      sums.add(_mm512_sub_ps(_mm512_loadu_ps(next + i + k), sh),
               _mm512_sub_ps(_mm512_loadu_ps(next + i + k + 16), sh));
    }
    sums.end_block();
  }
  sums.add_to(acc);
  if (i < n) {
    apply_run<false, false, kStream>(cur + i, y + i, n - i, f, nullptr, nullptr);
    run_sums<true>(VecValues{next + i}, n - i, static_cast<double>(shift), acc);
  }
}

NORMKIT_AVX512_INLINE __m512 apply_at(const float* x, int64_t at, int64_t pos, __mmask16 m,
                                      const float* hi, const float* scale, const float* offset) {
  return _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + at), _mm512_loadu_ps(hi + pos)),
                         _mm512_loadu_ps(scale + pos), _mm512_loadu_ps(offset + pos));
}

// With streaming stores: the elements before y's first 64-byte boundary in [i, end), written
// with a masked store; advances i and the period position p past them.
NORMKIT_AVX512_INLINE void periodic_head(const float* x, float* y, int64_t& i, int64_t& p,
                                         int64_t end, int64_t period, const float* hi,
                                         const float* scale, const float* offset) {
  const int64_t head = unaligned_head(y + i);
  if (head > 0 && head < end - i) {
    const __mmask16 m = first_lanes(head);
    _mm512_mask_storeu_ps(y + i, m, apply_at(x, i, p, m, hi, scale, offset));
    i += head;
    p = (p + head) % period;
  }
}

// Channels-last apply over the flat run [begin, end) of elements: the parameters repeat with
// period `period` (a multiple of 16 and of the channel count), and each array holds period + 16
// values so a vector starting anywhere in the period reads straight through. Vectorizes across
// rows for any channel count and keeps the streaming stores 64-byte aligned.
template <bool kStream>
NORMKIT_AVX512_INLINE void apply_periodic(const float* x, float* y, int64_t begin, int64_t end,
                                          int64_t period, const float* hi, const float* scale,
                                          const float* offset) {
  int64_t i = begin;
  int64_t p = begin % period;
  if constexpr (kStream) periodic_head(x, y, i, p, end, period, hi, scale, offset);
  for (; i + 16 <= end; i += 16) {
    store<kStream>(y + i, apply_at(x, i, p, 0xFFFF, hi, scale, offset));
    p += 16;
    if (p >= period) p -= period;
  }
  if (i < end) {
    const __mmask16 m = first_lanes(end - i);
    _mm512_mask_storeu_ps(y + i, m, apply_at(x, i, p, m, hi, scale, offset));
  }
}

// apply_periodic for periods of at most 64 values (up to 64 channels, e.g. BatchNorm1d over
// features): the parameters of a whole period live in registers, so each vector costs one load
// and one store; at cache speeds the three parameter loads per vector would bound the loop.
template <int kVectors, bool kStream>
NORMKIT_AVX512_INLINE void apply_periodic_in_registers(const float* x, float* y, int64_t begin,
                                                       int64_t end, int64_t period, const float* hi,
                                                       const float* scale, const float* offset) {
  int64_t i = begin;
  int64_t p = begin % period;
  if constexpr (kStream) periodic_head(x, y, i, p, end, period, hi, scale, offset);
  __m512 h[kVectors], s[kVectors], o[kVectors];
  for (int k = 0; k < kVectors; ++k) {
    const int64_t at = (p + 16 * k) % period;
    h[k] = _mm512_loadu_ps(hi + at);
    s[k] = _mm512_loadu_ps(scale + at);
    o[k] = _mm512_loadu_ps(offset + at);
  }
  for (; i + 16 * kVectors <= end; i += 16 * kVectors) {
    for (int k = 0; k < kVectors; ++k) {
      store<kStream>(
          y + i + 16 * k,
          _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16 * k), h[k]), s[k], o[k]));
    }
  }
  // Less than a period left.
  if (i < end) apply_periodic<false>(x, y, i, end, period, hi, scale, offset);
}

}  // namespace normkit::avx512

namespace normkit {

struct Avx512Apply {
  static constexpr bool kHasStreamingStores = true;
  NORMKIT_TARGET_AVX512 static void fence() { _mm_sfence(); }

  template <bool kWeight, bool kBias, bool kStream>
  NORMKIT_TARGET_AVX512 static void apply_run(const float* x, float* y, int64_t n, Affine f,
                                              const float* w, const float* b) {
    avx512::apply_run<kWeight, kBias, kStream>(x, y, n, f, w, b);
  }

  template <bool kWeight, bool kBias, bool kStream, bool kStreamSum>
  NORMKIT_TARGET_AVX512 static void add_apply_run(const float* a, const float* b, float* sum,
                                                  float* y, int64_t n, Affine f, const float* w,
                                                  const float* bias) {
    avx512::apply_src<kWeight, kBias, kStream, kStreamSum>(avx512::VecSumOf{a, b}, sum, y, n, f, w,
                                                           bias);
  }

  template <bool kStream>
  NORMKIT_TARGET_AVX512 static void apply_and_accumulate(const float* cur, float* y, int64_t n,
                                                         Affine f, const float* next, float shift,
                                                         ShiftedSums& acc) {
    avx512::apply_and_accumulate<kStream>(cur, y, n, f, next, shift, acc);
  }

  template <bool kStream>
  NORMKIT_TARGET_AVX512 static void apply_periodic(const float* x, float* y, int64_t begin,
                                                   int64_t end, const PeriodicAffine& a) {
    const float *hi = a.hi(), *scale = a.scale(), *offset = a.offset();
    using avx512::apply_periodic_in_registers;
    switch (a.period()) {
      case 16:
        return apply_periodic_in_registers<1, kStream>(x, y, begin, end, 16, hi, scale, offset);
      case 32:
        return apply_periodic_in_registers<2, kStream>(x, y, begin, end, 32, hi, scale, offset);
      case 48:
        return apply_periodic_in_registers<3, kStream>(x, y, begin, end, 48, hi, scale, offset);
      case 64:
        return apply_periodic_in_registers<4, kStream>(x, y, begin, end, 64, hi, scale, offset);
      default:
        avx512::apply_periodic<kStream>(x, y, begin, end, a.period(), hi, scale, offset);
    }
  }
};

}  // namespace normkit

#endif  // NORMKIT_HAVE_AVX512
