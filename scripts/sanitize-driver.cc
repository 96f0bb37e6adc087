// Sanitizer driver: runs the pure kernels (native/kernels, native/parallel.cc) under
// AddressSanitizer and UBSan, without N-API, over many shapes, layouts and options, and checks
// every result against a plain double-precision loop. Every buffer is a heap array that ends
// exactly where the kernel's data ends (a zero-size array when the size is 0), so any read or
// write past an end, or a null parameter dereferenced, is reported by ASan. Some buffers start a
// few floats into their allocation, as a Float32Array view can, to vary the alignment the
// vector paths see; those leading floats hold a canary that must survive the call.
// Built and run by scripts/sanitize.sh.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/batch_norm.h"
#include "kernels/copy.h"
#include "kernels/layer_norm.h"
#include "kernels/simd.h"
#include "parallel.h"

namespace {

using normkit::BatchNormShape;

// Sizes that hit the edges of the kernels: empty, single, odd tails around the 16- and 32-lane
// blocks, and 4097 (one past a 4096-value row, 128-value blocks plus a tail).
const int64_t kSizes[] = {0, 1, 2, 3, 7, 17, 33, 4097};
// Largest tensor of the all-sizes sweep: big enough that 2 threads get work (the grain is 2^15
// values).
constexpr int64_t kMaxValues = int64_t{33} * 4097;
// Up to this size every combination of options is tried; above it, a few.
constexpr int64_t kAllOptionsValues = 4097;
constexpr double kEps = 1e-5;
constexpr double kMomentum = 0.1;
// Padding floats before and after a buffer's data, taken in turn. None keeps ASan's redzones
// right at the data, which catches plain C++ accesses one past either end. Padding filled with a
// canary catches what ASan cannot see: GCC does not instrument the AVX-512 masked and streaming
// stores, which are builtins. Leads also give every alignment mod 64 bytes a chance.
const int64_t kLeads[] = {0, 1, 3, 0, 7, 13, 0, 5};
const int64_t kTrails[] = {0, 16, 0, 1, 0, 15};
constexpr unsigned char kCanaryByte = 0xA5;

int64_t g_checks = 0;
int64_t g_failures = 0;
int64_t g_next_lead = 0;
int64_t g_next_trail = 0;

int64_t next_lead() { return kLeads[g_next_lead++ % (sizeof kLeads / sizeof kLeads[0])]; }
int64_t next_trail() { return kTrails[g_next_trail++ % (sizeof kTrails / sizeof kTrails[0])]; }

// A heap array of n values with `lead` and `trail` canary values around them (none by default,
// so the data fills the allocation exactly). new T[0] is a valid zero-size allocation that ASan
// guards.
template <typename T>
class Buffer {
 public:
  explicit Buffer(int64_t n, int64_t lead = 0, int64_t trail = 0)
      : storage_(new T[static_cast<size_t>(lead + n + trail)]),
        lead_(lead),
        size_(n),
        trail_(trail) {
    unsigned char* p = reinterpret_cast<unsigned char*>(storage_.get());
    std::memset(p, kCanaryByte, sizeof(T) * lead);
    std::memset(p + sizeof(T) * (lead + n), kCanaryByte, sizeof(T) * trail);
  }
  // A copy of `other`'s values with the given padding.
  Buffer(const Buffer& other, int64_t lead, int64_t trail) : Buffer(other.size_, lead, trail) {
    if (size_ > 0) std::memcpy(get(), other.get(), sizeof(T) * size_);
  }
  Buffer(const Buffer& other) : Buffer(other, other.lead_, other.trail_) {}
  T* get() { return storage_.get() + lead_; }
  const T* get() const { return storage_.get() + lead_; }
  T& operator[](int64_t i) { return get()[i]; }
  const T& operator[](int64_t i) const { return get()[i]; }
  int64_t size() const { return size_; }
  // Whether the canaries around the data are intact (nothing was written outside it).
  bool padding_intact() const {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(storage_.get());
    const size_t end = sizeof(T) * (lead_ + size_ + trail_);
    for (size_t i = 0; i < end; ++i) {
      if (i == sizeof(T) * lead_) i = sizeof(T) * (lead_ + size_);
      if (i < end && p[i] != kCanaryByte) return false;
    }
    return true;
  }

