// The kernel driver's shared harness (test/native/*.cc, built by scripts/sanitize.sh under
// ASan/UBSan and by scripts/test-arm64.sh for NEON): buffers with canaries, the data kinds, the
// comparisons and their failure count, the double-precision reference loops several kernels
// compose, the sweeps that several kernels share, and the registry of checks that main.cc runs.
// Nothing here names a kernel: each kernel's file registers its checks with
// NORMKIT_KERNEL_CHECK and holds its call and its reference, so a new kernel's checks are a new
// file, picked up by the build scripts' glob.
//
// Every buffer is a heap array that ends exactly where the kernel's data ends (a zero-size array
// when the size is 0), so any read or write past an end, or a null parameter dereferenced, is
// reported by ASan. Some buffers start a few floats into their allocation, as a Float32Array
// view can, to vary the alignment the vector paths see; those leading floats hold a canary that
// must survive the call.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace normkit::harness {

// Sizes that hit the edges of the kernels: empty, single, odd tails around the 16- and 32-lane
// blocks, and 4097 (one past a 4096-value row, 128-value blocks plus a tail).
inline constexpr int64_t kSizes[] = {0, 1, 2, 3, 7, 17, 33, 4097};
// Largest tensor of the all-sizes sweep: big enough that 2 threads get work (the grain is 2^15
// values).
inline constexpr int64_t kMaxValues = int64_t{33} * 4097;
// Up to this size every combination of options is tried; above it, a few.
inline constexpr int64_t kAllOptionsValues = 4097;
inline constexpr double kEps = 1e-5;
inline constexpr double kMomentum = 0.1;
inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
inline constexpr unsigned char kCanaryByte = 0xA5;

// Padding floats to put before and after the next buffer's data, taken in turn from one rotation
// shared by every check. None keeps ASan's redzones right at the data, which catches plain C++
// accesses one past either end. Padding filled with a canary catches what ASan cannot see: GCC
// does not instrument the AVX-512 masked and streaming stores, which are builtins. Leads also
// give every alignment mod 64 bytes a chance.
int64_t next_lead();
int64_t next_trail();

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

// ---- data ---------------------------------------------------------------------------------

// Input data: a fixed formula around an offset with a spread, no RNG. The hard kinds are the
// conformance suite's: a large common offset, values near 1e19 (float squares overflow) and near
// the float maximum, both signs up to the maximum (x - mean overflows float: the kernels' exact
// path), denormals (float squares underflow), constant groups.
enum class Data { kPlain, kOffset, kHuge, kNearMax, kExtreme, kDenormal, kConstant };
inline constexpr Data kHardData[] = {Data::kOffset,  Data::kHuge,     Data::kNearMax,
                                     Data::kExtreme, Data::kDenormal, Data::kConstant};

const char* data_name(Data d);
// n values: offset + spread * (a smooth function of the index and `seed`).
Buffer<float> make_values(int64_t n, int seed, double offset, double spread);
Buffer<float> make_data(int64_t n, int seed, Data d);
// A residual for the fused adds: small against the data so the sum keeps the data's kind.
Buffer<float> make_residual(int64_t n, Data d);
// The largest finite |x[i]|, 0 when none.
double largest_magnitude(const Buffer<float>& x);

// ---- checks -------------------------------------------------------------------------------

// Each call counts one check. `where` names the call, `what` the check; both are only formatted
// on failure, and only the first failures are printed.
void check(bool ok, const std::string& where, const char* what);
// |got - want| <= abs_tol + rel_tol * |want|; a NaN wants NaN, an infinity itself.
void check_value(double got, double want, const std::string& where, const char* what, int64_t i,
                 double abs_tol, double rel_tol);
int64_t checks_run();
int64_t checks_failed();

// Double-precision results: outputs, and per statistic the mean, biased variance and rstd.
struct Reference {
  std::vector<double> y, mean, var, rstd;
};

