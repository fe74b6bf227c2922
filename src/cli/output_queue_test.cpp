#include "cli/output_queue.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

namespace peerchat::cli {
namespace {

std::string notice(const QueuedOutput::Dropped& dropped) {
  std::string text = "dropped " + std::to_string(dropped.total);
  for (const auto& [kind, count] : dropped.by_kind)
    text += " " + kind + "=" + std::to_string(count);
  return text + " seq " + std::to_string(dropped.first_seq) + "-" +
         std::to_string(dropped.last_seq);
}

// Reads lines from `fd` until `quiet` passes with nothing new.
std::vector<std::string> read_lines(int fd, int quiet_ms) {
  std::vector<std::string> lines;
  std::string pending;
  char chunk[4096];
  for (int guard = 0; guard < 100'000; ++guard) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, quiet_ms) <= 0) break;
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) break;
    pending.append(chunk, static_cast<std::size_t>(got));
    for (std::size_t newline; (newline = pending.find('\n')) != std::string::npos;) {
      lines.push_back(pending.substr(0, newline));
      pending.erase(0, newline + 1);
    }
  }
  return lines;
}

TEST(QueuedOutput, AReaderThatStopsLosesLinesOnlyWithANoticeAndNeverBlocksTheWriter) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  // The pipe is full before the output starts: whatever the writer thread's timing, nothing
  // leaves the queue until the reader starts, so the drops come from a reader behind.
  const int flags = ::fcntl(pipe_fds[1], F_GETFL);
  ASSERT_EQ(::fcntl(pipe_fds[1], F_SETFL, flags | O_NONBLOCK), 0);
  const std::string filler = "filler\n";
  for (int guard = 0; guard < 1'000'000; ++guard) {
    if (::write(pipe_fds[1], filler.data(), filler.size()) < 0) break;  // EAGAIN: full
  }
  ASSERT_EQ(::fcntl(pipe_fds[1], F_SETFL, flags), 0);
  std::vector<std::string> lines;
  {
    // 64 KiB of queue behind a full pipe: 400 KiB of lines cannot all fit.
    QueuedOutput output(pipe_fds[1], notice, 64 * 1024);
    const std::string padding(1000, 'x');
    for (int i = 0; i < 400; ++i) {
      output.write_line("line " + std::to_string(i) + " " + padding, i % 2 == 0 ? "even" : "odd",
                        static_cast<std::uint64_t>(i + 1));
    }
    // The writer never blocked (we are here); now the reader catches up.
    lines = read_lines(pipe_fds[0], 500);
    output.write_line("after", "late");
    auto rest = read_lines(pipe_fds[0], 500);
    lines.insert(lines.end(), rest.begin(), rest.end());
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  std::erase_if(lines, [](const std::string& line) { return line == "filler"; });

  ASSERT_GE(lines.size(), 3u);
  // First the lines from before the drops, in order, then one notice, then new lines again.
  std::size_t kept = 0;
  while (kept < lines.size() && lines[kept].rfind("line ", 0) == 0) {
    EXPECT_EQ(lines[kept].substr(0, lines[kept].find(' ', 5)), "line " + std::to_string(kept));
    ++kept;
  }
  ASSERT_GT(kept, 0u);
  ASSERT_LT(kept, 400u);
  ASSERT_EQ(lines.size(), kept + 2);
  const std::size_t dropped = 400 - kept;
  const std::size_t odd = dropped / 2 + ((kept % 2 == 1 && dropped % 2 == 1) ? 1 : 0);
  EXPECT_EQ(lines[kept],
            "dropped " + std::to_string(dropped) + " even=" + std::to_string(dropped - odd) +
                " odd=" + std::to_string(odd) + " seq " + std::to_string(kept + 1) + "-400");
  EXPECT_EQ(lines[kept + 1], "after");
}

TEST(QueuedOutput, EverythingQueuedIsWrittenBeforeItIsDestroyed) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  {
    QueuedOutput output(pipe_fds[1], notice);
    for (int i = 0; i < 100; ++i) output.write_line(std::to_string(i), "n");
  }
  ::close(pipe_fds[1]);
  const auto lines = read_lines(pipe_fds[0], 500);
  ::close(pipe_fds[0]);
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.back(), "99");
}

}  // namespace
}  // namespace peerchat::cli
