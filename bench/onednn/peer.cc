// oneDNN peer for the normkit bench (bench/onednn.js builds it on demand with -ldnnl and runs it
// once per thread count, with OMP_NUM_THREADS and DNNL_MAX_CPU_ISA set for the tier measured).
//
// stdin: one case per line, `id op training layout kind d0 d1 ...` (op: layerNorm | batchNorm;
// training: 0 | 1; layout: channels_first | channels_last | -; kind: throughput | latency).
// argv: threads budgetS minReps maxReps warmupS minWarmup sampleS.
// stdout: one JSON object per line: the version and ISA first, then per case the seconds per
// call (median, quartiles, min, max), the samples and calls per sample, and the implementation
// oneDNN picked (e.g. "jit:avx512_core"), or {"id", "error"} where oneDNN has no such primitive.
//
// What is timed is what a framework calls: LayerNorm forward inference with scale and shift over
// the last dimension (no saved statistics, as normkit's layerNorm; forward training, which writes
// the mean and variance too, where a case says training), BatchNorm forward training
// (batch statistics, saved mean and variance; the running-stat update is the framework's few
// flops per channel and is not timed) and inference (use_global_stats), with scale and shift.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct Sampling {
  double budget_s, warmup_s, sample_s;
  int min_reps, max_reps, min_warmup;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

// The same sampling as bench/measure.js: warm up (calibrating the calls per sample on the
// latency cases), then samples until the budget is spent.
template <class F>
std::string measure(F&& call, const Sampling& s, bool latency) {
  auto run = [&](long k) {
    const double t0 = now_s();
    for (long i = 0; i < k; ++i) call();
    return now_s() - t0;
  };
  long calls = 1, warm_calls = 0, chunk = 1;
  double warm_time = 0;
  while (warm_calls < s.min_warmup || warm_time < s.warmup_s) {
    warm_time += run(chunk);
    warm_calls += chunk;
    if (warm_time > s.budget_s) break;  // one call longer than a row's budget: warm enough
    if (latency && warm_time < s.warmup_s / 4) chunk = std::min(chunk * 2, 1L << 16);
  }
  if (latency) {
    const double per_call = std::max(warm_time / static_cast<double>(warm_calls), 1e-9);
    calls = std::max(1L, static_cast<long>(s.sample_s / per_call + 0.5));
  }
  // As bench/measure.js: 3 samples for a call longer than a row's budget.
  const int reps = warm_time / static_cast<double>(warm_calls) > s.budget_s
                       ? std::min(s.min_reps, 3)
                       : s.min_reps;
  std::vector<double> per;
  double spent = 0;
  while (static_cast<int>(per.size()) < reps ||
         (spent < s.budget_s && static_cast<int>(per.size()) < s.max_reps)) {
    const double t = run(calls);
    per.push_back(t / static_cast<double>(calls));
    spent += t;
  }
  std::sort(per.begin(), per.end());
  std::ostringstream o;
  o.precision(9);
  o << "\"median\":" << quantile(per, 0.5) << ",\"q1\":" << quantile(per, 0.25)
    << ",\"q3\":" << quantile(per, 0.75) << ",\"min\":" << per.front() << ",\"max\":" << per.back()
    << ",\"reps\":" << per.size() << ",\"calls\":" << calls;
  return o.str();
}

void fill(memory& m, float lo, float hi, unsigned seed) {
  float* p = static_cast<float*>(m.get_data_handle());
  const size_t n = m.get_desc().get_size() / sizeof(float);
  unsigned s = seed ? seed : 1;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    p[i] = lo + (hi - lo) * static_cast<float>(s) / 4294967296.0f;
  }
}

