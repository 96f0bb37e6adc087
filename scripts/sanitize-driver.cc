// Sanitizer driver: runs every function of native/kernels/ops.h (and the copy baseline) under
// AddressSanitizer and UBSan, without N-API, over many shapes, layouts and options, and checks
// every result against a plain double-precision loop. Every buffer is a heap array that ends
// exactly where the kernel's data ends (a zero-size array when the size is 0), so any read or
// write past an end, or a null parameter dereferenced, is reported by ASan. Some buffers start a
// few floats into their allocation, as a Float32Array view can, to vary the alignment the
// vector paths see; those leading floats hold a canary that must survive the call.
// Built and run by scripts/sanitize.sh.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/copy.h"
#include "kernels/ops.h"
#include "kernels/simd.h"
#include "parallel.h"

namespace {

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
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
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
  bool same_values(const Buffer& other) const {
    return size_ == other.size_ &&
           (size_ == 0 || std::memcmp(get(), other.get(), sizeof(T) * size_) == 0);
  }

 private:
  std::unique_ptr<T[]> storage_;
  int64_t lead_;
  int64_t size_;
  int64_t trail_;
};

// Input data: a fixed formula around `offset` with spread `spread`, no RNG. The hard kinds are
// the conformance suite's: a large common offset, values near 1e19 (float squares overflow) and
// near the float maximum, both signs up to the maximum (x - mean overflows float: the kernels'
// exact path), denormals (float squares underflow), constant groups.
enum class Data { kPlain, kOffset, kHuge, kNearMax, kExtreme, kDenormal, kConstant };
const Data kHardData[] = {Data::kOffset,  Data::kHuge,     Data::kNearMax,
                          Data::kExtreme, Data::kDenormal, Data::kConstant};

const char* data_name(Data d) {
  switch (d) {
    case Data::kPlain:
      return "plain";
    case Data::kOffset:
      return "offset 1e4 spread 1e-2";
    case Data::kHuge:
      return "huge 1e19";
    case Data::kNearMax:
      return "near float max";
    case Data::kExtreme:
      return "both signs up to float max";
    case Data::kDenormal:
      return "denormal";
    case Data::kConstant:
      return "constant";
  }
  return "?";
}

Buffer<float> make_values(int64_t n, int seed, double offset, double spread) {
  Buffer<float> b(n);
  for (int64_t i = 0; i < n; ++i) {
    b[i] = static_cast<float>(offset + spread * std::sin(0.37 * static_cast<double>(i) + seed) +
                              spread * 0.25 * std::cos(1.3 * static_cast<double>(i % 11)));
  }
  return b;
}

Buffer<float> make_data(int64_t n, int seed, Data d) {
  switch (d) {
    case Data::kPlain:
      return make_values(n, seed, 3.0, 1.0);
    case Data::kOffset:
      return make_values(n, seed, 1e4, 1e-2);
    case Data::kHuge:
      return make_values(n, seed, 0.0, 1e19);
    case Data::kNearMax:
      return make_values(n, seed, 3e38, 1e36);
    case Data::kExtreme:
      return make_values(n, seed, 0.0, 2.7e38);
    case Data::kDenormal:
      return make_values(n, seed, 0.0, 8e-39);
    case Data::kConstant:
      return make_values(n, seed, 5.0, 0.0);
  }
  return make_values(n, seed, 3.0, 1.0);
}

