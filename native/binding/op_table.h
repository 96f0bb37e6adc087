// The binding's view of an op: its kernel arguments as declared by the op's descriptor
// (lib/ops/<op>.ts), and a call of its kernel. The table itself, kOps, is generated into
// ops.gen.h by scripts/gen-ops.js; nothing here names an op.
#pragma once

#include <cstdint>

#include "binding/common.h"

namespace normkit::binding {

enum class ArgKind { kF32, kF32OrNull, kSize, kBool, kNumber };

// As in lib/op.ts: input and param arrays are read; state arrays are updated in place when their
// `written_when` flag is true and are otherwise read (and then required); output and saved
// arrays are written.
enum class Role { kInput, kParam, kState, kOutput, kSaved, kSize, kFlag, kScalar };

constexpr int kMaxArgs = 16;

struct ArgSpec {
  ArgKind kind;
  Role role;
  const char* label;  // the public argument, as error messages name it
  int length[3];      // indices of the size arguments whose product is the array's length
  int length_count;
  int in_place[2];  // arrays this written array may be identical to
  int in_place_count;
  int written_when;  // for states: the flag argument under which they are written, else -1
};

// The unwrapped arguments of one call, by position.
class Args {
 public:
  float* f32(int i) const { return spans_[i].data; }
  int64_t size(int i) const { return ints_[i]; }
  bool flag(int i) const { return ints_[i] != 0; }
  double number(int i) const { return numbers_[i]; }

  FloatSpan spans_[kMaxArgs];
  int64_t ints_[kMaxArgs];
  double numbers_[kMaxArgs];
};

struct OpEntry {
  const char* name;  // the kernel's name on the addon (layerNormForward)
  const ArgSpec* args;
  int count;
  void (*run)(const Args&);
};

}  // namespace normkit::binding
