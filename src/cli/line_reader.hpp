// cli: reads command lines from a non-terminal stdin (pipes, scripts) on its own thread,
// and can be stopped from another thread without closing stdin.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace peerchat::cli {

class LineReader {
 public:
  explicit LineReader(int fd = 0);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Blocks until EOF or stop(); calls on_line for each line (without the newline).
  void run(const std::function<void(std::string)>& on_line, const std::function<void()>& on_eof);
  // The same, but the complete lines of each read come together, in order: one hand-over per
  // read instead of one per line.
  void run_batched(const std::function<void(std::vector<std::string>)>& on_lines,
                   const std::function<void()>& on_eof);
  // Thread-safe.
  void stop();

 private:
  int fd_;
  int wake_[2] = {-1, -1};
};

}  // namespace peerchat::cli
