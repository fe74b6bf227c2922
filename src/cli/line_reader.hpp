// cli: reads command lines from a non-terminal stdin (pipes, scripts) on its own thread,
// and can be stopped from another thread without closing stdin.
#pragma once

#include <functional>
#include <string>

namespace peerchat::cli {

class LineReader {
 public:
  explicit LineReader(int fd = 0);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Blocks until EOF or stop(); calls on_line for each line (without the newline).
  void run(const std::function<void(std::string)>& on_line, const std::function<void()>& on_eof);
  // Thread-safe.
  void stop();

 private:
  int fd_;
  int wake_[2] = {-1, -1};
};

}  // namespace peerchat::cli
