#include "cli/live_area.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace peerchat::cli {

void LiveArea::set(const std::string& key, std::string line) {
  auto it = std::find_if(lines_.begin(), lines_.end(),
                         [&](const auto& entry) { return entry.first == key; });
  if (line.empty()) {
    if (it != lines_.end()) lines_.erase(it);
  } else if (it != lines_.end()) {
    it->second = std::move(line);
  } else {
    lines_.emplace_back(key, std::move(line));
  }
}

std::string LiveArea::repaint(const std::vector<std::string>& printed, std::size_t columns) {
  // Up to the first live line, then erase everything below: old live lines and the input.
  std::string out = "\r";
  if (drawn_ > 0) out += fmt::format("\x1b[{}A", drawn_);
  out += "\x1b[J";
  for (const auto& text : printed) {
    out += text;
    if (text.empty() || text.back() != '\n') out += '\n';
  }
  // One column spare: a line that fills the last column makes some terminals wrap.
  const std::size_t width = columns > 1 ? columns - 1 : 1;
  for (const auto& [key, line] : lines_) {
    out += fit_width(line, width);
    out += '\n';
  }
  drawn_ = lines_.size();
  return out;
}

std::string fit_width(std::string_view text, std::size_t columns) {
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::size_t points = 0;
  for (char c : text) points += continuation(c) ? 0u : 1u;
  if (points <= columns) return std::string(text);
  if (columns == 0) return {};
  // Keep columns - 1 code points, then the ellipsis.
  std::size_t kept = 0;
  std::size_t end = 0;
  while (end < text.size()) {
    if (!continuation(text[end])) {
      if (kept == columns - 1) break;
      ++kept;
    }
    ++end;
  }
  return std::string(text.substr(0, end)) + "\xE2\x80\xA6";
}

}  // namespace peerchat::cli
