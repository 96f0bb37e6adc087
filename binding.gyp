{
  "targets": [
    {
      "target_name": "normkit",
      "sources": [
        "native/addon.cc",
        "native/parallel.cc",
        "native/binding/common.cc",
        "native/binding/layer_norm.cc",
        "native/binding/batch_norm.cc",
        "native/binding/runtime.cc",
        "native/kernels/simd.cc",
        "native/kernels/layer_norm.cc",
        "native/kernels/batch_norm.cc",
        "native/kernels/copy.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-fno-math-errno", "-fopenmp-simd"],
      "conditions": [
        ["OS=='linux' and '<!(node native/detect-openmp.js)'=='1'", {
          "cflags_cc": ["-fopenmp"],
          "ldflags": ["-fopenmp"]
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
