// The kernel driver's shared harness: see harness.h.
#include "harness.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/simd.h"
#include "parallel.h"

namespace normkit::harness {
namespace {

const int64_t kLeads[] = {0, 1, 3, 0, 7, 13, 0, 5};
const int64_t kTrails[] = {0, 16, 0, 1, 0, 15};
// Only the first failures are printed: one wrong path fails thousands of checks.
constexpr int64_t kFailuresPrinted = 20;

int64_t g_checks = 0;
int64_t g_failures = 0;
int64_t g_next_lead = 0;
int64_t g_next_trail = 0;

bool close(double got, double want, double abs_tol, double rel_tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= abs_tol + rel_tol * std::fabs(want);
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

}  // namespace

int64_t next_lead() { return kLeads[g_next_lead++ % (sizeof kLeads / sizeof kLeads[0])]; }
int64_t next_trail() { return kTrails[g_next_trail++ % (sizeof kTrails / sizeof kTrails[0])]; }

// ---- data ---------------------------------------------------------------------------------

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

double largest_magnitude(const Buffer<float>& x) {
  double m = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i])) m = std::max(m, std::fabs(static_cast<double>(x[i])));
  }
  return m;
}

// ---- checks -------------------------------------------------------------------------------

void check(bool ok, const std::string& where, const char* what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  if (g_failures <= kFailuresPrinted) std::fprintf(stderr, "FAIL %s%s\n", where.c_str(), what);
}

void check_value(double got, double want, const std::string& where, const char* what, int64_t i,
                 double abs_tol, double rel_tol) {
  ++g_checks;
  if (close(got, want, abs_tol, rel_tol)) return;
  ++g_failures;
  if (g_failures <= kFailuresPrinted) {
    std::fprintf(stderr, "FAIL %s%s [%lld]: got %.9g, want %.9g\n", where.c_str(), what,
                 static_cast<long long>(i), got, want);
  }
}

int64_t checks_run() { return g_checks; }
int64_t checks_failed() { return g_failures; }

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

void check_saved(const Buffer<float>& save_mean, const Buffer<float>& save_rstd,
                 const Reference& ref, double data_scale, const std::string& where) {
  for (int64_t i = 0; i < save_mean.size(); ++i) {
    check_value(save_mean[i], ref.mean[i], where, " save_mean", i, 1e-6 * data_scale + 1e-30, 1e-6);
  }
  check_stats(save_rstd, ref.rstd, where, " save_rstd", 1e-5);
}

