// Thread scaling of the native kernels against the copy baseline, without Node: links the pure
// kernels directly so it runs on any Linux box with g++ (bench/native/scaling.sh builds it).
// Prints, per case and thread count: median ms, GB/s (bytes read once + written once), the
// ratio of the kernel's time to the copy's, and the speedup over 1 thread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/batch_norm.h"
#include "kernels/copy.h"
#include "kernels/layer_norm.h"
#include "kernels/simd.h"
#include "parallel.h"

using namespace normkit;

namespace {

template <class F>
double median_ms(F f, int reps) {
  f();
  f();
  std::vector<double> t;
  for (int k = 0; k < reps; ++k) {
    const auto s = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Case {
  const char* name;
  int64_t a, b, c;  // LN: rows, cols; BN: N, C, spatial
  int kind;         // 0 LN, 1 BN train, 2 BN eval
  bool channels_last;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads;
  for (int t = 1; t <= hardware_threads(); t *= 2) threads.push_back(t);
  if (threads.back() != hardware_threads()) threads.push_back(hardware_threads());
  const char* filter = argc > 1 ? argv[1] : "";
  const int reps = argc > 2 ? std::atoi(argv[2]) : 21;
  const Case cases[] = {
      {"layer_norm [8192, 768]", 8192, 768, 1, 0, false},
      {"layer_norm [2048, 4096]", 2048, 4096, 1, 0, false},
      {"batch_norm train NCHW [32, 64, 56, 56]", 32, 64, 3136, 1, false},
      {"batch_norm train NHWC [32, 64, 56, 56]", 32, 64, 3136, 1, true},
      {"batch_norm eval NCHW [32, 64, 56, 56]", 32, 64, 3136, 2, false},
      {"batch_norm eval NHWC [32, 64, 56, 56]", 32, 64, 3136, 2, true},
      {"batch_norm1d train [65536, 64]", 65536, 64, 1, 1, false},
  };
  std::printf("simd path %s, openmp %s, %d hardware threads, %d reps\n", simd_path(),
              has_openmp() ? "on" : "off", hardware_threads(), reps);
  std::printf("%-40s %3s %9s %9s %8s %8s %6s %8s\n", "case", "thr", "copy ms", "kern ms",
              "copyGB/s", "kernGB/s", "x copy", "speedup");
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  // NORMKIT_SCALING_STREAMING=compare times the kernels with streaming stores forced on and off
  // too, interleaved in the same run.
  const char* compare = std::getenv("NORMKIT_SCALING_STREAMING");
  const bool compare_streaming = compare && std::strcmp(compare, "compare") == 0;
  for (const Case& cs : cases) {
    if (!std::strstr(cs.name, filter)) continue;
    const int64_t n = cs.kind == 0 ? cs.a * cs.b : cs.a * cs.b * cs.c;
    const int64_t ch = cs.b;
    std::vector<float> x(n), y(n), w(ch, 1.1f), b(ch, 0.1f), rm(ch, 0.f), rv(ch, 1.f);
    for (float& v : x) v = normal(rng);
    const BatchNormShape shape{cs.a, cs.b, cs.c, cs.channels_last};
    double base_ms = 0;
    for (int t : threads) {
      set_num_threads(t);
      const double copy_ms =
          median_ms([&] { scale_copy(x.data(), y.data(), n, 1.5f, 0.5f); }, reps);
      auto run = [&] {
        if (cs.kind == 0) {
          layer_norm_forward(x.data(), y.data(), cs.a, cs.b, w.data(), b.data(), 1e-5, nullptr,
                             nullptr);
        } else if (cs.kind == 1) {
          batch_norm_forward_training(x.data(), y.data(), shape, w.data(), b.data(), 1e-5, 0.1,
                                      rm.data(), rv.data(), nullptr, nullptr);
        } else {
          batch_norm_forward_eval(x.data(), y.data(), shape, w.data(), b.data(), rm.data(),
                                  rv.data(), 1e-5);
        }
      };
      const double kern_ms = median_ms(run, reps);
      if (compare_streaming) {
        double ms[2];
        for (int k = 0; k < 2; ++k) {
          set_streaming_policy(k == 0 ? StreamingPolicy::kAlways : StreamingPolicy::kNever);
          ms[k] = median_ms([&] { run(); }, reps);
        }
        set_streaming_policy(StreamingPolicy::kAuto);
        std::printf("%-40s %3d   streaming on %.3f ms (%.2f x copy), off %.3f ms (%.2f x copy)\n",
                    cs.name, t, ms[0], ms[0] / copy_ms, ms[1], ms[1] / copy_ms);
      }
      if (t == 1) base_ms = kern_ms;
      const double gb = 8.0 * n / 1e6;
      std::printf("%-40s %3d %9.3f %9.3f %8.1f %8.1f %6.2f %8.2f\n", cs.name, t, copy_ms, kern_ms,
                  gb / copy_ms, gb / kern_ms, kern_ms / copy_ms, base_ms / kern_ms);
    }
  }
}
