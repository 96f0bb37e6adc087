// Per-call working memory that lives on the stack when small. Small calls (BatchNorm eval of a
// single 64-channel vector) would otherwise spend more time in malloc than in arithmetic.
#pragma once

#include <cstddef>
#include <memory>
#include "kernels/tier.h"

namespace normkit {
NORMKIT_TIER_BEGIN

template <typename T, size_t kInline>
class Scratch {
 public:
  explicit Scratch(size_t n) : data_(n <= kInline ? inline_ : new T[n]) {
    if (n > kInline) heap_.reset(data_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T inline_[kInline];
  T* data_;
  std::unique_ptr<T[]> heap_;
};

NORMKIT_TIER_END
}  // namespace normkit