// A residual for the fused adds: small against the data so the sum keeps the data's kind.
Buffer<float> make_residual(int64_t n, Data d) {
  switch (d) {
    case Data::kHuge:
      return make_values(n, 31, 0.0, 1e17);
    case Data::kNearMax:
    case Data::kExtreme:
      return make_values(n, 31, 0.0, 1e35);
    case Data::kDenormal:
      return make_values(n, 31, 0.0, 1e-39);
    case Data::kConstant:
      return make_values(n, 31, 0.0, 0.0);
    case Data::kOffset:
      return make_values(n, 31, 0.0, 1e-3);
    default:
      return make_values(n, 31, 0.5, 0.5);
  }
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

// Outputs against a reference. The absolute tolerance scales down with outputs that are tiny
// everywhere (denormal data), so those are checked relative to their size too.
void check_output(const float* got, const std::vector<double>& want, const std::string& where) {
  double largest = 0;
  for (double v : want) {
    if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
  }
  const double abs_tol = 1e-4 * std::min(1.0, largest > 0 ? largest : 1.0);
  for (size_t i = 0; i < want.size(); ++i) {
    check_value(got[i], want[i], where, " y", static_cast<int64_t>(i), abs_tol, 1e-4);
  }
}

// Saved statistics (float32) against double ones; float-accurate is what the backward pass
// needs (and what the AVX-512 path's float partial sums give).
void check_stats(const Buffer<float>& got, const std::vector<double>& want,
                 const std::string& where, const char* what, double rel_tol) {
  for (int64_t i = 0; i < got.size(); ++i) {
    const double tol = std::isfinite(want[i]) ? rel_tol * std::fabs(want[i]) : 0;
    check_value(got[i], want[i], where, what, i, std::max(tol, 1e-30), rel_tol);
  }
}

std::string describe(const char* op, std::initializer_list<int64_t> dims,
                     const std::string& extra) {
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

std::string flags_text(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string flags_text(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return text;
}

// ---- references ---------------------------------------------------------------------------

// Double-precision results: outputs, and per statistic the mean, biased variance and rstd.
struct Reference {
  std::vector<double> y, mean, var, rstd;
};

// LayerNorm (centre) or RMSNorm rows.
Reference rows_reference(const float* x, int64_t rows, int64_t cols, const float* w, const float* b,
                         bool centre) {
  Reference ref;
  ref.y.assign(static_cast<size_t>(rows * cols), 0.0);
  ref.mean.assign(static_cast<size_t>(rows), 0.0);
  ref.var.assign(static_cast<size_t>(rows), 0.0);
  ref.rstd.assign(static_cast<size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    double m = 0;
    if (centre) {
      for (int64_t i = 0; i < cols; ++i) m += xr[i];
      m /= static_cast<double>(cols);
    }
    double sq = 0;
    for (int64_t i = 0; i < cols; ++i) sq += (xr[i] - m) * (xr[i] - m);
    const double var = sq / static_cast<double>(cols);
    const double s = 1.0 / std::sqrt(var + kEps);
    for (int64_t i = 0; i < cols; ++i) {
      ref.y[r * cols + i] = (xr[i] - m) * s * (w ? w[i] : 1.0) + (b ? b[i] : 0.0);
    }
    ref.mean[r] = centre ? m : 0.0;
    ref.var[r] = var;
    ref.rstd[r] = s;
  }
  return ref;
}

struct Shape {
  int64_t batch, channels, spatial;
  bool channels_last;
  int64_t numel() const { return batch * channels * spatial; }
  int64_t at(int64_t n, int64_t c, int64_t p) const {
    return channels_last ? (n * spatial + p) * channels + c : (n * channels + c) * spatial + p;
  }
  std::string text() const { return channels_last ? "channels_last" : "channels_first"; }
};

// Normalization over the values whose (n, c) share key(n, c) (in [0, keys)): BatchNorm keys by
// channel, GroupNorm by (sample, group), InstanceNorm by (sample, channel).
template <typename Key>
Reference grouped_reference(const Buffer<float>& x, const Shape& s, int64_t keys, Key key,
                            const float* w, const float* b) {
  Reference ref;
  std::vector<double> count(static_cast<size_t>(keys), 0.0), sq(static_cast<size_t>(keys), 0.0);
  ref.mean.assign(static_cast<size_t>(keys), 0.0);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t p = 0; p < s.spatial; ++p) {
        ref.mean[key(n, c)] += x[s.at(n, c, p)];
        count[key(n, c)] += 1;
      }
    }
  }
  for (int64_t k = 0; k < keys; ++k) ref.mean[k] /= count[k];
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t p = 0; p < s.spatial; ++p) {
        const double d = x[s.at(n, c, p)] - ref.mean[key(n, c)];
        sq[key(n, c)] += d * d;
      }
    }
  }
  ref.var.resize(static_cast<size_t>(keys));
  ref.rstd.resize(static_cast<size_t>(keys));
  for (int64_t k = 0; k < keys; ++k) {
    ref.var[k] = sq[k] / count[k];
    ref.rstd[k] = 1.0 / std::sqrt(ref.var[k] + kEps);
  }
  ref.y.assign(static_cast<size_t>(s.numel()), 0.0);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t k = key(n, c);
      for (int64_t p = 0; p < s.spatial; ++p) {
        const int64_t i = s.at(n, c, p);
        ref.y[i] = (x[i] - ref.mean[k]) * ref.rstd[k] * (w ? w[c] : 1.0) + (b ? b[c] : 0.0);
      }
    }
  }
  return ref;
}

