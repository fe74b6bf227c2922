// cli: the lines kept just above the REPL's input line and redrawn in place, such as a
// progress bar per transfer. Printed lines scroll up above them into the scrollback; these
// never do. Pure (bytes in, bytes out) so the redraw logic is unit tested without a terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerchat::cli {

class LiveArea {
 public:
  // Sets the line under `key` (new keys go last), or removes it when `line` is empty.
  void set(const std::string& key, std::string line);
  // Drops every line (the terminal is stopping).
  void clear() { lines_.clear(); }
  // After the screen was wiped (Ctrl-L): nothing of ours is drawn any more.
  void forget_drawn() { drawn_ = 0; }

  // With the cursor on the input line: bytes that erase the live lines drawn last time and
  // the input line, print `printed` (each ending in a newline; they stay in the scrollback),
  // then draw the live lines, each cut to fit in `columns` so none wraps, and leave the cursor
  // at the start of the (empty) input line, for the line editor to render into.
  std::string repaint(const std::vector<std::string>& printed, std::size_t columns);

  std::size_t size() const { return lines_.size(); }
  std::size_t drawn() const { return drawn_; }

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
  std::size_t drawn_ = 0;  // live lines on screen above the input line
};

// `text` cut to at most `columns` code points (each taken as one column wide), with "…" as
// its last when cut.
std::string fit_width(std::string_view text, std::size_t columns);

}  // namespace peerchat::cli
