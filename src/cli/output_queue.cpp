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
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (dropping_ || queued_.size() + in_flight_ + line.size() + 1 > max_bytes_) {
      dropping_ = true;
      ++dropped_.total;
      ++dropped_.by_kind[std::string(kind)];
      if (dropped_.first_seq == 0) dropped_.first_seq = seq;
      dropped_.last_seq = seq;
      return;
    }
    was_empty = queued_.empty();
    // Copied into one buffer rather than queued one string each: the line is then freed by
    // the thread that made it, and the writer takes everything queued in one swap.
    queued_ += line;
    queued_ += '\n';
  }
  // The writer only waits on an empty queue.
  if (was_empty) work_.notify_one();
}

void QueuedOutput::run() {
  // Everything queued is written in one batch, in pipe-sized chunks: at tens of thousands of
  // events a second, a wake-up, a poll and a write per line cost more than the events do.
  std::string out;
  bool counted = false;  // `out` is queued lines (counted in in_flight_), not the notice
  while (true) {
    {
      std::unique_lock lock(mutex_);
      in_flight_ = 0;
      work_.wait(lock, [&] { return stopping_ || !queued_.empty() || dropping_; });
      out.clear();
      if (queued_.empty() && dropping_) {
        // Everything from before the drops is out: say what was lost, then carry on.
        out = notice_(dropped_) + "\n";
        dropped_ = {};
        dropping_ = false;
        counted = false;
      } else if (queued_.empty()) {
        return;  // stopping, all written
      } else {
        out.swap(queued_);  // both buffers keep their capacity: no allocation once warm
        in_flight_ = out.size();
        counted = true;
      }
    }
    if (!write_all(out, counted)) return;
  }
}

bool QueuedOutput::write_all(std::string_view data, bool counted) {
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
    if (counted) {
      // Room for new lines as soon as the reader has taken these, not only once the batch is
      // out: otherwise a batch the pipe takes at once would still count as a reader behind.
      std::lock_guard lock(mutex_);
      in_flight_ -= std::min(in_flight_, static_cast<std::size_t>(wrote));
    }
  }
  return true;
}

}  // namespace peerchat::cli
