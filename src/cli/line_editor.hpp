// cli: the REPL's line editing state, independent of any terminal so it can be unit tested.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace peerchat::cli {

class LineEditor {
 public:
  enum class Action { none, redraw, submit, interrupt, eof, clear_screen };

  // Processes one input byte; escape sequences may arrive split across calls.
  Action feed(char byte);
  // The submitted line (after Action::submit); clears the input.
  std::string take_line();
  // Bytes that redraw prompt and input from column 0 and put the cursor in place.
  // Every code point is taken as one column wide.
  std::string render(std::string_view prompt) const;

  const std::string& input() const { return input_; }
  std::size_t cursor() const { return cursor_; }

 private:
  Action handle_escape(char byte);
  Action insert(char byte);
  std::size_t previous_boundary(std::size_t from) const;
  std::size_t next_boundary(std::size_t from) const;
  void recall(std::size_t index);

  std::string input_;
  std::size_t cursor_ = 0;  // byte offset, always at a code point boundary
  std::string pending_utf8_;
  std::string escape_;  // bytes of an escape sequence in progress
  bool in_escape_ = false;
  std::deque<std::string> history_;
  std::size_t history_index_ = 0;  // == history_.size() when editing a new line
  std::string draft_;              // the new line while browsing history
  std::string submitted_;
};

}  // namespace peerchat::cli