// Normalization with given per-channel statistics (eval).
std::vector<double> channel_stats_reference(const Buffer<float>& x, const Shape& s,
                                            const float* mean, const float* var, const float* w,
                                            const float* b) {
  std::vector<double> y(static_cast<size_t>(s.numel()), 0.0);
  for (int64_t c = 0; c < s.channels; ++c) {
    const double rstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + kEps);
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t p = 0; p < s.spatial; ++p) {
        const int64_t i = s.at(n, c, p);
        y[i] = (static_cast<double>(x[i]) - mean[c]) * rstd * (w ? w[c] : 1.0) + (b ? b[c] : 0.0);
      }
    }
  }
  return y;
}

double largest_magnitude(const Buffer<float>& x) {
  double m = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i])) m = std::max(m, std::fabs(static_cast<double>(x[i])));
  }
  return m;
}

// Saved means are float-accurate relative to the data's magnitude (a mean near 0 of data near
// 1e19 is not accurate relative to itself); saved rstd relative to itself.
void check_saved(const Buffer<float>& save_mean, const Buffer<float>& save_rstd,
                 const Reference& ref, double data_scale, const std::string& where) {
  for (int64_t i = 0; i < save_mean.size(); ++i) {
    check_value(save_mean[i], ref.mean[i], where, " save_mean", i, 1e-6 * data_scale + 1e-30, 1e-6);
  }
  check_stats(save_rstd, ref.rstd, where, " save_rstd", 1e-5);
}

// ---- LayerNorm, RMSNorm and the fused adds ---------------------------------------------------

enum class RowOp { kLayerNorm, kRmsNorm, kAddLayerNorm, kAddRmsNorm };

const char* row_op_name(RowOp op) {
  switch (op) {
    case RowOp::kLayerNorm:
      return "layer_norm_forward";
    case RowOp::kRmsNorm:
      return "rms_norm_forward";
    case RowOp::kAddLayerNorm:
      return "add_layer_norm_forward";
    case RowOp::kAddRmsNorm:
      return "add_rms_norm_forward";
  }
  return "?";
}

bool is_add(RowOp op) { return op == RowOp::kAddLayerNorm || op == RowOp::kAddRmsNorm; }
bool is_centred(RowOp op) { return op == RowOp::kLayerNorm || op == RowOp::kAddLayerNorm; }

// Which outputs share memory with which inputs: out = input is in place; the fused adds allow
// sum_out = input or residual and out = input or residual (never out = sum_out).
enum Alias {
  kSeparate,
  kOutInput,
  kSumInput,
  kSumResidual,
  kOutResidual,
  kSumInputOutResidual,
  kSumResidualOutInput,
  kAliasCount
};

struct RowCase {
  RowOp op;
  int64_t rows, cols;
  bool weight, bias, stats;
  int alias;
  Data data;
  // Non-finite values planted in row 0: none, an infinity, a NaN.
  int plant = 0;
  // Separate out and sum buffers both start this many floats into their allocations (-1: the
  // usual rotation); equal leads give them one alignment, which lets the sum stream too.
  int64_t lead = -1;
};

