// services/transfer: small helpers the service's files share.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "services/transfer/frames.hpp"
#include "services/transfer/view.hpp"
#include "util/codes.hpp"

namespace peerchat::transfer {

// The pool's key for one transfer: its jobs run in order.
inline std::uint64_t key_of(const TransferId& id) {
  std::uint64_t key = 0;
  for (std::size_t i = 0; i < sizeof key; ++i) key = key << 8 | id[i];
  return key;
}

inline std::string short_hex(const TransferId& id) {
  return to_hex(id).substr(0, 8);
}

// A STATUS or CANCEL reason that names its code: "disk_full: no space left ...", so the other
// side reports the same code its user would see here.
inline std::string coded_message(Code code, std::string_view message) {
  std::string text = fmt::format("{}: {}", name(code), message);
  if (text.size() > kMaxReasonBytes) {
    // Cut on a character boundary: the reason must stay UTF-8.
    std::size_t cut = kMaxReasonBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  return text;
}

// The code and text of a coded reason; transfer_failed when it names none this version knows.
inline std::pair<Code, std::string> parse_coded(std::string_view text) {
  const auto colon = text.find(": ");
  if (colon != std::string_view::npos) {
    if (auto code = code_from_name(text.substr(0, colon))) {
      return {*code, std::string(text.substr(colon + 2))};
    }
  }
  return {Code::transfer_failed, std::string(text)};
}

}  // namespace peerchat::transfer