std::string run_case(const std::string& line, engine& eng, stream& strm, const Sampling& s) {
  std::istringstream in(line);
  std::string id, op, layout, kind;
  int training = 0;
  in >> id >> op >> training >> layout >> kind;
  memory::dims dims;
  for (memory::dim d; in >> d;) dims.push_back(d);
  const bool latency = kind == "latency";
  const float eps = 1e-5f;
  std::string head = "{\"id\":\"" + id + "\"";

  try {
    memory::desc data_md;
    if (dims.size() == 2) {
      data_md = memory::desc(dims, dt::f32, tag::ab);
    } else if (dims.size() == 3) {
      data_md = memory::desc(dims, dt::f32, tag::abc);
    } else if (dims.size() == 4) {
      data_md = memory::desc(dims, dt::f32, layout == "channels_last" ? tag::nhwc : tag::nchw);
    } else {
      return head + ",\"error\":\"unsupported rank\"}";
    }
    memory src(data_md, eng), dst(data_md, eng);
    fill(src, -2, 3, 12345);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    const memory::dim params = op == "layerNorm" ? dims.back() : dims[1];
    const memory::desc param_md({params}, dt::f32, tag::a);
    memory scale(param_md, eng), shift(param_md, eng);
    fill(scale, 0.5f, 1.5f, 7);
    fill(shift, -0.5f, 0.5f, 11);
    args[DNNL_ARG_SCALE] = scale;
    args[DNNL_ARG_SHIFT] = shift;
    const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;

    primitive prim;
    std::string impl;
    if (op == "layerNorm") {
      // Inference unless the case says training (then the mean and variance are written too).
      const auto prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
#if DNNL_VERSION_MAJOR >= 3
      layer_normalization_forward::primitive_desc pd(eng, prop, data_md, data_md, eps, flags);
#else
      layer_normalization_forward::primitive_desc pd({prop, data_md, eps, flags}, eng);
#endif
      impl = pd.impl_info_str();
      if (training) {
        args[DNNL_ARG_MEAN] = memory(pd.mean_desc(), eng);
        args[DNNL_ARG_VARIANCE] = memory(pd.variance_desc(), eng);
      }
      prim = layer_normalization_forward(pd);
    } else if (op == "batchNorm") {
      const auto bn_flags = training ? flags : (flags | normalization_flags::use_global_stats);
      const auto prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
#if DNNL_VERSION_MAJOR >= 3
      batch_normalization_forward::primitive_desc pd(eng, prop, data_md, data_md, eps, bn_flags);
#else
      batch_normalization_forward::primitive_desc pd({prop, data_md, eps, bn_flags}, eng);
#endif
      impl = pd.impl_info_str();
      memory mean(pd.mean_desc(), eng), var(pd.variance_desc(), eng);
      fill(mean, -0.5f, 0.5f, 13);
      fill(var, 0.5f, 2.0f, 17);
      args[DNNL_ARG_MEAN] = mean;
      args[DNNL_ARG_VARIANCE] = var;
      prim = batch_normalization_forward(pd);
    } else {
      return head + ",\"error\":\"no oneDNN primitive for " + op + "\"}";
    }
    const std::string stats = measure(
        [&] {
          prim.execute(strm, args);
          strm.wait();
        },
        s, latency);
    return head + ",\"impl\":\"" + impl + "\"," + stats + "}";
  } catch (const dnnl::error& e) {
    return head + ",\"error\":\"" + std::string(e.what()) + "\"}";
  }
}

const char* isa_name(cpu_isa isa) {
  switch (isa) {
    case cpu_isa::sse41:
      return "sse41";
    case cpu_isa::avx:
      return "avx";
    case cpu_isa::avx2:
      return "avx2";
    case cpu_isa::avx512_core:
      return "avx512_core";
    case cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    default:
      return "other";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr,
                 "usage: peer threads budgetS minReps maxReps warmupS minWarmup sampleS < cases\n");
    return 2;
  }
  const int threads = std::atoi(argv[1]);
  const Sampling s{std::atof(argv[2]), std::atof(argv[5]), std::atof(argv[7]),
                   std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[6])};
  omp_set_num_threads(threads);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const dnnl_version_t* v = dnnl_version();
  std::printf("{\"version\":\"%d.%d.%d\",\"isa\":\"%s\",\"threads\":%d}\n", v->major, v->minor,
              v->patch, isa_name(get_effective_cpu_isa()), omp_get_max_threads());
  std::fflush(stdout);
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty()) continue;
    std::printf("%s\n", run_case(line, eng, strm, s).c_str());
    std::fflush(stdout);
  }
  return 0;
}
