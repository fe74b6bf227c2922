// cli: where event lines go. A process reading our --json stdout may stop reading; writing
// there from the I/O thread would then block every session (ACKs, keepalives, other peers).
// QueuedOutput hands lines to a writer thread through a queue bounded in bytes. When the
// reader falls that far behind, new lines are dropped and counted by event; once the queue has
// drained, one notice line says how many of each were dropped and how to recover (every
// message is in the store: /history shows it). Nothing vanishes silently, memory stays
// bounded, and the node never waits for the reader.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace peerchat::cli {

class LineOutput {
 public:
  virtual ~LineOutput() = default;
  // One line, without its newline; `kind` names the event and `seq` numbers it (0: none), for
  // the drop notice.
  virtual void write_line(std::string line, std::string_view kind, std::uint64_t seq = 0) = 0;
};

// Writes and flushes at once, on the caller's thread (start-up errors, one-shot commands).
class DirectOutput final : public LineOutput {
 public:
  explicit DirectOutput(std::FILE* out) : out_(out) {}
  void write_line(std::string line, std::string_view kind, std::uint64_t seq = 0) override;

 private:
  std::FILE* out_;
};

class QueuedOutput final : public LineOutput {
 public:
  // What was dropped between two lines that were written.
  struct Dropped {
    std::size_t total = 0;
    std::map<std::string, std::size_t> by_kind;
    std::uint64_t first_seq = 0;  // event numbers of the first and last dropped (0: unnumbered)
    std::uint64_t last_seq = 0;
  };
  // Turns what was dropped into the notice line.
  using Notice = std::function<std::string(const Dropped& dropped)>;

  QueuedOutput(int fd, Notice notice, std::size_t max_bytes = kDefaultMaxBytes);
  // Writes what is queued for up to `flush_timeout`, then gives up on a reader that is gone.
  ~QueuedOutput() override;
  QueuedOutput(const QueuedOutput&) = delete;
  QueuedOutput& operator=(const QueuedOutput&) = delete;

  // Any thread; never blocks on the reader.
  void write_line(std::string line, std::string_view kind, std::uint64_t seq = 0) override;

  static constexpr std::size_t kDefaultMaxBytes = 32u << 20;
  static constexpr auto kFlushTimeout = std::chrono::seconds(2);

 private:
  void run();
  // Writes all of `data` unless stopping and past the deadline; false if it gave up.
  // `counted`: `data` is queued lines, released from in_flight_ as they are written.
  bool write_all(std::string_view data, bool counted);

  const int fd_;
  const Notice notice_;
  const std::size_t max_bytes_;

  std::mutex mutex_;
  std::condition_variable work_;
  std::string queued_;         // lines not yet taken by the writer, each with its newline
  std::size_t in_flight_ = 0;  // bytes the writer has taken and not finished writing
  bool dropping_ = false;      // full: dropping until the queue is empty again
  Dropped dropped_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point give_up_at_{};

  std::thread writer_;
};

}  // namespace peerchat::cli