 private:
  std::unique_ptr<T[]> storage_;
  int64_t lead_;
  int64_t size_;
  int64_t trail_;
};

// Deterministic values around `offset` with spread `spread`; a fixed formula, no RNG.
Buffer<float> make_values(int64_t n, int seed, double offset, double spread) {
  Buffer<float> b(n);
  for (int64_t i = 0; i < n; ++i) {
    b[i] = static_cast<float>(offset + spread * std::sin(0.37 * static_cast<double>(i) + seed) +
                              spread * 0.25 * std::cos(1.3 * static_cast<double>(i % 11)));
  }
  return b;
}

bool close(double got, double want, double abs_tol, double rel_tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= abs_tol + rel_tol * std::fabs(want);
}

// `where` names the call, `what` the check; both are only formatted on failure.
void check(bool ok, const std::string& where, const char* what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  if (g_failures <= 20) std::fprintf(stderr, "FAIL %s%s\n", where.c_str(), what);
}

void check_value(double got, double want, const std::string& where, const char* what, int64_t i,
                 double abs_tol, double rel_tol) {
  ++g_checks;
  if (close(got, want, abs_tol, rel_tol)) return;
  ++g_failures;
  if (g_failures <= 20) {
    std::fprintf(stderr, "FAIL %s%s [%lld]: got %.9g, want %.9g\n", where.c_str(), what,
                 static_cast<long long>(i), got, want);
  }
}

std::string describe(const char* op, std::initializer_list<int64_t> dims, const char* extra) {
  std::string s = op;
  s += "(";
  bool first = true;
  for (int64_t d : dims) {
    if (!first) s += "x";
    s += std::to_string(d);
    first = false;
  }
  s += ") ";
  s += extra;
  s += " threads=" + std::to_string(normkit::get_num_threads());
  return s;
}

// ---- LayerNorm ----------------------------------------------------------------------------

void layer_norm_reference(const Buffer<float>& x, int64_t rows, int64_t cols, const float* w,
                          const float* b, std::vector<double>& y, std::vector<double>& mean,
                          std::vector<double>& rstd) {
  y.assign(static_cast<size_t>(rows * cols), 0.0);
  mean.assign(static_cast<size_t>(rows), 0.0);
  rstd.assign(static_cast<size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < cols; ++i) sum += x[r * cols + i];
    const double m = sum / static_cast<double>(cols);
    double sq = 0;
    for (int64_t i = 0; i < cols; ++i) sq += (x[r * cols + i] - m) * (x[r * cols + i] - m);
    const double s = 1.0 / std::sqrt(sq / static_cast<double>(cols) + kEps);
    for (int64_t i = 0; i < cols; ++i) {
      y[r * cols + i] = (x[r * cols + i] - m) * s * (w ? w[i] : 1.0) + (b ? b[i] : 0.0);
    }
    mean[r] = m;
    rstd[r] = s;
  }
}

void run_layer_norm(int64_t rows, int64_t cols, bool use_weight, bool use_bias, bool want_stats,
                    bool in_place, double offset, double spread) {
  const int64_t n = rows * cols;
  const Buffer<float> x0 = make_values(n, 1, offset, spread);
  const Buffer<float> w = make_values(cols, 2, 1.0, 0.5);
  const Buffer<float> b = make_values(cols, 3, 0.0, 0.5);
  Buffer<float> x(x0, next_lead(), next_trail());
  Buffer<float> y_separate(in_place ? 0 : n, next_lead(), next_trail());
  Buffer<float> mean_out(want_stats ? rows : 0), rstd_out(want_stats ? rows : 0);
  float* y = in_place ? x.get() : y_separate.get();
  normkit::layer_norm_forward(
      x.get(), y, rows, cols, use_weight ? w.get() : nullptr, use_bias ? b.get() : nullptr, kEps,
      want_stats ? mean_out.get() : nullptr, want_stats ? rstd_out.get() : nullptr);
  std::vector<double> want, mean, rstd;
  layer_norm_reference(x0, rows, cols, use_weight ? w.get() : nullptr, use_bias ? b.get() : nullptr,
                       want, mean, rstd);
  char extra[128];
  std::snprintf(extra, sizeof extra, "w=%d b=%d stats=%d in_place=%d offset=%g", use_weight,
                use_bias, want_stats, in_place, offset);
  const std::string where = describe("layer_norm_forward", {rows, cols}, extra);
  for (int64_t i = 0; i < n; ++i) check_value(y[i], want[i], where, " y", i, 1e-4, 1e-4);
  check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
  if (!in_place) {
    bool unchanged = n == 0 || std::memcmp(x.get(), x0.get(), sizeof(float) * n) == 0;
    check(unchanged, where, ": input modified out of place");
  }
  if (want_stats && cols > 0) {
    for (int64_t r = 0; r < rows; ++r) {
      check_value(mean_out[r], mean[r], where, " mean_out", r, 1e-6, 1e-6);
      check_value(rstd_out[r], rstd[r], where, " rstd_out", r, 1e-6, 1e-5);
    }
  }
}