std::string describe(const char* name, std::initializer_list<int64_t> dims,
                     const std::string& extra) {
  std::string s = name;
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

std::string flags_text(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return text;
}

int64_t streaming_values() { return int64_t{1} << 21; }

// ---- rows ---------------------------------------------------------------------------------

Reference row_reference(const float* x, int64_t rows, int64_t cols, const float* w, const float* b,
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

namespace {

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

void run_rows(const RowKernel& kernel, const RowCase& k) {
  const int64_t rows = k.rows, cols = k.cols, n = rows * cols;
  const bool add = kernel.fused_add, centre = kernel.centred;
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
  kernel.call({x.get(), add ? r.get() : nullptr, rows, cols, k.weight ? w.get() : nullptr,
               k.bias ? b.get() : nullptr, out, add ? sum : nullptr,
               k.stats && centre ? save_mean.get() : nullptr, k.stats ? save_rstd.get() : nullptr});
  // What is normalized: the input, or its float32 sum with the residual.
  Buffer<float> s0(x0);
  for (int64_t i = 0; add && i < n; ++i) s0[i] = x0[i] + r0[i];
  const Reference ref = kernel.reference(s0.get(), rows, cols, k.weight ? w.get() : nullptr,
                                         k.bias ? b.get() : nullptr);
  const std::string where =
      describe(kernel.name, {rows, cols},
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

}  // namespace

void check_rows(const RowKernel& kernel) {
  const int aliases = kernel.fused_add ? kAliasCount : 2;
  for (int64_t rows : kSizes) {
    for (int64_t cols : kSizes) {
      if (std::max<int64_t>(rows, 1) * std::max<int64_t>(cols, 1) > kMaxValues) continue;
      const bool small = rows * cols <= kAllOptionsValues;
      for (int flags = 0; flags < 8; ++flags) {
        for (int alias = 0; alias < aliases; ++alias) {
          if (!small && flags != 0 && flags != 7) continue;
          if (!small && alias > 1 && alias != kSumInputOutResidual) continue;
          // Only a centred kernel takes a bias.
          if ((flags & 2) && !kernel.centred) continue;
          run_rows(kernel, {rows, cols, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, alias,
                            Data::kPlain});
        }
      }
      for (Data d : kHardData) run_rows(kernel, {rows, cols, true, kernel.centred, true, 0, d});
      if (rows > 1 && cols > 1) {
        run_rows(kernel, {rows, cols, true, kernel.centred, true, 0, Data::kPlain, 1});
        run_rows(kernel, {rows, cols, false, false, false, 0, Data::kPlain, 2});
      }
    }
  }
}

void check_rows_large(const RowKernel& kernel) {
  static const int64_t n = streaming_values();
  const bool add = kernel.fused_add, centred = kernel.centred;
  const int64_t shapes[][2] = {{n / 4097 + 1, 4097}, {n / 513 + 1, 513}};
  for (const auto& shape : shapes) {
    run_rows(kernel, {shape[0], shape[1], false, false, false, 0, Data::kPlain});
    if (add) {
      // Sum and output of one alignment (both stream), and the sum over the residual.
      for (int64_t lead : {0, 3}) {
        run_rows(kernel,
                 {shape[0], shape[1], true, centred, false, kSeparate, Data::kPlain, 0, lead});
      }
      run_rows(kernel, {shape[0], shape[1], true, false, true, kSumResidual, Data::kPlain});
    }
    run_rows(kernel, {shape[0], shape[1], true, centred, true, add ? kSumInputOutResidual : 1,
                      Data::kPlain});
  }
}

// ---- channels -----------------------------------------------------------------------------

namespace {

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

}  // namespace

void run_channels(const ChannelKernel& kernel, const ChannelCase& k) {
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
  const int64_t keys = kernel.statistics(s, k.groups);  // statistics saved
  Buffer<float> save_mean(k.stats ? keys : 0), save_rstd(k.stats ? keys : 0);
  const float* wp = k.weight ? w.get() : nullptr;
  const float* bp = k.bias ? b.get() : nullptr;
  kernel.call({x.get(), s.batch, c, s.spatial, k.groups, s.channels_last, wp, bp,
               k.running ? rm.get() : nullptr, k.running ? rv.get() : nullptr, k.training, y,
               k.stats ? save_mean.get() : nullptr, k.stats ? save_rstd.get() : nullptr});
  const std::string where = describe(
      kernel.name, {s.batch, c, s.spatial},
      flags_text("%s groups=%lld train=%d w=%d b=%d running=%d stats=%d in_place=%d data=%s "
                 "plant=%d",
                 s.text().c_str(), static_cast<long long>(k.groups), k.training, k.weight, k.bias,
                 k.running, k.stats, k.in_place, data_name(k.data), k.plant));
  check(x.padding_intact() && y_separate.padding_intact(), where, ": wrote outside the data");
  if (!k.in_place) check(x.same_values(x0), where, ": input modified out of place");

  const bool batch_stats = !kernel.running_samples || k.training;
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
  const Reference ref = kernel.reference(x0, s, k.groups, wp, bp);
  check_output(y, ref.y, where);
  if (constant) {
    for (int64_t i = 0; i < n; ++i) {
      check(y[i] == static_cast<float>(ref.y[i]), where, ": constant group not exactly bias");
    }
  }
  if (k.stats) check_saved(save_mean, save_rstd, ref, scale, where);
  if (!kernel.running_samples) return;
  if (count == 0 || c == 0) {
    check(rm.same_values(rm0) && rv.same_values(rv0), where, ": empty batch changed running stats");
    return;
  }
  // Each channel's update: momentum towards the average of its `samples` statistics, each over
  // `per_instance` values (the variance unbiased over those).
  const int64_t samples = kernel.running_samples(s);
  const int64_t per_instance = count / samples;
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

std::vector<ChannelOptions> channel_options(bool small) {
  std::vector<ChannelOptions> options;
  // Bits: 1 weight, 2 bias, 4 running, 8 saved, 16 in place.
  for (int flags = 0; flags < 32; ++flags) {
    if (!small && flags != 0 && flags != 31 && flags != 16) continue;
    options.push_back({(flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, (flags & 8) != 0,
                       (flags & 16) != 0});
  }
  return options;
}

std::vector<Shape> large_channel_shapes() {
  static const int64_t n = streaming_values();
  const int64_t sizes[][3] = {
      {n / (17 * 33) + 1, 17, 33}, {2, 4097, n / (2 * 4097) + 1}, {1, 3, n / 3 + 7}};
  std::vector<Shape> shapes;
  for (const auto& sh : sizes) {
    for (bool channels_last : {false, true}) shapes.push_back({sh[0], sh[1], sh[2], channels_last});
  }
  return shapes;
}

// ---- registry -----------------------------------------------------------------------------

std::vector<KernelCheck>& kernel_checks() {
  // A function's static: filled by the registrations' static constructors, whatever the order
  // in which the files' statics are initialized.
  static std::vector<KernelCheck> checks;
  return checks;
}

}  // namespace normkit::harness