// Outputs against a reference (a check per value). The absolute tolerance scales down with
// outputs that are tiny everywhere (denormal data), so those are checked relative to their size
// too.
void check_output(const float* got, const std::vector<double>& want, const std::string& where);
// Saved means are float-accurate relative to the data's magnitude `data_scale` (a mean near 0 of
// data near 1e19 is not accurate relative to itself); saved rstd relative to itself.
void check_saved(const Buffer<float>& save_mean, const Buffer<float>& save_rstd,
                 const Reference& ref, double data_scale, const std::string& where);

// "name(d0xd1x...) extra threads=N": what a failure prints to say which call failed.
std::string describe(const char* name, std::initializer_list<int64_t> dims,
                     const std::string& extra);
std::string flags_text(const char* format, ...) __attribute__((format(printf, 1, 2)));

// The element count of the large checks: 2^21 values, 8 MiB per array, past the streaming-store
// threshold of a 32 MiB last-level cache. The driver runs the large checks with streaming stores
// forced on, then with prefetched cached stores (main.cc), so they take those paths on a machine
// with a larger cache too, and their size, and the driver's time, do not grow with the cache (a
// 480 MiB one asked for 128 MiB arrays, 16 times the work).
int64_t streaming_values();

// ---- rows: normalization over contiguous rows -----------------------------------------------

// Double reference over `rows` rows of `cols` values: per row the mean (0 unless `centre`), the
// biased variance about it and 1/sqrt(var + eps); y = (x - mean) * rstd * w + b, a null w or b
// being 1 or 0.
Reference row_reference(const float* x, int64_t rows, int64_t cols, const float* w, const float* b,
                        bool centre);

// One row kernel's call. A kernel ignores what it does not take (bias, residual, sum_out,
// save_mean); the harness passes null there.
struct RowCall {
  const float* input;
  const float* residual;
  int64_t rows, cols;
  const float* weight;
  const float* bias;
  float* out;
  float* sum_out;
  float* save_mean;
  float* save_rstd;
};

// What the row sweeps need of a row kernel.
struct RowKernel {
  const char* name;
  // Subtracts the row mean: takes a bias, saves the mean, and maps a constant row to exactly its
  // bias.
  bool centred;
  // Adds a residual first: sum_out = input + residual in float32, bit for bit as PyTorch's
  // x + r, and the sum is what is normalized. sum_out may be input or residual; out may be
  // input or residual, never sum_out.
  bool fused_add;
  void (*call)(const RowCall& args);
  // The double reference of the rows `x` (for a fused add, the float32 sum), with eps kEps.
  Reference (*reference)(const float* x, int64_t rows, int64_t cols, const float* w,
                         const float* b);
};

// Every size pair of kSizes up to kMaxValues, every combination of weight, bias, saved
// statistics and aliasing on small tensors (a few on large ones), the hard data, and an infinity
// and a NaN planted in a row.
void check_rows(const RowKernel& kernel);
// Tensors past the streaming-store threshold, whose aligned middle and masked head and tail are
// tried at several alignments; a few option combinations each, as those paths do not branch on
// the rest.
void check_rows_large(const RowKernel& kernel);

// ---- channels: normalization over sets of (sample, channel, position) -------------------------

struct Shape {
  int64_t batch, channels, spatial;
  bool channels_last;
  int64_t numel() const { return batch * channels * spatial; }
  int64_t at(int64_t n, int64_t c, int64_t p) const {
    return channels_last ? (n * spatial + p) * channels + c : (n * channels + c) * spatial + p;
  }
  std::string text() const { return channels_last ? "channels_last" : "channels_first"; }
};

// Double reference of normalization over the values whose (n, c) share key(n, c) (in
// [0, keys)), with per-channel weight and bias: the mean, biased variance and rstd per key.
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

// One channel kernel's call. A kernel ignores what it does not take (groups, running
// statistics, training); momentum is kMomentum and eps kEps.
struct ChannelCall {
  const float* input;
  int64_t batch, channels, spatial, groups;
  bool channels_last;
  const float* weight;
  const float* bias;
  float* running_mean;
  float* running_var;
  bool training;
  float* out;
  float* save_mean;
  float* save_rstd;
};