// Infinity in row 0 makes all of row 0 NaN and leaves the other rows alone.
void run_layer_norm_non_finite(int64_t rows, int64_t cols) {
  Buffer<float> x = make_values(rows * cols, 4, 0.0, 1.0);
  const Buffer<float> x0(x);
  x[cols / 2] = std::numeric_limits<float>::infinity();
  Buffer<float> y(rows * cols);
  normkit::layer_norm_forward(x.get(), y.get(), rows, cols, nullptr, nullptr, kEps, nullptr,
                              nullptr);
  std::vector<double> want, mean, rstd;
  layer_norm_reference(x0, rows, cols, nullptr, nullptr, want, mean, rstd);
  const std::string where = describe("layer_norm_forward", {rows, cols}, "inf in row 0");
  for (int64_t i = 0; i < cols; ++i) check(std::isnan(y[i]), where, ": row 0 not all NaN");
  for (int64_t i = cols; i < rows * cols; ++i)
    check_value(y[i], want[i], where, " y", i, 1e-4, 1e-4);
}

void test_layer_norm() {
  for (int64_t rows : kSizes) {
    for (int64_t cols : kSizes) {
      if (rows * cols > kMaxValues) continue;
      const bool small = rows * cols <= kAllOptionsValues;
      for (int flags = 0; flags < 16; ++flags) {
        if (!small && flags != 0 && flags != 15 && flags != 8 && flags != 3) continue;
        run_layer_norm(rows, cols, flags & 1, flags & 2, flags & 4, flags & 8, 3.0, 1.0);
      }
      // The hard numerics: a large common offset with a small spread.
      run_layer_norm(rows, cols, true, true, false, false, 1e4, 1e-2);
      if (rows > 1 && cols > 1) run_layer_norm_non_finite(rows, cols);
    }
  }
}

// ---- BatchNorm ----------------------------------------------------------------------------

int64_t bn_index(const BatchNormShape& s, int64_t n, int64_t c, int64_t p) {
  return s.channels_last ? (n * s.spatial + p) * s.channels + c
                         : (n * s.channels + c) * s.spatial + p;
}

struct BatchStats {
  std::vector<double> mean, var;  // biased variance
};

BatchStats batch_stats_reference(const Buffer<float>& x, const BatchNormShape& s) {
  BatchStats st;
  const int64_t count = s.batch * s.spatial;
  st.mean.assign(static_cast<size_t>(s.channels), std::nan(""));
  st.var.assign(static_cast<size_t>(s.channels), std::nan(""));
  if (count == 0) return st;
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t p = 0; p < s.spatial; ++p) sum += x[bn_index(s, n, c, p)];
    }
    const double m = sum / static_cast<double>(count);
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t p = 0; p < s.spatial; ++p) {
        const double d = x[bn_index(s, n, c, p)] - m;
        sq += d * d;
      }
    }
    st.mean[c] = m;
    st.var[c] = sq / static_cast<double>(count);
  }
  return st;
}

std::vector<double> batch_norm_apply_reference(const Buffer<float>& x, const BatchNormShape& s,
                                               const std::vector<double>& mean,
                                               const std::vector<double>& var, const float* w,
                                               const float* b) {
  std::vector<double> y(static_cast<size_t>(x.size()), 0.0);
  for (int64_t c = 0; c < s.channels; ++c) {
    const double rstd = 1.0 / std::sqrt(var[c] + kEps);
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t p = 0; p < s.spatial; ++p) {
        const int64_t i = bn_index(s, n, c, p);
        y[i] = (x[i] - mean[c]) * rstd * (w ? w[c] : 1.0) + (b ? b[c] : 0.0);
      }
    }
  }
  return y;
}

