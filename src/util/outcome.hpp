// util: what a command or an operation returns: its value, or a typed failure (a code from the
// registry and a sentence for people). Front ends decide how to show it: the REPL prints it, JSON
// commands answer with it under the caller's request ID.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "util/codes.hpp"

namespace peerchat {

struct Failure {
  Code code = Code::usage;
  std::string message;
};

template <class T>
class Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}              // NOLINT: implicit, like a Result
  Outcome(Failure failure) : failure_(std::move(failure)) {}  // NOLINT

  explicit operator bool() const { return value_.has_value(); }
  bool ok() const { return value_.has_value(); }
  const T& operator*() const { return *value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return &*value_; }
  const Failure& failure() const { return failure_; }

 private:
  std::optional<T> value_;
  Failure failure_;
};

}  // namespace peerchat