void run_rows(const RowCase& k) {
  const int64_t rows = k.rows, cols = k.cols, n = rows * cols;
  const bool add = is_add(k.op), centre = is_centred(k.op);
  Buffer<float> x0 = make_data(n, 1, k.data);
  const Buffer<float> r0 = make_residual(add ? n : 0, k.data);
  if (k.plant != 0 && n > 1) x0[cols / 2] = k.plant == 1 ? kInf : kNaN;
  const Buffer<float> w = make_values(cols, 2, 1.0, 0.5);
  const Buffer<float> b = make_values(cols, 3, 0.0, 0.5);
  Buffer<float> x(x0, next_lead(), next_trail()), r(r0, next_lead(), next_trail());
  const bool out_on_x = k.alias == kOutInput || k.alias == kSumResidualOutInput;
  const bool out_on_r = k.alias == kOutResidual || k.alias == kSumInputOutResidual;
  const bool sum_on_x = k.alias == kSumInput || k.alias == kSumInputOutResidual;
  const bool sum_on_r = k.alias == kSumResidual || k.alias == kSumResidualOutInput;
  Buffer<float> out_separate(out_on_x || out_on_r ? 0 : n, k.lead >= 0 ? k.lead : next_lead(),
                             next_trail());
  Buffer<float> sum_separate(add && !sum_on_x && !sum_on_r ? n : 0,
                             k.lead >= 0 ? k.lead : next_lead(), next_trail());
  float* out = out_on_x ? x.get() : out_on_r ? r.get() : out_separate.get();
  float* sum = sum_on_x ? x.get() : sum_on_r ? r.get() : sum_separate.get();
  Buffer<float> save_mean(k.stats && centre ? rows : 0), save_rstd(k.stats ? rows : 0);
  float* sm = k.stats && centre ? save_mean.get() : nullptr;
  float* sr = k.stats ? save_rstd.get() : nullptr;
  const float* wp = k.weight ? w.get() : nullptr;
  const float* bp = k.bias ? b.get() : nullptr;
  switch (k.op) {
    case RowOp::kLayerNorm:
      normkit::layer_norm_forward(x.get(), rows, cols, wp, bp, kEps, out, sm, sr);
      break;
    case RowOp::kRmsNorm:
      normkit::rms_norm_forward(x.get(), rows, cols, wp, kEps, out, sr);
      break;
    case RowOp::kAddLayerNorm:
      normkit::add_layer_norm_forward(x.get(), r.get(), rows, cols, wp, bp, kEps, out, sum, sm, sr);
      break;
    case RowOp::kAddRmsNorm:
      normkit::add_rms_norm_forward(x.get(), r.get(), rows, cols, wp, kEps, out, sum, sr);
      break;
  }
  // What is normalized: the input, or its float32 sum with the residual.
  Buffer<float> s0(x0);
  for (int64_t i = 0; add && i < n; ++i) s0[i] = x0[i] + r0[i];
  const Reference ref = rows_reference(s0.get(), rows, cols, wp, bp, centre);
  const std::string where =
      describe(row_op_name(k.op), {rows, cols},
               flags_text("w=%d b=%d stats=%d alias=%d data=%s plant=%d", k.weight, k.bias, k.stats,
                          k.alias, data_name(k.data), k.plant));
  check_output(out, ref.y, where);
  if (k.data == Data::kConstant && centre) {
    for (int64_t i = 0; i < n; ++i) {
      check(out[i] == static_cast<float>(ref.y[i]), where, ": constant row not exactly bias");
    }
  }
  check(x.padding_intact() && r.padding_intact() && out_separate.padding_intact() &&
            sum_separate.padding_intact(),
        where, ": wrote outside the data");
  if (add) {
    // The sum is PyTorch's x + r in float32, bit for bit (NaN as NaN).
    bool exact = true;
    for (int64_t i = 0; i < n; ++i) {
      exact = exact && (sum[i] == s0[i] || (std::isnan(sum[i]) && std::isnan(s0[i])));
    }
    check(exact, where, ": sum_out differs from input + residual");
  }
  if (!out_on_x && !sum_on_x) check(x.same_values(x0), where, ": input modified");
  if (add && !out_on_r && !sum_on_r) check(r.same_values(r0), where, ": residual modified");
  if (k.stats && cols > 0) {
    check_saved(save_mean, save_rstd, ref, largest_magnitude(s0), where);
  }
  if (k.stats && cols == 0) {
    for (int64_t i = 0; i < rows; ++i) check(std::isnan(save_rstd[i]), where, ": empty row rstd");
  }
}

