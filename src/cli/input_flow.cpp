#include "cli/input_flow.hpp"

namespace peerchat::cli {

InputFlow::InputFlow(std::function<bool(const std::string&)> run_line,
                     std::function<void(std::function<void()>)> post, std::size_t window)
    : run_line_(std::move(run_line)), post_(std::move(post)), window_(window) {}

bool InputFlow::submit(std::string line) {
  {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return stopped_ || in_flight_ < window_; });
    if (stopped_) return false;
    ++in_flight_;
  }
  post_([this, line = std::move(line)]() mutable { arrive(std::move(line)); });
  return true;
}

bool InputFlow::submit_all(std::vector<std::string> lines) {
  if (lines.empty()) return true;
  {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return stopped_ || in_flight_ < window_; });
    if (stopped_) return false;
    in_flight_ += lines.size();
  }
  post_([this, lines = std::move(lines)]() mutable {
    std::size_t done = 0;
    for (auto& line : lines) {
      if (run_or_hold(std::move(line))) ++done;
    }
    if (done > 0) release(done);  // one wake-up of the reader for the whole batch
  });
  return true;
}

void InputFlow::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  room_.notify_all();
}

void InputFlow::arrive(std::string line) {
  if (run_or_hold(std::move(line))) release(1);
}

bool InputFlow::run_or_hold(std::string line) {
  // Order is kept: once one line waits, every later one waits behind it.
  if (!held_.empty() || !run_line_(line)) {
    held_.push_back(std::move(line));
    return false;
  }
  return true;
}

void InputFlow::retry() {
  std::size_t done = 0;
  while (!held_.empty() && run_line_(held_.front())) {
    held_.pop_front();
    ++done;
  }
  if (done > 0) release(done);
}

void InputFlow::release(std::size_t lines) {
  {
    std::lock_guard lock(mutex_);
    in_flight_ -= lines;
  }
  room_.notify_one();
}

}  // namespace peerchat::cli
