#include "services/transfer/view.hpp"

namespace peerchat::transfer {

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (std::uint8_t byte : bytes) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

std::string_view state_name(State state) {
  switch (state) {
    case State::preparing:
      return "preparing";
    case State::offered:
      return "offered";
    case State::moving:
      return "moving";
    case State::paused:
      return "paused";
    case State::done:
      return "done";
    case State::failed:
      return "failed";
    case State::cancelled:
      return "cancelled";
    case State::declined:
      return "declined";
  }
  return "failed";
}

}  // namespace peerchat::transfer