void test_rows() {
  const RowOp ops[] = {RowOp::kLayerNorm, RowOp::kRmsNorm, RowOp::kAddLayerNorm,
                       RowOp::kAddRmsNorm};
  for (RowOp op : ops) {
    const int aliases = is_add(op) ? kAliasCount : 2;
    for (int64_t rows : kSizes) {
      for (int64_t cols : kSizes) {
        if (std::max<int64_t>(rows, 1) * std::max<int64_t>(cols, 1) > kMaxValues) continue;
        const bool small = rows * cols <= kAllOptionsValues;
        for (int flags = 0; flags < 8; ++flags) {
          for (int alias = 0; alias < aliases; ++alias) {
            if (!small && flags != 0 && flags != 7) continue;
            if (!small && alias > 1 && alias != kSumInputOutResidual) continue;
            // RMSNorm has no bias.
            if ((flags & 2) && !is_centred(op)) continue;
            run_rows({op, rows, cols, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, alias,
                      Data::kPlain});
          }
        }
        for (Data d : kHardData) run_rows({op, rows, cols, true, is_centred(op), true, 0, d});
        if (rows > 1 && cols > 1) {
          run_rows({op, rows, cols, true, is_centred(op), true, 0, Data::kPlain, 1});
          run_rows({op, rows, cols, false, false, false, 0, Data::kPlain, 2});
        }
      }
    }
  }
  // RMSNorm of rows of zeros: 0 / sqrt(0 + eps) = 0.
  for (int64_t cols : {int64_t{1}, int64_t{16}, int64_t{4097}}) {
    Buffer<float> x(3 * cols), y(3 * cols), rstd(3);
    std::fill(x.get(), x.get() + 3 * cols, 0.0f);
    normkit::rms_norm_forward(x.get(), 3, cols, nullptr, kEps, y.get(), rstd.get());
    const std::string where = describe("rms_norm_forward", {3, cols}, "zero rows");
    for (int64_t i = 0; i < 3 * cols; ++i) check(y[i] == 0.0f, where, ": not 0");
    for (int64_t i = 0; i < 3; ++i) {
      check_value(rstd[i], 1.0 / std::sqrt(kEps), where, " rstd", i, 0, 1e-6);
    }
  }
}

// ---- BatchNorm, GroupNorm, InstanceNorm ------------------------------------------------------

enum class ChannelOp { kBatchNorm, kGroupNorm, kInstanceNorm };

struct ChannelCase {
  ChannelOp op;
  Shape shape;
  int64_t groups;  // GroupNorm
  bool training;   // BatchNorm: training; InstanceNorm: use_input_stats
  bool weight, bias, running, stats, in_place;
  Data data;
  // A non-finite value planted in statistic 0's data: none, an infinity, a NaN.
  int plant = 0;
};

const char* channel_op_name(ChannelOp op) {
  switch (op) {
    case ChannelOp::kBatchNorm:
      return "batch_norm_forward";
    case ChannelOp::kGroupNorm:
      return "group_norm_forward";
    case ChannelOp::kInstanceNorm:
      return "instance_norm_forward";
  }
  return "?";
}