struct BatchNormCase {
  BatchNormShape shape;
  bool use_weight, use_bias, use_running, want_save, in_place;
  double offset, spread;
};

// Bits of `flags`: 1 weight, 2 bias, 4 running statistics, 8 saved statistics, 16 in place.
BatchNormCase case_from_flags(const BatchNormShape& s, int flags) {
  return {s,
          (flags & 1) != 0,
          (flags & 2) != 0,
          (flags & 4) != 0,
          (flags & 8) != 0,
          (flags & 16) != 0,
          3.0,
          1.0};
}

std::string describe_case(const char* op, const BatchNormCase& k) {
  char extra[160];
  std::snprintf(extra, sizeof extra, "%s w=%d b=%d running=%d save=%d in_place=%d offset=%g",
                k.shape.channels_last ? "channels_last" : "channels_first", k.use_weight,
                k.use_bias, k.use_running, k.want_save, k.in_place, k.offset);
  return describe(op, {k.shape.batch, k.shape.channels, k.shape.spatial}, extra);
}

void run_batch_norm_training(const BatchNormCase& k) {
  const BatchNormShape& s = k.shape;
  const int64_t c = s.channels, count = s.batch * s.spatial, n = count * c;
  const Buffer<float> x0 = make_values(n, 5, k.offset, k.spread);
  const Buffer<float> w = make_values(c, 6, 1.0, 0.5);
  const Buffer<float> b = make_values(c, 7, 0.0, 0.5);
  const Buffer<float> rm0 = make_values(c, 8, 0.0, 1.0);
  const Buffer<float> rv0 = make_values(c, 9, 2.0, 1.0);
  Buffer<float> x(x0, next_lead(), next_trail()), rm(rm0), rv(rv0);
  Buffer<float> y_separate(k.in_place ? 0 : n, next_lead(), next_trail());
  Buffer<double> save_mean(k.want_save ? c : 0), save_var(k.want_save ? c : 0);
  float* y = k.in_place ? x.get() : y_separate.get();
  normkit::batch_norm_forward_training(
      x.get(), y, s, k.use_weight ? w.get() : nullptr, k.use_bias ? b.get() : nullptr, kEps,
      kMomentum, k.use_running ? rm.get() : nullptr, k.use_running ? rv.get() : nullptr,
      k.want_save ? save_mean.get() : nullptr, k.want_save ? save_var.get() : nullptr);
  const std::string where = describe_case("batch_norm_forward_training", k);
  check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
  if (!k.in_place) {
    check(n == 0 || std::memcmp(x.get(), x0.get(), sizeof(float) * n) == 0, where,
          ": input modified out of place");
  }
  if (count == 0 || c == 0) {
    // An empty batch leaves the running statistics exactly as they were.
    for (int64_t i = 0; i < c; ++i) {
      check(rm[i] == rm0[i] && rv[i] == rv0[i], where, ": empty batch changed running stats");
    }
    return;
  }
  const BatchStats st = batch_stats_reference(x0, s);
  const std::vector<double> want = batch_norm_apply_reference(
      x0, s, st.mean, st.var, k.use_weight ? w.get() : nullptr, k.use_bias ? b.get() : nullptr);
  for (int64_t i = 0; i < n; ++i) check_value(y[i], want[i], where, " y", i, 1e-4, 1e-4);
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
  for (int64_t i = 0; i < c; ++i) {
    if (k.use_running) {
      const double m = (1 - kMomentum) * rm0[i] + kMomentum * st.mean[i];
      const double v = (1 - kMomentum) * rv0[i] + kMomentum * st.var[i] * unbias;
      check_value(rm[i], m, where, " running_mean", i, 1e-5, 1e-5);
      check_value(rv[i], v, where, " running_var", i, 1e-5, 1e-5);
    }
    if (k.want_save) {
      // Double results, but float-accurate is what the float output needs (and what the
      // AVX-512 path's float partial sums give).
      check_value(save_mean[i], st.mean[i], where, " save_mean", i, 1e-6, 1e-6);
      check_value(save_var[i], st.var[i], where, " save_var", i, 1e-6, 1e-5);
    }
  }
}

