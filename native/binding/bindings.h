#pragma once

#include <napi.h>

namespace normkit::binding {

// Every op of the generated table (ops.gen.h), each under its kernel's name.
void RegisterOps(Napi::Env env, Napi::Object exports);

// Runtime functions (runtime.cc).
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);
Napi::Value HardwareThreads(const Napi::CallbackInfo& info);
Napi::Value Multithreaded(const Napi::CallbackInfo& info);
Napi::Value PoolThreads(const Napi::CallbackInfo& info);
Napi::Value SimdPath(const Napi::CallbackInfo& info);
Napi::Value CopyBaseline(const Napi::CallbackInfo& info);

}  // namespace normkit::binding
