// The one binding of every op: unwraps each argument by its declared kind, re-checks lengths
// against the sizes, checks that written arrays share no memory with any other argument (by
// address range, so two SharedArrayBuffer objects over the same memory count as one), then calls
// the kernel. Errors are worded as the TypeScript layer words them and name the public argument.
#include <napi.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "binding/bindings.h"
#include "binding/common.h"
#include "binding/op_table.h"
#include "binding/ops.gen.h"

namespace normkit::binding {

namespace {

bool written(const OpEntry& op, const Args& a, int i) {
  const Role r = op.args[i].role;
  if (r == Role::kOutput || r == Role::kSaved) return true;
  return r == Role::kState && a.flag(op.args[i].written_when);
}

bool is_array(const ArgSpec& s) { return s.kind == ArgKind::kF32 || s.kind == ArgKind::kF32OrNull; }

bool allowed_in_place(const ArgSpec& s, int other) {
  for (int k = 0; k < s.in_place_count; ++k)
    if (s.in_place[k] == other) return true;
  return false;
}

bool overlaps(const FloatSpan& a, const FloatSpan& b) {
  if (a.length == 0 || b.length == 0) return false;
  return a.data < b.data + b.length && b.data < a.data + a.length;
}

// Unwraps and re-checks the arguments of `op` starting at info[first]; throws on a bad one.
// Fills `held` with the positions of the arrays present (for the async path's references).
void Unwrap(const Napi::CallbackInfo& info, const OpEntry& op, size_t first, Args& a, int* held,
            int& held_count) {
  const Napi::Env env = info.Env();
  // Scalars first: the sizes give the arrays' lengths.
  for (int i = 0; i < op.count; ++i) {
    const ArgSpec& s = op.args[i];
    switch (s.kind) {
      case ArgKind::kSize:
        a.ints_[i] = size_arg(info, first + i, s.label);
        break;
      case ArgKind::kBool:
        a.ints_[i] = bool_arg(info, first + i, s.label) ? 1 : 0;
        break;
      case ArgKind::kNumber:
        a.numbers_[i] = number_arg(info, first + i, s.label);
        break;
      default:
        break;
    }
  }
  // The arrays present, and which of them the call writes.
  int present[kMaxArgs];
  bool writes[kMaxArgs];
  int n = 0;
  held_count = 0;
  for (int i = 0; i < op.count; ++i) {
    const ArgSpec& s = op.args[i];
    if (!is_array(s)) continue;
    int64_t length = 1;
    for (int k = 0; k < s.length_count; ++k)
      length = checked_product(env, length, a.size(s.length[k]));
    const bool required =
        s.kind == ArgKind::kF32 || (s.role == Role::kState && !a.flag(s.written_when));
    a.spans_[i] = float_array(info, first + i, s.label, length, !required);
    if (a.spans_[i]) held[held_count++] = i;
    if (a.spans_[i] && a.spans_[i].length > 0) {  // an empty array shares no memory
      present[n] = i;
      writes[n++] = written(op, a, i);
    }
  }
  for (int p = 0; p < n; ++p) {
    if (!writes[p]) continue;
    const int i = present[p];
    for (int q = 0; q < n; ++q) {
      const int j = present[q];
      if (j == i) continue;
      const FloatSpan &w = a.spans_[i], &o = a.spans_[j];
      const bool same = w.data == o.data && w.length == o.length;
      if (same && allowed_in_place(op.args[i], j)) continue;
      if (same || overlaps(w, o)) {
        range_error(env, std::string("Expected memory apart from ") + op.args[j].label + " for " +
                             op.args[i].label + ", but received " +
                             (same ? std::string(op.args[j].label) + " itself"
                                   : std::string("a view of ") + op.args[j].label));
      }
    }
  }
}

// An empty input with no saved statistics asked for: nothing is written, as in the reference
// (an empty batch leaves running statistics alone). The kernel is not called, so sizes such as
// 2^40 channels of nothing cost neither time nor scratch memory.
bool NothingToDo(const OpEntry& op, const Args& a) {
  for (int i = 0; i < op.count; ++i) {
    const ArgSpec& s = op.args[i];
    if (s.role == Role::kSaved && a.spans_[i]) return false;
    if (s.role == Role::kInput && a.spans_[i].length > 0) return false;
  }
  return true;
}

// A kernel's scratch for sizes that do not fit in memory (channels = 2^40 of an empty batch)
// throws std::bad_alloc; nothing may escape into N-API, which would end the process.
void RunChecked(const Napi::Env& env, const OpEntry& op, const Args& a) {
  if (NothingToDo(op, a)) return;
  try {
    op.run(a);
  } catch (const std::bad_alloc&) {
    range_error(env,
                "Expected sizes whose working memory fits in memory for input.shape, but "
                "received sizes it cannot allocate");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("normkit: kernel failed: ") + e.what());
  }
}

Napi::Value CallOp(const Napi::CallbackInfo& info) {
  const OpEntry& op = *static_cast<const OpEntry*>(info.Data());
  Args a;
  int held[kMaxArgs];
  int held_count = 0;
  Unwrap(info, op, 0, a, held, held_count);
  RunChecked(info.Env(), op, a);
  return info.Env().Undefined();
}

// One async call: the arguments unwrapped and checked on the calling thread, the arrays held by
// references until completion, the kernel run on the libuv pool. State arrays (running
// statistics) are updated in a private copy and copied back on the calling thread at completion,
// so JavaScript sees them change all at once, when the promise settles. `cancel` is an
// Int32Array(1) the caller sets to 1 on abort: a call that has not started by then does nothing
// and rejects with an AbortError.
class OpWork {
 public:
  OpWork(napi_env env, const OpEntry& op) : env_(env), op_(op) {}

