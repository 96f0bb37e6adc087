// Thread scaling of the native kernels against the copy baseline and the memory limit, without
// Node: links the pure kernels directly so it runs on any Linux box with g++
// (bench/native/scaling.sh builds it). Prints, per case and thread count: median ms of the copy
// loop, of the streaming-store copy (the limit, stream_copy.h, at the tier the kernels run) and
// of the kernel, GB/s (bytes read once + written once), the ratio of the kernel's time to the
// copy's, its fraction of the limit (limit time / kernel time) and the speedup over 1 thread.
// The three are timed interleaved, rep by rep, so drift on a noisy machine hits them alike.
// The out-of-cache cases ([174762, 768] and the like: 512 MiB inputs) run only when the filter
// contains `large` (`large` for all of them, `large layer_norm` for some).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/copy.h"
#include "kernels/ops.h"
#include "kernels/simd.h"
#include "parallel.h"
#include "stream_copy.h"

using namespace normkit;

namespace {

double elapsed_ms(const std::function<void()>& f) {
  const auto s = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
}

// Medians of each function's time over `reps` rounds, the functions taking turns in each round.
std::vector<double> median_ms(const std::vector<std::function<void()>>& fs, int reps) {
  for (const auto& f : fs) f(), f();
  std::vector<std::vector<double>> t(fs.size());
  for (int k = 0; k < reps; ++k) {
    for (size_t i = 0; i < fs.size(); ++i) t[i].push_back(elapsed_ms(fs[i]));
  }
  std::vector<double> medians;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    medians.push_back(v[v.size() / 2]);
  }
  return medians;
}

// The unfused baseline of add_layer_norm: PyTorch's x + r as its own pass over memory (cloned
// for AVX2 here; the kernels' tiers are the library's business).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
void add_range(const float* a, const float* b, float* s, int64_t begin,
                                int64_t end) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) s[i] = a[i] + b[i];
}

void add(const float* a, const float* b, float* s, int64_t n) {
  parallel_for(threads_for(n, int64_t{1} << 15), n,
               [&](int, int64_t begin, int64_t end) { add_range(a, b, s, begin, end); });
}

enum class Kind {
  kLayerNorm,
  kRmsNorm,
  kAddLayerNorm,
  kAddThenLayerNorm,  // unfused: add, then layer_norm
  kBatchNormTrain,
  kBatchNormEval,
  kGroupNorm,
  kInstanceNorm,
};