// What run_channels needs of a channel kernel.
struct ChannelKernel {
  const char* name;
  void (*call)(const ChannelCall& args);
  // How many statistics it saves for a shape (and `groups`), sample-major.
  int64_t (*statistics)(const Shape& s, int64_t groups);
  // The double reference with the input's statistics (training), one statistic per saved one.
  Reference (*reference)(const Buffer<float>& x, const Shape& s, int64_t groups, const float* w,
                         const float* b);
  // Kernels with running statistics: how many per-sample statistics each channel's running
  // update averages (1 when the statistic is the channel's over the whole batch); the
  // statistics of the sample-major reference are then (sample, channel). The variance is made
  // unbiased over the values of one such statistic. Without training, the running statistics
  // normalize every sample and are what is saved. Null: no running statistics, always the
  // input's statistics.
  int64_t (*running_samples)(const Shape& s);
};

// One call's options.
struct ChannelCase {
  Shape shape;
  int64_t groups;
  bool training;  // with running statistics: the input's statistics, and the running update
  bool weight, bias, running, stats, in_place;
  Data data;
  // A non-finite value planted in statistic 0's data: none, an infinity, a NaN.
  int plant = 0;
};

// Runs one call and checks everything it writes, and that it writes nothing else.
void run_channels(const ChannelKernel& kernel, const ChannelCase& k);

// Options of a channel call that the sweeps combine.
struct ChannelOptions {
  bool weight, bias, running, stats, in_place;
};
// Every combination on small tensors; on large ones (the threaded paths) none, all, and in
// place.
std::vector<ChannelOptions> channel_options(bool small);

// Calls f(shape, small) for every (batch, channels, spatial) of kSizes whose tensor (zero sizes
// counted as 1, as the saved statistics of (4097, 4097, 0) still number 4097^2) is at most
// kMaxValues, in both layouts; `small` when every combination of options is to be tried.
template <typename F>
void for_each_channel_shape(F f) {
  for (int64_t batch : kSizes) {
    for (int64_t channels : kSizes) {
      for (int64_t spatial : kSizes) {
        if (std::max<int64_t>(batch, 1) * std::max<int64_t>(channels, 1) *
                std::max<int64_t>(spatial, 1) >
            kMaxValues) {
          continue;
        }
        const bool small = batch * channels * spatial <= kAllOptionsValues;
        for (bool channels_last : {false, true}) {
          f(Shape{batch, channels, spatial, channels_last}, small);
        }
      }
    }
  }
}

// Shapes past the streaming-store threshold, each layout: many small sets, few long channels,
// and three channels of one sample.
std::vector<Shape> large_channel_shapes();

// ---- registry -----------------------------------------------------------------------------

// A registered check: the kernel it exercises, and whether it is one of the tensors past the
// streaming-store threshold (which NORMKIT_DRIVER_NO_LARGE=1 leaves out).
struct KernelCheck {
  const char* name;
  bool large;
  void (*run)();
};
// Every registered check, in registration (link) order; main sorts them.
std::vector<KernelCheck>& kernel_checks();

struct RegisterKernelCheck {
  RegisterKernelCheck(const char* name, bool large, void (*run)()) {
    kernel_checks().push_back({name, large, run});
  }
};

}  // namespace normkit::harness

#define NORMKIT_KERNEL_CHECK_DEFINE(name, large, fn)                                        \
  static void fn();                                                                         \
  static const ::normkit::harness::RegisterKernelCheck fn##_registration(#name, large, fn); \
  static void fn()

// NORMKIT_KERNEL_CHECK(foo_norm_forward) { ... } defines a check that main runs, on each
// thread count, in the order of the names. A kernel registers each name once per kind.
#define NORMKIT_KERNEL_CHECK(name) NORMKIT_KERNEL_CHECK_DEFINE(name, false, kernel_check_##name)
// The same for its tensors past the streaming-store threshold, run after every other check.
#define NORMKIT_LARGE_KERNEL_CHECK(name) \
  NORMKIT_KERNEL_CHECK_DEFINE(name, true, large_kernel_check_##name)
