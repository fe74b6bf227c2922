#include "cli/line_editor.hpp"

#include <fmt/format.h>

namespace peerchat::cli {
namespace {

constexpr std::size_t kHistoryLimit = 500;

bool is_continuation(char byte) {
  return (static_cast<unsigned char>(byte) & 0xC0) == 0x80;
}

std::size_t utf8_length(char lead) {
  const auto byte = static_cast<unsigned char>(lead);
  if (byte >= 0xF0) return 4;
  if (byte >= 0xE0) return 3;
  if (byte >= 0xC0) return 2;
  return 1;
}

std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += is_continuation(c) ? 0u : 1u;
  return count;
}

}  // namespace

std::size_t LineEditor::previous_boundary(std::size_t from) const {
  if (from == 0) return 0;
  std::size_t at = from - 1;
  while (at > 0 && is_continuation(input_[at])) --at;
  return at;
}

std::size_t LineEditor::next_boundary(std::size_t from) const {
  if (from >= input_.size()) return input_.size();
  std::size_t at = from + 1;
  while (at < input_.size() && is_continuation(input_[at])) ++at;
  return at;
}

void LineEditor::recall(std::size_t index) {
  history_index_ = index;
  input_ = index == history_.size() ? draft_ : history_[index];
  cursor_ = input_.size();
}

LineEditor::Action LineEditor::feed(char byte) {
  if (in_escape_) return handle_escape(byte);
  const auto value = static_cast<unsigned char>(byte);
  switch (value) {
    case '\r':
    case '\n':
      submitted_ = input_;
      if (!input_.empty() && (history_.empty() || history_.back() != input_)) {
        history_.push_back(input_);
        if (history_.size() > kHistoryLimit) history_.pop_front();
      }
      input_.clear();
      draft_.clear();
      cursor_ = 0;
      history_index_ = history_.size();
      return Action::submit;
    case 0x03:
      return Action::interrupt;  // Ctrl-C
    case 0x04:                   // Ctrl-D
      if (input_.empty()) return Action::eof;
      if (cursor_ == input_.size()) return Action::none;
      input_.erase(cursor_, next_boundary(cursor_) - cursor_);
      return Action::redraw;
    case 0x0C:
      return Action::clear_screen;  // Ctrl-L
    case 0x7F:
    case 0x08:  // Backspace
      if (cursor_ == 0) return Action::none;
      {
        const std::size_t start = previous_boundary(cursor_);
        input_.erase(start, cursor_ - start);
        cursor_ = start;
      }
      return Action::redraw;
    case 0x01:
      cursor_ = 0;
      return Action::redraw;  // Ctrl-A
    case 0x05:
      cursor_ = input_.size();
      return Action::redraw;  // Ctrl-E
    case 0x02:
      cursor_ = previous_boundary(cursor_);
      return Action::redraw;  // Ctrl-B
    case 0x06:
      cursor_ = next_boundary(cursor_);
      return Action::redraw;  // Ctrl-F
    case 0x15:                // Ctrl-U: kill to start
      input_.erase(0, cursor_);
      cursor_ = 0;
      return Action::redraw;
    case 0x0B:  // Ctrl-K: kill to end
      input_.erase(cursor_);
      return Action::redraw;
    case 0x17: {  // Ctrl-W: delete the word before the cursor
      std::size_t start = cursor_;
      while (start > 0 && input_[start - 1] == ' ') --start;
      while (start > 0 && input_[start - 1] != ' ') --start;
      input_.erase(start, cursor_ - start);
      cursor_ = start;
      return Action::redraw;
    }
    case 0x1B:
      in_escape_ = true;
      escape_.clear();
      return Action::none;
    default:
      if (value < 0x20) return Action::none;  // other controls never reach the line
      return insert(byte);
  }
}

LineEditor::Action LineEditor::insert(char byte) {
  if (pending_utf8_.empty() && is_continuation(byte)) return Action::none;  // stray byte
  pending_utf8_.push_back(byte);
  if (pending_utf8_.size() < utf8_length(pending_utf8_.front())) return Action::none;
  input_.insert(cursor_, pending_utf8_);
  cursor_ += pending_utf8_.size();
  pending_utf8_.clear();
  return Action::redraw;
}

LineEditor::Action LineEditor::handle_escape(char byte) {
  escape_.push_back(byte);
  if (escape_.size() == 1) {
    if (byte == '[' || byte == 'O') return Action::none;
    in_escape_ = false;  // ESC + other: ignore both
    return Action::none;
  }
  // CSI parameters are digits and ';'; the final byte ends the sequence.
  if ((byte >= '0' && byte <= '9') || byte == ';') {
    if (escape_.size() > 16) in_escape_ = false;  // runaway sequence: drop it
    return Action::none;
  }
  in_escape_ = false;
  const std::string sequence = escape_.substr(1);
  if (sequence == "A") {
    if (history_index_ == 0) return Action::none;
    if (history_index_ == history_.size()) draft_ = input_;
    recall(history_index_ - 1);
  } else if (sequence == "B") {
    if (history_index_ >= history_.size()) return Action::none;
    recall(history_index_ + 1);
  } else if (sequence == "C") {
    cursor_ = next_boundary(cursor_);
  } else if (sequence == "D") {
    cursor_ = previous_boundary(cursor_);
  } else if (sequence == "H" || sequence == "1~" || sequence == "7~") {
    cursor_ = 0;
  } else if (sequence == "F" || sequence == "4~" || sequence == "8~") {
    cursor_ = input_.size();
  } else if (sequence == "3~") {
    if (cursor_ < input_.size()) input_.erase(cursor_, next_boundary(cursor_) - cursor_);
  } else {
    return Action::none;
  }
  return Action::redraw;
}

std::string LineEditor::take_line() {
  std::string line = std::move(submitted_);
  submitted_.clear();
  return line;
}

std::string LineEditor::render(std::string_view prompt) const {
  std::string out = "\r";
  out += prompt;
  out += input_;
  out += "\x1b[K";
  const std::size_t after = count_code_points(std::string_view(input_).substr(cursor_));
  if (after > 0) out += fmt::format("\x1b[{}D", after);
  return out;
}

}  // namespace peerchat::cli
