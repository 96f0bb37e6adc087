// The one binding of every op: unwraps each argument by its declared kind, re-checks lengths
// against the sizes, checks that written arrays share no memory with any other argument (by
// address range, so two SharedArrayBuffer objects over the same memory count as one), then calls
// the kernel. Errors are worded as the TypeScript layer words them and name the public argument.
#include <napi.h>

#include <string>

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

Napi::Value CallOp(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const OpEntry& op = *static_cast<const OpEntry*>(info.Data());
  Args a;
  // Scalars first: the sizes give the arrays' lengths.
  for (int i = 0; i < op.count; ++i) {
    const ArgSpec& s = op.args[i];
    switch (s.kind) {
      case ArgKind::kSize:
        a.ints_[i] = size_arg(info, i, s.label);
        break;
      case ArgKind::kBool:
        a.ints_[i] = bool_arg(info, i, s.label) ? 1 : 0;
        break;
      case ArgKind::kNumber:
        a.numbers_[i] = number_arg(info, i, s.label);
        break;
      default:
        break;
    }
  }
  // The arrays present, and which of them the call writes.
  int present[kMaxArgs];
  bool writes[kMaxArgs];
  int n = 0;
  for (int i = 0; i < op.count; ++i) {
    const ArgSpec& s = op.args[i];
    if (!is_array(s)) continue;
    int64_t length = 1;
    for (int k = 0; k < s.length_count; ++k) length = checked_product(env, length, a.size(s.length[k]));
    const bool required = s.kind == ArgKind::kF32 ||
                          (s.role == Role::kState && !a.flag(s.written_when));
    a.spans_[i] = float_array(info, i, s.label, length, !required);
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
  op.run(a);
  return env.Undefined();
}

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
  for (const OpEntry& op : kOps) {
    exports.Set(op.name, Napi::Function::New(env, CallOp, op.name, const_cast<OpEntry*>(&op)));
  }
}

}  // namespace normkit::binding