void run_batch_norm_eval(const BatchNormCase& k) {
  const BatchNormShape& s = k.shape;
  const int64_t c = s.channels, n = s.batch * s.spatial * c;
  const Buffer<float> x0 = make_values(n, 10, k.offset, k.spread);
  const Buffer<float> w = make_values(c, 11, 1.0, 0.5);
  const Buffer<float> b = make_values(c, 12, 0.0, 0.5);
  const Buffer<float> rm = make_values(c, 13, k.offset, k.spread * 0.1);
  const Buffer<float> rv = make_values(c, 14, 2.0 * k.spread * k.spread, k.spread * k.spread);
  Buffer<float> x(x0, next_lead(), next_trail());
  Buffer<float> y_separate(k.in_place ? 0 : n, next_lead(), next_trail());
  float* y = k.in_place ? x.get() : y_separate.get();
  normkit::batch_norm_forward_eval(x.get(), y, s, k.use_weight ? w.get() : nullptr,
                                   k.use_bias ? b.get() : nullptr, rm.get(), rv.get(), kEps);
  const std::string where = describe_case("batch_norm_forward_eval", k);
  check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
  std::vector<double> mean(static_cast<size_t>(c)), var(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    mean[i] = rm[i];
    var[i] = rv[i];
  }
  const std::vector<double> want = batch_norm_apply_reference(
      x0, s, mean, var, k.use_weight ? w.get() : nullptr, k.use_bias ? b.get() : nullptr);
  for (int64_t i = 0; i < n; ++i) check_value(y[i], want[i], where, " y", i, 1e-4, 1e-4);
  if (!k.in_place) {
    check(n == 0 || std::memcmp(x.get(), x0.get(), sizeof(float) * n) == 0, where,
          ": input modified out of place");
  }
}

void run_batch_norm_collect_stats(const BatchNormShape& s) {
  const int64_t c = s.channels, n = s.batch * s.spatial * c;
  const Buffer<float> x = make_values(n, 15, 3.0, 1.0);
  Buffer<double> mean(c), var(c);
  normkit::batch_norm_collect_stats(x.get(), s, mean.get(), var.get());
  const BatchStats st = batch_stats_reference(x, s);
  BatchNormCase k{s, false, false, false, false, false, 3.0, 1.0};
  const std::string where = describe_case("batch_norm_collect_stats", k);
  for (int64_t i = 0; i < c; ++i) {
    check_value(mean[i], st.mean[i], where, " mean", i, 1e-6, 1e-6);
    check_value(var[i], st.var[i], where, " var", i, 1e-6, 1e-5);
  }
}

// Infinity in channel 0 makes all of channel 0 NaN and leaves the other channels alone.
void run_batch_norm_non_finite(BatchNormShape s) {
  const int64_t c = s.channels, n = s.batch * s.spatial * c;
  Buffer<float> x = make_values(n, 16, 0.0, 1.0);
  const Buffer<float> x0(x);
  x[bn_index(s, s.batch - 1, 0, s.spatial - 1)] = std::numeric_limits<float>::infinity();
  Buffer<float> y(n);
  normkit::batch_norm_forward_training(x.get(), y.get(), s, nullptr, nullptr, kEps, kMomentum,
                                       nullptr, nullptr, nullptr, nullptr);
  BatchNormCase k{s, false, false, false, false, false, 0.0, 1.0};
  const std::string where = describe_case("batch_norm_forward_training inf in channel 0", k);
  const BatchStats st = batch_stats_reference(x0, s);
  const std::vector<double> want =
      batch_norm_apply_reference(x0, s, st.mean, st.var, nullptr, nullptr);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t p = 0; p < s.spatial; ++p) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t i = bn_index(s, b, ch, p);
        if (ch == 0) {
          check(std::isnan(y[i]), where, ": channel 0 not all NaN");
        } else {
          check_value(y[i], want[i], where, " y", i, 1e-4, 1e-4);
        }
      }
    }
  }
}

void test_batch_norm() {
  for (int64_t batch : kSizes) {
    for (int64_t channels : kSizes) {
      for (int64_t spatial : kSizes) {
        if (batch * channels * spatial > kMaxValues) continue;
        for (bool channels_last : {false, true}) {
          const BatchNormShape s{batch, channels, spatial, channels_last};
          run_batch_norm_collect_stats(s);
          // Every combination of options on small tensors; on large ones (the threaded paths)
          // none, all, and the two that change the code path (in place, running stats).
          const bool small = batch * channels * spatial <= kAllOptionsValues;
          for (int flags = 0; flags < 32; ++flags) {
            if (!small && flags != 0 && flags != 31 && flags != 16 && flags != 4) continue;
            const BatchNormCase k = case_from_flags(s, flags);
            // Training needs more than one value per channel (the caller checks).
            if (batch * spatial != 1) run_batch_norm_training(k);
            if (!k.use_running && !k.want_save) run_batch_norm_eval(k);
          }
          BatchNormCase hard{s, true, true, true, true, false, 1e4, 1e-2};
          if (batch * spatial != 1) run_batch_norm_training(hard);
          run_batch_norm_eval(hard);
          if (batch * spatial > 1 && channels > 1) run_batch_norm_non_finite(s);
        }
      }
    }
  }
}

