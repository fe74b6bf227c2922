// cli: back-pressure for command lines read from a pipe (--json scripts): the reader thread
// may have only a small window of lines handed to the I/O thread and not yet done; a line that
// has to wait (its peer's queue is full) holds up every line after it, in order, until the
// queue drains. So a script writing faster than a peer can take gets every line queued and
// delivered in order, and memory stays bounded, instead of queue_full errors.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace peerchat::cli {

class InputFlow {
 public:
  // `run_line` runs on the I/O thread and returns false when the line must wait; `post` hands
  // a function to the I/O thread.
  InputFlow(std::function<bool(const std::string&)> run_line,
            std::function<void(std::function<void()>)> post, std::size_t window = 256);

  // Reader thread: blocks while the window is full (or until stop()), then hands `line` over.
  // False once stopped.
  bool submit(std::string line);
  // The same for several lines at once (one read's worth), handed over together: the window
  // may be overrun by at most one such batch.
  bool submit_all(std::vector<std::string> lines);
  // Reader thread or any: unblocks submit for good.
  void stop();

  // I/O thread: something freed room (a delivery); lines that waited are offered again.
  void retry();
  std::size_t waiting() const { return held_.size(); }

 private:
  void arrive(std::string line);  // I/O thread
  // I/O thread: runs `line`, or holds it (and every later line) until retry(); true if it ran.
  bool run_or_hold(std::string line);
  void release(std::size_t lines);

  std::function<bool(const std::string&)> run_line_;
  std::function<void(std::function<void()>)> post_;
  const std::size_t window_;

  std::mutex mutex_;
  std::condition_variable room_;
  std::size_t in_flight_ = 0;  // submitted, not yet done (guarded by mutex_)
  bool stopped_ = false;

  std::deque<std::string> held_;  // I/O thread only: lines waiting, in order
};

}  // namespace peerchat::cli