struct Case {
  const char* name;
  Kind kind;
  int64_t a, b, c;  // rows: rows, cols; channels: N, C, spatial
  bool channels_last;
  int64_t groups;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads;
  for (int t = 1; t <= hardware_threads(); t *= 2) threads.push_back(t);
  if (threads.back() != hardware_threads()) threads.push_back(hardware_threads());
  const char* filter = argc > 1 ? argv[1] : "";
  const int reps = argc > 2 ? std::atoi(argv[2]) : 21;
  if (argc > 3) threads = {std::atoi(argv[3])};
  const Case cases[] = {
      {"layer_norm [8192, 768]", Kind::kLayerNorm, 8192, 768, 1, false, 0},
      {"layer_norm [2048, 4096]", Kind::kLayerNorm, 2048, 4096, 1, false, 0},
      {"layer_norm [512, 1024]", Kind::kLayerNorm, 512, 1024, 1, false, 0},
      {"layer_norm [64, 128]", Kind::kLayerNorm, 64, 128, 1, false, 0},
      {"rms_norm [8192, 768]", Kind::kRmsNorm, 8192, 768, 1, false, 0},
      {"add_layer_norm [8192, 768]", Kind::kAddLayerNorm, 8192, 768, 1, false, 0},
      {"add+layer_norm unfused [8192, 768]", Kind::kAddThenLayerNorm, 8192, 768, 1, false, 0},
      {"batch_norm train NCHW [32, 64, 56, 56]", Kind::kBatchNormTrain, 32, 64, 3136, false, 0},
      {"batch_norm train NHWC [32, 64, 56, 56]", Kind::kBatchNormTrain, 32, 64, 3136, true, 0},
      {"batch_norm eval NCHW [32, 64, 56, 56]", Kind::kBatchNormEval, 32, 64, 3136, false, 0},
      {"batch_norm eval NHWC [32, 64, 56, 56]", Kind::kBatchNormEval, 32, 64, 3136, true, 0},
      {"batch_norm1d train [65536, 64]", Kind::kBatchNormTrain, 65536, 64, 1, false, 0},
      {"group_norm G=32 NCHW [32, 64, 56, 56]", Kind::kGroupNorm, 32, 64, 3136, false, 32},
      {"group_norm G=32 NHWC [32, 64, 56, 56]", Kind::kGroupNorm, 32, 64, 3136, true, 32},
      {"instance_norm NCHW [32, 64, 56, 56]", Kind::kInstanceNorm, 32, 64, 3136, false, 0},
      {"instance_norm NHWC [32, 64, 56, 56]", Kind::kInstanceNorm, 32, 64, 3136, true, 0},
      // Out of cache: 512 MiB inputs (392 MiB for [512, 64, 56, 56]).
      {"large layer_norm [174762, 768]", Kind::kLayerNorm, 174762, 768, 1, false, 0},
      {"large layer_norm [32768, 4096]", Kind::kLayerNorm, 32768, 4096, 1, false, 0},
      {"large rms_norm [174762, 768]", Kind::kRmsNorm, 174762, 768, 1, false, 0},
      {"large rms_norm [32768, 4096]", Kind::kRmsNorm, 32768, 4096, 1, false, 0},
      {"large batch_norm train NCHW [512, 64, 56, 56]", Kind::kBatchNormTrain, 512, 64, 3136, false,
       0},
      {"large batch_norm train NHWC [512, 64, 56, 56]", Kind::kBatchNormTrain, 512, 64, 3136, true,
       0},
      {"large batch_norm eval NCHW [512, 64, 56, 56]", Kind::kBatchNormEval, 512, 64, 3136, false,
       0},
      {"large batch_norm eval NHWC [512, 64, 56, 56]", Kind::kBatchNormEval, 512, 64, 3136, true,
       0},
      {"large group_norm G=32 NCHW [512, 64, 56, 56]", Kind::kGroupNorm, 512, 64, 3136, false, 32},
      {"large group_norm G=32 NHWC [512, 64, 56, 56]", Kind::kGroupNorm, 512, 64, 3136, true, 32},
  };
  // The limit at the tier the kernels run (simd_path() names the same tiers).
  normkit_bench::RangeFn limit_range = normkit_bench::range_for(simd_path());
  if (!limit_range) limit_range = normkit_bench::range_for("baseline");
  std::printf("simd path %s, %d hardware threads, %d reps\n", simd_path(), hardware_threads(),
              reps);
  std::printf("%-46s %3s %9s %9s %9s %8s %8s %6s %6s %8s\n", "case", "thr", "copy ms", "limit ms",
              "kern ms", "copyGB/s", "kernGB/s", "x copy", "of lim", "speedup");
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  // NORMKIT_SCALING_STREAMING=compare times the kernels with streaming stores forced on and off
  // too, interleaved in the same run.
  const char* compare = std::getenv("NORMKIT_SCALING_STREAMING");
  const bool compare_streaming = compare && std::strcmp(compare, "compare") == 0;
  for (const Case& cs : cases) {
    if (!std::strstr(cs.name, filter)) continue;
    // The out-of-cache cases only when asked for: they take 2 GiB and seconds per thread count.
    if (std::strncmp(cs.name, "large", 5) == 0 && !std::strstr(filter, "large")) continue;
    const bool rows = cs.kind == Kind::kLayerNorm || cs.kind == Kind::kRmsNorm ||
                      cs.kind == Kind::kAddLayerNorm || cs.kind == Kind::kAddThenLayerNorm;
    const int64_t n = rows ? cs.a * cs.b : cs.a * cs.b * cs.c;
    const int64_t params = cs.b;
    const bool pair = cs.kind == Kind::kAddLayerNorm || cs.kind == Kind::kAddThenLayerNorm;
    std::vector<float> x(n), r(pair ? n : 0), s(pair ? n : 0), y(n), w(params, 1.1f),
        b(params, 0.1f), rm(params, 0.f), rv(params, 1.f);
    for (float& v : x) v = normal(rng);
    for (float& v : r) v = normal(rng);
    double base_ms = 0;
    for (int t : threads) {
      set_num_threads(t);
      auto run = [&] {
        switch (cs.kind) {
          case Kind::kLayerNorm:
            return layer_norm_forward(x.data(), cs.a, cs.b, w.data(), b.data(), 1e-5, y.data(),
                                      nullptr, nullptr);
          case Kind::kRmsNorm:
            return rms_norm_forward(x.data(), cs.a, cs.b, w.data(), 1e-5, y.data(), nullptr);
          case Kind::kAddLayerNorm:
            return add_layer_norm_forward(x.data(), r.data(), cs.a, cs.b, w.data(), b.data(), 1e-5,
                                          y.data(), s.data(), nullptr, nullptr);
          case Kind::kAddThenLayerNorm:
            add(x.data(), r.data(), s.data(), n);
            return layer_norm_forward(s.data(), cs.a, cs.b, w.data(), b.data(), 1e-5, y.data(),
                                      nullptr, nullptr);
          case Kind::kBatchNormTrain:
          case Kind::kBatchNormEval:
            return batch_norm_forward(
                x.data(), cs.a, cs.b, cs.c, cs.channels_last, w.data(), b.data(), rm.data(),
                rv.data(), cs.kind == Kind::kBatchNormTrain, 0.1, 1e-5, y.data(), nullptr, nullptr);
          case Kind::kGroupNorm:
            return group_norm_forward(x.data(), cs.a, cs.b, cs.c, cs.groups, cs.channels_last,
                                      w.data(), b.data(), 1e-5, y.data(), nullptr, nullptr);
          case Kind::kInstanceNorm:
            return instance_norm_forward(x.data(), cs.a, cs.b, cs.c, cs.channels_last, w.data(),
                                         b.data(), rm.data(), rv.data(), true, 0.1, 1e-5, y.data(),
                                         nullptr, nullptr);
        }
      };
      const std::vector<double> ms = median_ms(
          {[&] { scale_copy(x.data(), y.data(), n, 1.5f, 0.5f); },
           [&] { normkit_bench::stream_copy(limit_range, x.data(), y.data(), n, 1.5f, 0.5f, t); },
           run},
          reps);
      const double copy_ms = ms[0], limit_ms = ms[1], kern_ms = ms[2];
      if (compare_streaming) {
        auto with = [&](StreamingPolicy p) {
          return [&, p] {
            set_streaming_policy(p);
            run();
          };
        };
        const std::vector<double> on_off =
            median_ms({with(StreamingPolicy::kAlways), with(StreamingPolicy::kNever)}, reps);
        set_streaming_policy(StreamingPolicy::kAuto);
        std::printf("%-46s %3d   streaming on %.3f ms (%.2f x copy), off %.3f ms (%.2f x copy)\n",
                    cs.name, t, on_off[0], on_off[0] / copy_ms, on_off[1], on_off[1] / copy_ms);
      }
      if (t == threads.front()) base_ms = kern_ms;
      const double gb = 8.0 * n / 1e6;
      std::printf("%-46s %3d %9.3f %9.3f %9.3f %8.1f %8.1f %6.2f %6.2f %8.2f\n", cs.name, t,
                  copy_ms, limit_ms, kern_ms, gb / copy_ms, gb / kern_ms, kern_ms / copy_ms,
                  limit_ms / kern_ms, base_ms / kern_ms);
    }
  }
}