  static Napi::Value Start(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const OpEntry& op = *static_cast<const OpEntry*>(info.Data());
    auto work = std::make_unique<OpWork>(env, op);
    // info[0] is the cancel flag; the op's arguments follow.
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value buffer;
    size_t offset = 0;
    if (napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, &offset) !=
            napi_ok ||
        type != napi_int32_array || length != 1) {
      type_error(env, "Expected an Int32Array(1) for cancel, but received " + describe(info[0]));
    }
    work->cancel_ = static_cast<volatile int32_t*>(data);
    int held[kMaxArgs];
    int held_count = 0;
    Unwrap(info, op, 1, work->args_, held, held_count);
    work->refs_.push_back(Napi::Persistent(info[0]));
    for (int k = 0; k < held_count; ++k) {
      const int i = held[k];
      work->refs_.push_back(Napi::Persistent(info[1 + i]));
      if (op.args[i].role == Role::kState && work->args_.flag(op.args[i].written_when)) {
        FloatSpan& s = work->args_.spans_[i];
        work->states_.push_back({i, s.data, std::vector<float>(s.data, s.data + s.length)});
      }
    }
    for (State& st : work->states_) work->args_.spans_[st.index].data = st.copy.data();
    napi_value promise;
    NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &work->deferred_, &promise), Napi::Value());
    napi_value name = Napi::String::New(env, op.name);
    NAPI_THROW_IF_FAILED(
        env,
        napi_create_async_work(env, nullptr, name, Execute, Complete, work.get(), &work->work_),
        Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_queue_async_work(env, work->work_), Napi::Value());
    work.release();  // owned by the queued work until Complete
    return Napi::Value(env, promise);
  }

 private:
  struct State {
    int index;
    float* target;
    std::vector<float> copy;
  };

  static void Execute(napi_env, void* data) {
    OpWork* w = static_cast<OpWork*>(data);
    if (*w->cancel_ != 0) {
      w->cancelled_ = true;
      return;
    }
    if (NothingToDo(w->op_, w->args_)) return;
    try {
      w->op_.run(w->args_);
    } catch (const std::bad_alloc&) {
      w->error_ =
          "Expected sizes whose working memory fits in memory for input.shape, but "
          "received sizes it cannot allocate";
    } catch (const std::exception& e) {
      w->error_ = std::string("normkit: kernel failed: ") + e.what();
    }
  }

  static void Complete(napi_env env, napi_status status, void* data) {
    std::unique_ptr<OpWork> w(static_cast<OpWork*>(data));
    Napi::HandleScope scope(env);
    napi_delete_async_work(env, w->work_);
    if (status == napi_cancelled || w->cancelled_) {
      napi_value global, ctor, message, error;
      napi_get_global(env, &global);
      napi_get_named_property(env, global, "DOMException", &ctor);
      napi_create_string_utf8(env, "This operation was aborted", NAPI_AUTO_LENGTH, &message);
      napi_value args[2] = {message, Napi::String::New(env, "AbortError")};
      if (napi_new_instance(env, ctor, 2, args, &error) != napi_ok) {
        napi_get_and_clear_last_exception(env, &error);
      }
      napi_reject_deferred(env, w->deferred_, error);
      return;
    }
    if (!w->error_.empty()) {
      // The kernel did not finish: the running statistics keep their values (their private copy
      // is dropped), the promise rejects.
      napi_value message, error;
      napi_create_string_utf8(env, w->error_.c_str(), NAPI_AUTO_LENGTH, &message);
      napi_create_range_error(env, nullptr, message, &error);
      napi_reject_deferred(env, w->deferred_, error);
      return;
    }
    for (State& st : w->states_) std::copy(st.copy.begin(), st.copy.end(), st.target);
    napi_resolve_deferred(env, w->deferred_, Napi::Env(env).Undefined());
  }

  napi_env env_;
  const OpEntry& op_;
  Args args_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  std::vector<State> states_;
  volatile int32_t* cancel_ = nullptr;
  bool cancelled_ = false;
  std::string error_;
  napi_deferred deferred_ = nullptr;
  napi_async_work work_ = nullptr;
};

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
  for (const OpEntry& op : kOps) {
    void* data = const_cast<OpEntry*>(&op);
    exports.Set(op.name, Napi::Function::New(env, CallOp, op.name, data));
    const std::string async_name = std::string(op.name) + "Async";
    exports.Set(async_name, Napi::Function::New(env, OpWork::Start, async_name, data));
  }
}

}  // namespace normkit::binding