void run_channels(const ChannelCase& k) {
  const Shape& s = k.shape;
  const int64_t c = s.channels, n = s.numel(), count = s.batch * s.spatial;
  Buffer<float> x0 = make_data(n, 5, k.data);
  if (k.plant != 0 && n > 1) x0[s.at(0, 0, s.spatial - 1)] = k.plant == 1 ? kInf : kNaN;
  const Buffer<float> w = make_values(c, 6, 1.0, 0.5);
  const Buffer<float> b = make_values(c, 7, 0.0, 0.5);
  // Running statistics near the data, so eval outputs are of a sensible size.
  const double scale = largest_magnitude(x0) > 0 ? largest_magnitude(x0) : 1.0;
  const bool constant = k.data == Data::kConstant;
  const Buffer<float> rm0 = make_values(c, 8, constant ? 5.0 : 0.0, constant ? 0.0 : scale * 0.1);
  const Buffer<float> rv0 = make_values(c, 9, 2.0 * scale * scale * 1e-2, scale * scale * 1e-2);
  Buffer<float> x(x0, next_lead(), next_trail()), rm(rm0), rv(rv0);
  Buffer<float> y_separate(k.in_place ? 0 : n, next_lead(), next_trail());
  float* y = k.in_place ? x.get() : y_separate.get();
  int64_t keys = c;  // statistics saved
  if (k.op == ChannelOp::kGroupNorm) keys = s.batch * k.groups;
  if (k.op == ChannelOp::kInstanceNorm) keys = s.batch * c;
  Buffer<float> save_mean(k.stats ? keys : 0), save_rstd(k.stats ? keys : 0);
  const float* wp = k.weight ? w.get() : nullptr;
  const float* bp = k.bias ? b.get() : nullptr;
  float* rmp = k.running ? rm.get() : nullptr;
  float* rvp = k.running ? rv.get() : nullptr;
  float* sm = k.stats ? save_mean.get() : nullptr;
  float* sr = k.stats ? save_rstd.get() : nullptr;
  switch (k.op) {
    case ChannelOp::kBatchNorm:
      normkit::batch_norm_forward(x.get(), s.batch, c, s.spatial, s.channels_last, wp, bp, rmp, rvp,
                                  k.training, kMomentum, kEps, y, sm, sr);
      break;
    case ChannelOp::kGroupNorm:
      normkit::group_norm_forward(x.get(), s.batch, c, s.spatial, k.groups, s.channels_last, wp, bp,
                                  kEps, y, sm, sr);
      break;
    case ChannelOp::kInstanceNorm:
      normkit::instance_norm_forward(x.get(), s.batch, c, s.spatial, s.channels_last, wp, bp, rmp,
                                     rvp, k.training, kMomentum, kEps, y, sm, sr);
      break;
  }
  const std::string where = describe(
      channel_op_name(k.op), {s.batch, c, s.spatial},
      flags_text("%s groups=%lld train=%d w=%d b=%d running=%d stats=%d in_place=%d data=%s "
                 "plant=%d",
                 s.text().c_str(), static_cast<long long>(k.groups), k.training, k.weight, k.bias,
                 k.running, k.stats, k.in_place, data_name(k.data), k.plant));
  check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
  if (!k.in_place) check(x.same_values(x0), where, ": input modified out of place");

  const bool batch_stats = k.op == ChannelOp::kGroupNorm || k.training;
  if (!batch_stats) {
    // Eval: the running statistics normalize every sample and are what is saved.
    check_output(y, channel_stats_reference(x0, s, rm0.get(), rv0.get(), wp, bp), where);
    check(rm.same_values(rm0) && rv.same_values(rv0), where, ": eval changed running stats");
    for (int64_t i = 0; i < save_mean.size(); ++i) {
      check(save_mean[i] == rm0[i % c], where, ": eval save_mean");
      check_value(save_rstd[i], 1.0 / std::sqrt(static_cast<double>(rv0[i % c]) + kEps), where,
                  " eval save_rstd", i, 0, 1e-6);
    }
    return;
  }
  Reference ref;
  if (k.op == ChannelOp::kBatchNorm) {
    ref = grouped_reference(x0, s, c, [](int64_t, int64_t ch) { return ch; }, wp, bp);
  } else if (k.op == ChannelOp::kGroupNorm) {
    const int64_t g = k.groups, d = c / g;
    ref = grouped_reference(
        x0, s, s.batch * g, [g, d](int64_t nn, int64_t ch) { return nn * g + ch / d; }, wp, bp);
  } else {
    ref = grouped_reference(
        x0, s, s.batch * c, [c](int64_t nn, int64_t ch) { return nn * c + ch; }, wp, bp);
  }
  check_output(y, ref.y, where);
  if (constant) {
    for (int64_t i = 0; i < n; ++i) {
      check(y[i] == static_cast<float>(ref.y[i]), where, ": constant group not exactly bias");
    }
  }
  if (k.stats) check_saved(save_mean, save_rstd, ref, scale, where);
  if (k.op == ChannelOp::kGroupNorm) return;
  // Running statistics: BatchNorm's from the channel's batch statistics; InstanceNorm's from the
  // average over samples of the per-instance ones, as PyTorch's repeat-then-average gives.
  const int64_t per_instance = k.op == ChannelOp::kInstanceNorm ? s.spatial : count;
  const int64_t samples = k.op == ChannelOp::kInstanceNorm ? s.batch : 1;
  if (count == 0 || c == 0) {
    check(rm.same_values(rm0) && rv.same_values(rv0), where, ": empty batch changed running stats");
    return;
  }
  const double unbias = static_cast<double>(per_instance) / static_cast<double>(per_instance - 1);
  for (int64_t ch = 0; ch < c && k.running; ++ch) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < samples; ++i) {
      m += ref.mean[i * c + ch];
      v += ref.var[i * c + ch];
    }
    m = (1 - kMomentum) * rm0[ch] + kMomentum * m / samples;
    v = (1 - kMomentum) * rv0[ch] + kMomentum * v / samples * unbias;
    check_value(rm[ch], m, where, " running_mean", ch, 1e-6 * scale + 1e-30, 1e-5);
    check_value(rv[ch], v, where, " running_var", ch, 1e-30, 1e-5);
  }
}

