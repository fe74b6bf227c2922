#include "cli/output_queue.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace peerchat::cli {
namespace {

// A write of at most this much to a pipe that polls writable does not block (PIPE_BUF).
constexpr std::size_t kChunk = 4096;

}  // namespace

void DirectOutput::write_line(std::string line, std::string_view /*kind*/, std::uint64_t /*seq*/) {
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

QueuedOutput::QueuedOutput(int fd, Notice notice, std::size_t max_bytes)
    : fd_(fd), notice_(std::move(notice)), max_bytes_(max_bytes), writer_([this] { run(); }) {}

QueuedOutput::~QueuedOutput() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    give_up_at_ = std::chrono::steady_clock::now() + kFlushTimeout;
  }
  work_.notify_one();
  writer_.join();
}

void QueuedOutput::write_line(std::string line, std::string_view kind, std::uint64_t seq) {
  line.push_back('\n');
  {
    std::lock_guard lock(mutex_);
    if (dropping_ || bytes_ + line.size() > max_bytes_) {
      dropping_ = true;
      ++dropped_.total;
      ++dropped_.by_kind[std::string(kind)];
      if (dropped_.first_seq == 0) dropped_.first_seq = seq;
      dropped_.last_seq = seq;
      return;
    }
    bytes_ += line.size();
    lines_.push_back(std::move(line));
  }
  work_.notify_one();
}

void QueuedOutput::run() {
  while (true) {
    std::string line;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !lines_.empty() || dropping_; });
      if (lines_.empty() && dropping_) {
        // Everything from before the drops is out: say what was lost, then carry on.
        line = notice_(dropped_) + "\n";
        dropped_ = {};
        dropping_ = false;
      } else if (lines_.empty()) {
        return;  // stopping, all written
      } else {
        line = std::move(lines_.front());
        lines_.pop_front();
        bytes_ -= line.size();
      }
    }
    if (!write_all(line)) return;
  }
}

bool QueuedOutput::write_all(std::string_view data) {
  while (!data.empty()) {
    pollfd ready{fd_, POLLOUT, 0};
    const int polled = ::poll(&ready, 1, 100);
    if (polled < 0 && errno != EINTR) return false;
    if (polled <= 0) {
      std::lock_guard lock(mutex_);
      if (stopping_ && std::chrono::steady_clock::now() >= give_up_at_) return false;
      continue;
    }
    if ((ready.revents & (POLLERR | POLLNVAL)) != 0) return false;
    const ssize_t wrote = ::write(fd_, data.data(), std::min(data.size(), kChunk));
    if (wrote < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;  // the reader is gone (EPIPE): nothing more can be written
    }
    data.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return true;
}

}  // namespace peerchat::cli
