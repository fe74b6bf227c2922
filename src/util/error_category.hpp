// util: one std::error_category per layer's error enum, without repeating the class each time.
#pragma once

#include <string>
#include <system_error>

namespace peerchat {

// `describe` turns one enum value into a short phrase; `name` names the layer.
template <class Enum>
class EnumCategory final : public std::error_category {
 public:
  using Describe = const char* (*)(Enum);
  EnumCategory(const char* name, Describe describe) : name_(name), describe_(describe) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int value) const override { return describe_(static_cast<Enum>(value)); }

 private:
  const char* name_;
  Describe describe_;
};

}  // namespace peerchat
