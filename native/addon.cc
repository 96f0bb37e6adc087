// Module init: registers every op from the generated table and the runtime functions.
#include <napi.h>

#include "binding/bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace normkit::binding;
  RegisterOps(env, exports);
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("hardwareThreads", Napi::Function::New(env, HardwareThreads, "hardwareThreads"));
  exports.Set("multithreaded", Napi::Function::New(env, Multithreaded, "multithreaded"));
  // The name of the OpenMP builds, kept for existing callers: the same answer as multithreaded.
  exports.Set("hasOpenMP", Napi::Function::New(env, Multithreaded, "hasOpenMP"));
  exports.Set("poolThreads", Napi::Function::New(env, PoolThreads, "poolThreads"));
  exports.Set("simdPath", Napi::Function::New(env, SimdPath, "simdPath"));
  exports.Set("copyBaseline", Napi::Function::New(env, CopyBaseline, "copyBaseline"));
  return exports;
}

}  // namespace

NODE_API_MODULE(normkit, Init)
