#pragma once

#include <napi.h>

namespace normkit::binding {

Napi::Value LayerNormForward(const Napi::CallbackInfo& info);
Napi::Value BatchNormForward(const Napi::CallbackInfo& info);
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);
Napi::Value HardwareThreads(const Napi::CallbackInfo& info);
Napi::Value HasOpenMP(const Napi::CallbackInfo& info);
Napi::Value SimdPath(const Napi::CallbackInfo& info);
Napi::Value CopyBaseline(const Napi::CallbackInfo& info);

}  // namespace normkit::binding
