// cli: the interactive terminal. Lines printed from any thread appear above the line being
// typed, which is then redrawn intact: incoming messages never garble the user's input.
#pragma once

#include <termios.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/line_editor.hpp"
#include "cli/live_area.hpp"

namespace peerchat::cli {

class Terminal {
 public:
  explicit Terminal(int in_fd = 0, int out_fd = 1);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  static bool is_interactive(int fd);

  // Thread-safe; shown at the next redraw.
  void set_prompt(std::string prompt);
  // Thread-safe: queues text (one or more lines) to print above the input line.
  void print(std::string text);
  // Thread-safe: a line kept just above the input line and redrawn in place (a progress
  // bar), under `key`; an empty line removes it.
  void set_live(const std::string& key, std::string line);

  // The terminal thread's loop: edits input, calls on_line for each submitted line, until
  // stop() or the input ends. Ctrl-C calls on_interrupt; Ctrl-D on an empty line calls on_eof.
  void run(const std::function<void(std::string)>& on_line,
           const std::function<void()>& on_interrupt, const std::function<void()>& on_eof);
  // Thread-safe.
  void stop();

 private:
  void wake();
  // Prints what is queued, after `submitted` (the prompt and line just entered), and redraws
  // the live lines and the input line below it.
  void flush_printed(std::optional<std::string> submitted = std::nullopt);
  void redraw();
  std::size_t columns() const;
  void write_all(const std::string& bytes);
  void restore();

  int in_fd_;
  int out_fd_;
  int wake_[2] = {-1, -1};
  termios saved_{};
  bool raw_ = false;
  LineEditor editor_;

  std::mutex mutex_;  // guards the fields below, shared with other threads
  std::vector<std::string> queued_;
  LiveArea live_;
  bool live_changed_ = false;
  std::string prompt_ = "> ";
  bool stopping_ = false;
};

}  // namespace peerchat::cli
