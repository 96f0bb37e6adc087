{
  # The kernels (native/kernels/*.cc but dispatch.cc and simd.cc) are compiled once per SIMD tier,
  # each a static library with that tier's instruction-set flags and NORMKIT_TIER_<TIER> (the
  # namespace its code lives in, kernels/tier.h), as ATen builds its kernels once per
  # CPU_CAPABILITY; kernels/dispatch.cc picks one at run time. No flag tuned to the build machine: the
  # binary runs on every CPU of its platform. Adding an op adds a file, never a line here.
  "variables": {
    "kernel_sources": ["<!@(node -p \"require('./native/sources.js').kernels.join(' ')\")"]
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-fno-exceptions", "-O2", "-O3"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17", "-O2"],
    # -fopenmp-simd: the kernels' `#pragma omp simd` loops, without the OpenMP runtime (the
    # threads are normkit's own pool, native/parallel.cc).
    # -fvisibility=hidden: the addon exports only its Node-API entry points. With default
    # visibility GCC makes each inline variable (the binding's op tables) a GNU unique symbol,
    # which the dynamic linker binds process-wide even across RTLD_LOCAL libraries: a second copy
    # of normkit in the process (two versions in one dependency tree) used the first copy's op
    # tables, and so its argument layout and its kernels.
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-fno-math-errno", "-fopenmp-simd", "-pthread", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
    "conditions": [
      ["OS=='mac'", {
        "xcode_settings": {
          "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
          "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
          "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fopenmp-simd", "-fvisibility=hidden", "-fvisibility-inlines-hidden"]
        }
      }]
    ]
  },
  "targets": [
    {
      "target_name": "normkit",
      # The binding, the runtime, the thread budget and the tier table, for the platform's
      # baseline. The baseline tier's library comes first among the kernels: where an inline
      # function of the standard library is emitted by several tiers, the linker keeps the first
      # copy, so it is one any CPU runs.
      "sources": ["<!@(node -p \"require('./native/sources.js').common.join(' ')\")"],
      "conditions": [
        # -z nodelete: the addon stays loaded once loaded. A worker thread that loaded it and
        # exits would otherwise unload it under the pool's threads, which live on.
        ["OS=='linux'", {
          "ldflags": ["-pthread", "-Wl,-z,nodelete"]
        }],
        ["target_arch=='x64'", {
          "dependencies": ["kernels_baseline", "kernels_avx2", "kernels_avx512"]
        }],
        ["target_arch=='arm64'", {
          "dependencies": ["kernels_neon"]
        }],
        ["target_arch!='x64' and target_arch!='arm64'", {
          "dependencies": ["kernels_baseline"]
        }]
      ]
    },
    {
      # SSE2 on x86-64 (every such CPU has it); plain C++ on other CPUs without a tier.
      "target_name": "kernels_baseline",
      "type": "static_library",
      "sources": ["<@(kernel_sources)"],
      "defines": ["NORMKIT_TIER_BASELINE"],
      "cflags_cc": ["-fPIC"]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "kernels_avx2",
          "type": "static_library",
          "sources": ["<@(kernel_sources)"],
          "defines": ["NORMKIT_TIER_AVX2"],
          "cflags_cc": ["-fPIC", "-mavx2", "-mfma"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-O3", "-fopenmp-simd", "-mavx2", "-mfma"]}
        },
        {
          "target_name": "kernels_avx512",
          "type": "static_library",
          "sources": ["<@(kernel_sources)"],
          "defines": ["NORMKIT_TIER_AVX512"],
          "cflags_cc": ["-fPIC", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma", "-mbmi2"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-O3", "-fopenmp-simd", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma", "-mbmi2"]}
        }
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "kernels_neon",
          "type": "static_library",
          "sources": ["<@(kernel_sources)"],
          "defines": ["NORMKIT_TIER_NEON"],
          "cflags_cc": ["-fPIC"]
        }
      ]
    }]
  ]
}