// ---- large tensors ------------------------------------------------------------------------

// The least element count whose input and output together take the streaming-store path
// (use_streaming_stores in kernels/simd.h: past the last-level cache), found by asking it.
int64_t streaming_values() {
  int64_t n = int64_t{1} << 16;
  const int64_t bytes = static_cast<int64_t>(sizeof(float));
  while (n < (int64_t{1} << 28) && !normkit::use_streaming_stores(n * bytes, n * bytes)) n *= 2;
  return n;
}

// Outputs that take the streaming-store paths, whose aligned middle and masked head and tail are
// tried here at several alignments; a few option combinations each, as those paths do not
// branch on the rest.
void test_large() {
  static const int64_t n = streaming_values();
  const int64_t layer_norm_shapes[][2] = {{n / 4097 + 1, 4097}, {n / 513 + 1, 513}};
  for (const auto& shape : layer_norm_shapes) {
    for (int flags : {0, 15}) {
      run_layer_norm(shape[0], shape[1], flags & 1, flags & 2, flags & 4, flags & 8, 3.0, 1.0);
    }
  }
  const int64_t batch_norm_shapes[][3] = {
      {n / (17 * 33) + 1, 17, 33}, {2, 4097, n / (2 * 4097) + 1}, {1, 3, n / 3 + 7}};
  for (const auto& shape : batch_norm_shapes) {
    for (bool channels_last : {false, true}) {
      const BatchNormShape s{shape[0], shape[1], shape[2], channels_last};
      run_batch_norm_training(case_from_flags(s, 7));   // weight, bias, running statistics
      run_batch_norm_training(case_from_flags(s, 16));  // in place
      run_batch_norm_eval(case_from_flags(s, 3));
    }
  }
}

// ---- scale_copy ---------------------------------------------------------------------------

void test_scale_copy() {
  std::vector<int64_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(kMaxValues);
  for (int64_t n : sizes) {
    for (bool in_place : {false, true}) {
      const Buffer<float> x0 = make_values(n, 17, 0.0, 2.0);
      Buffer<float> x(x0, next_lead(), next_trail());
      Buffer<float> y_separate(in_place ? 0 : n, next_lead(), next_trail());
      float* y = in_place ? x.get() : y_separate.get();
      normkit::scale_copy(x.get(), y, n, 1.5f, -0.25f);
      const std::string where = describe("scale_copy", {n}, in_place ? "in_place=1" : "in_place=0");
      check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
      for (int64_t i = 0; i < n; ++i) {
        check_value(y[i], 1.5 * x0[i] - 0.25, where, " y", i, 1e-6, 1e-6);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--simd-path") == 0) {
    std::printf("%s\n", normkit::simd_path());
    return 0;
  }
  std::vector<int> thread_counts = {1, 2};
  if (argc > 1) {
    thread_counts.clear();
    for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  }
  std::printf("sanitize-driver: SIMD path %s, OpenMP %s, %d hardware threads\n",
              normkit::simd_path(), normkit::has_openmp() ? "yes" : "no",
              normkit::hardware_threads());
  std::fflush(stdout);  // keep the order of this and any FAIL line on stderr
  for (int threads : thread_counts) {
    normkit::set_num_threads(threads);
    const int64_t before = g_checks;
    test_layer_norm();
    test_batch_norm();
    test_large();
    test_scale_copy();
    std::printf("  threads=%d: %lld checks\n", normkit::get_num_threads(),
                static_cast<long long>(g_checks - before));
    std::fflush(stdout);
  }
  std::printf("%lld passed, %lld failed\n", static_cast<long long>(g_checks - g_failures),
              static_cast<long long>(g_failures));
  return g_failures == 0 ? 0 : 1;
}
