#include "cli/line_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace peerchat::cli {
namespace {

// A line longer than this is cut (and the rest read as the next line) so memory stays bounded;
// the node then rejects over-long text with a clear error.
constexpr std::size_t kMaxLine = 1 << 20;

}  // namespace

LineReader::LineReader(int fd) : fd_(fd) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
}

LineReader::~LineReader() {
  for (int end : wake_) {
    if (end >= 0) ::close(end);
  }
}

void LineReader::stop() {
  if (wake_[1] < 0) return;
  const char byte = 'x';
  [[maybe_unused]] auto ignored = ::write(wake_[1], &byte, 1);
}

void LineReader::run(const std::function<void(std::string)>& on_line,
                     const std::function<void()>& on_eof) {
  run_batched(
      [&](std::vector<std::string> lines) {
        for (auto& line : lines) on_line(std::move(line));
      },
      on_eof);
}

void LineReader::run_batched(const std::function<void(std::vector<std::string>)>& on_lines,
                             const std::function<void()>& on_eof) {
  std::string pending;
  // Large reads: a script's burst arrives in few syscalls and few hand-overs.
  std::vector<char> storage(64 * 1024);
  char* buffer = storage.data();
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    const int ready = ::poll(fds, wake_[0] >= 0 ? 2 : 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) return;  // stopped
    if (fds[0].revents == 0) continue;
    const ssize_t got = ::read(fd_, buffer, storage.size());
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(got));
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;) {
      lines.push_back(pending.substr(start, newline - start));
      start = newline + 1;
    }
    pending.erase(0, start);
    if (pending.size() > kMaxLine) {
      lines.push_back(std::move(pending));
      pending.clear();
    }
    if (!lines.empty()) on_lines(std::move(lines));
  }
  if (!pending.empty()) on_lines({std::move(pending)});
  on_eof();
}

}  // namespace peerchat::cli
