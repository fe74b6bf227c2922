// services/transfer: small helpers the service's files share.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "services/transfer/frames.hpp"
#include "services/transfer/manifest.hpp"
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

// "photos", or "a.txt and 3 more": the offer's top-level names.
inline std::string title_of(const Manifest& manifest) {
  std::vector<std::string> tops;
  std::set<std::string> seen;
  for (const auto& entry : manifest.entries) {
    std::string top = entry.path.substr(0, entry.path.find('/'));
    if (seen.insert(top).second) tops.push_back(std::move(top));
  }
  if (tops.empty()) return "nothing";
  if (tops.size() == 1) return tops[0];
  return fmt::format("{} and {} more", tops[0], tops.size() - 1);
}

// The files of a manifest as front ends list them (folders are implied by the paths).
inline std::vector<FileView> files_of(const Manifest& manifest) {
  std::vector<FileView> files;
  for (const auto& entry : manifest.entries) {
    if (entry.kind == EntryKind::file) {
      files.push_back(FileView{entry.path, entry.size, entry.sha256});
    }
  }
  return files;
}

}  // namespace peerchat::transfer
