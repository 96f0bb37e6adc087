{
  "targets": [
    {
      "target_name": "normkit",
      # Every C++ file of native/ (the kernels, one per op, included): adding an op adds a file,
      # never a line here.
      "sources": [
        "<!@(node -p \"require('./native/sources.js').join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17", "-O2"],
      # -fopenmp-simd: the kernels' `#pragma omp simd` loops, without the OpenMP runtime (the
      # threads are normkit's own pool, native/parallel.cc).
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-fno-math-errno", "-fopenmp-simd", "-pthread"],
      "conditions": [
        # -z nodelete: the addon stays loaded once loaded. A worker thread that loaded it and
        # exits would otherwise unload it under the pool's threads, which live on.
        ["OS=='linux'", {
          "ldflags": ["-pthread", "-Wl,-z,nodelete"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fopenmp-simd"]
          }
        }]
      ]
    }
  ]
}