// Channel counts and their groups for GroupNorm: one group, a group per channel, and between.
struct Grouping {
  int64_t channels, groups;
};
const Grouping kGroupings[] = {{0, 1}, {0, 3}, {1, 1},  {2, 1},   {2, 2},   {6, 1}, {6, 2},
                               {6, 3}, {6, 6}, {12, 4}, {33, 11}, {64, 32}, {64, 1}};

void test_channels() {
  for (int64_t batch : kSizes) {
    for (int64_t channels : kSizes) {
      for (int64_t spatial : kSizes) {
        // Zero sizes count as 1: saved statistics of (4097, 4097, 0) still number 4097^2.
        if (std::max<int64_t>(batch, 1) * std::max<int64_t>(channels, 1) *
                std::max<int64_t>(spatial, 1) >
            kMaxValues) {
          continue;
        }
        const bool small = batch * channels * spatial <= kAllOptionsValues;
        for (bool channels_last : {false, true}) {
          const Shape s{batch, channels, spatial, channels_last};
          // Every combination of options on small tensors; on large ones (the threaded paths)
          // none, all, and in place. Bits: 1 weight, 2 bias, 4 running, 8 saved, 16 in place.
          for (int flags = 0; flags < 32; ++flags) {
            if (!small && flags != 0 && flags != 31 && flags != 16) continue;
            const bool w = flags & 1, b = flags & 2, run = flags & 4, st = flags & 8,
                       ip = flags & 16;
            // Training needs more than one value per channel; InstanceNorm's input statistics
            // more than one per plane (the caller checks).
            if (batch * spatial != 1) {
              run_channels({ChannelOp::kBatchNorm, s, 0, true, w, b, run, st, ip, Data::kPlain});
            }
            if (spatial != 1) {
              run_channels({ChannelOp::kInstanceNorm, s, 0, true, w, b, run, st, ip, Data::kPlain});
            }
            // Eval requires the running statistics.
            run_channels({ChannelOp::kBatchNorm, s, 0, false, w, b, true, st, ip, Data::kPlain});
            run_channels({ChannelOp::kInstanceNorm, s, 0, false, w, b, true, st, ip, Data::kPlain});
          }
          for (Data d : kHardData) {
            if (batch * spatial != 1) {
              run_channels({ChannelOp::kBatchNorm, s, 0, true, true, true, true, true, false, d});
            }
            if (spatial != 1) {
              run_channels(
                  {ChannelOp::kInstanceNorm, s, 0, true, true, true, true, true, false, d});
            }
            run_channels({ChannelOp::kBatchNorm, s, 0, false, true, true, true, true, false, d});
          }
          if (batch * spatial > 1 && channels > 1) {
            for (int plant : {1, 2}) {
              run_channels({ChannelOp::kBatchNorm, s, 0, true, false, false, false, false, false,
                            Data::kPlain, plant});
              if (spatial > 1) {
                run_channels({ChannelOp::kInstanceNorm, s, 0, true, false, false, false, false,
                              false, Data::kPlain, plant});
              }
            }
          }
        }
      }
    }
  }
  const int64_t gn_batches[] = {0, 1, 2, 3, 7};
  const int64_t gn_spatials[] = {0, 1, 2, 3, 17, 33, 200};
  for (int64_t batch : gn_batches) {
    for (const Grouping& g : kGroupings) {
      for (int64_t spatial : gn_spatials) {
        if (batch * g.channels * spatial > kMaxValues) continue;
        for (bool channels_last : {false, true}) {
          const Shape s{batch, g.channels, spatial, channels_last};
          for (int flags = 0; flags < 16; ++flags) {
            run_channels({ChannelOp::kGroupNorm, s, g.groups, true, (flags & 1) != 0,
                          (flags & 2) != 0, false, (flags & 4) != 0, (flags & 8) != 0,
                          Data::kPlain});
          }
          for (Data d : kHardData) {
            run_channels(
                {ChannelOp::kGroupNorm, s, g.groups, true, true, true, false, true, false, d});
          }
          if (batch * spatial > 1 && g.channels > 1) {
            for (int plant : {1, 2}) {
              run_channels({ChannelOp::kGroupNorm, s, g.groups, true, true, true, false, true,
                            false, Data::kPlain, plant});
            }
          }
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
  const RowOp ops[] = {RowOp::kLayerNorm, RowOp::kRmsNorm, RowOp::kAddLayerNorm,
                       RowOp::kAddRmsNorm};
  const int64_t row_shapes[][2] = {{n / 4097 + 1, 4097}, {n / 513 + 1, 513}};
  for (RowOp op : ops) {
    for (const auto& shape : row_shapes) {
      run_rows({op, shape[0], shape[1], false, false, false, 0, Data::kPlain});
      if (is_add(op)) {
        // Sum and output of one alignment (both stream), and the sum over the residual.
        for (int64_t lead : {0, 3}) {
          run_rows({op, shape[0], shape[1], true, is_centred(op), false, kSeparate, Data::kPlain, 0,
                    lead});
        }
        run_rows({op, shape[0], shape[1], true, false, true, kSumResidual, Data::kPlain});
      }
      run_rows({op, shape[0], shape[1], true, is_centred(op), true,
                is_add(op) ? kSumInputOutResidual : 1, Data::kPlain});
    }
  }
  const int64_t channel_shapes[][3] = {
      {n / (17 * 33) + 1, 17, 33}, {2, 4097, n / (2 * 4097) + 1}, {1, 3, n / 3 + 7}};
  for (const auto& sh : channel_shapes) {
    for (bool channels_last : {false, true}) {
      const Shape s{sh[0], sh[1], sh[2], channels_last};
      for (bool in_place : {false, true}) {
        run_channels(
            {ChannelOp::kBatchNorm, s, 0, true, true, true, true, true, in_place, Data::kPlain});
      }
      run_channels(
          {ChannelOp::kBatchNorm, s, 0, false, true, true, true, false, true, Data::kPlain});
      run_channels(
          {ChannelOp::kInstanceNorm, s, 0, true, true, true, true, true, false, Data::kPlain});
      run_channels(
          {ChannelOp::kGroupNorm, s, 1, true, true, true, false, true, true, Data::kPlain});
    }
  }
  // GroupNorm with several groups per sample, large.
  for (bool channels_last : {false, true}) {
    run_channels({ChannelOp::kGroupNorm, Shape{4, 64, n / 256 + 3, channels_last}, 32, true, true,
                  true, false, true, false, Data::kPlain});
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
  if (argc == 2 && std::strcmp(argv[1], "--simd-tiers") == 0) {
    std::printf("%s\n", normkit::simd_tiers());
    return 0;
  }
  std::vector<int> thread_counts = {1, 2};
  if (argc > 1) {
    thread_counts.clear();
    for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  }
  std::printf("sanitize-driver: SIMD path %s, %d hardware threads\n", normkit::simd_path(),
              normkit::hardware_threads());
  std::fflush(stdout);  // keep the order of this and any FAIL line on stderr
  for (int threads : thread_counts) {
    normkit::set_num_threads(threads);
    const int64_t before = g_checks;
    for (auto test : {test_rows, test_channels, test_large, test_scale_copy}) {
      // NORMKIT_DRIVER_NO_LARGE=1 skips the tensors past the streaming-store threshold (tens of
      // millions of values): under emulation (npm run test:arm64) they take most of the time.
      if (test == test_large && std::getenv("NORMKIT_DRIVER_NO_LARGE")) continue;
      const int64_t at = g_checks;
      test();
      if (std::getenv("NORMKIT_DRIVER_VERBOSE")) {
        std::printf("    %lld checks\n", static_cast<long long>(g_checks - at));
      }
    }
    std::printf("  threads=%d: %lld checks\n", normkit::get_num_threads(),
                static_cast<long long>(g_checks - before));
    std::fflush(stdout);
  }
  std::printf("%lld passed, %lld failed\n", static_cast<long long>(g_checks - g_failures),
              static_cast<long long>(g_failures));
  return g_failures == 0 ? 0 : 1;
}
