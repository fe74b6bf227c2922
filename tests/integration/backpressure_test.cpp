// Scripts that write faster than a peer can take, and readers that stop reading: stdin waits
// instead of refusing, and a stalled stdout stalls no session.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

std::size_t count_code(const Peer& peer, const std::string& code) {
  std::size_t count = 0;
  for (const auto& event : peer.log()) {
    if (event.value("code", "") == code) ++count;
  }
  return count;
}

// Writes every line into `peer`'s stdin from a thread of its own (the peer reads them only as
// fast as it can queue them, so this blocks for a while), and joins on destruction.
class Writer {
 public:
  Writer(Peer& peer, std::vector<std::string> lines)
      : thread_([&peer, lines = std::move(lines)] {
          // In chunks of many lines (write_line adds the last newline of each).
          std::string chunk;
          for (const auto& line : lines) {
            if (!chunk.empty()) chunk += '\n';
            chunk += line;
            if (chunk.size() >= 64 * 1024) {
              peer.process().write_line(chunk);
              chunk.clear();
            }
          }
          if (!chunk.empty()) peer.process().write_line(chunk);
        }) {}
  ~Writer() { thread_.join(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

 private:
  std::thread thread_;
};

void expect_all_in_order(Peer& receiver, const Peer& sender, int count, const std::string& prefix) {
  int next = 0;
  for (const auto& event : receiver.log()) {
    if (event["event"] != "message" || event.value("peer", "") != sender.id()) continue;
    const std::string text = event["text"];
    ASSERT_EQ(text.substr(0, text.find(' ')), prefix + std::to_string(next)) << "out of order";
    ++next;
  }
  EXPECT_EQ(next, count);
}

bool wait_for_messages(Peer& receiver, std::size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (receiver.count("message") < count && Clock::now() < deadline) {
    receiver.drain(std::chrono::milliseconds(50));
  }
  return receiver.count("message") >= count;
}

TEST(IntegrationBackpressure, AScriptFasterThanThePeerGetsEveryLineQueuedInOrder) {
  TempDir root;
  Peer bob("bob", root);
  Peer alice("alice", root, {"--connect", bob.address()});
  ASSERT_TRUE(both_connected(alice, bob));

  // Far more lines than the per-peer queue (10,000) holds, written at once.
  constexpr int kLines = 15'000;
  std::vector<std::string> lines;
  for (int i = 0; i < kLines; ++i) lines.push_back("/msg bob m" + std::to_string(i) + " x");
  {
    Writer writer(alice, std::move(lines));
    ASSERT_TRUE(wait_for_messages(bob, kLines, 120s)) << bob.count("message") << " arrived";
  }
  expect_all_in_order(bob, alice, kLines, "m");
  EXPECT_EQ(count_code(alice, "queue_full"), 0u);
  EXPECT_EQ(bob.count("message"), static_cast<std::size_t>(kLines));
}

TEST(IntegrationBackpressure, ASmallQueueWaitsAndResumesManyTimesWithMixedSizes) {
  TempDir root;
  Peer bob("bob", root);
  Peer alice("alice", root, {"--connect", bob.address(), "--send-queue", "16"});
  ASSERT_TRUE(both_connected(alice, bob));

  constexpr int kLines = 2'000;
  std::vector<std::string> lines;
  for (int i = 0; i < kLines; ++i) {
    // Plain lines go to the only connected peer; sizes from a few bytes to 8 KiB.
    lines.push_back("p" + std::to_string(i) + " " +
                    std::string(static_cast<std::size_t>((i * 37) % 8192), 'y'));
  }
  lines.push_back("/peers");  // commands keep their place behind the waiting messages
  {
    Writer writer(alice, std::move(lines));
    ASSERT_TRUE(wait_for_messages(bob, kLines, 120s)) << bob.count("message") << " arrived";
  }
  expect_all_in_order(bob, alice, kLines, "p");
  EXPECT_EQ(count_code(alice, "queue_full"), 0u);
  ASSERT_TRUE(alice.wait_event("peers", 30s));
  // /peers ran only after every line before it had been taken: had it jumped the queue, it
  // would have been answered while nearly all of them still waited. (The last group commit's
  // `queued` events may follow it: lines are taken in order, events come at commit.)
  std::size_t queued_before_peers = 0;
  for (const auto& event : alice.log()) {
    if (event["event"] == "peers") break;
    if (event["event"] == "queued") ++queued_before_peers;
  }
  EXPECT_GE(queued_before_peers, static_cast<std::size_t>(kLines - 16));
}

// A `peerchat --json` whose stdout this test stops reading after `ready`.
class UnreadPeer {
 public:
  UnreadPeer(const std::string& name, const TempDir& root) {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const std::string data_dir = (root / name).string();
    const std::string err = (root / (name + ".err")).string();
    const std::string binary = peerchat_binary();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      const int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      const int log = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(log, 2);
      ::execl(binary.c_str(), binary.c_str(), "--json", "--name", name.c_str(), "--port", "0",
              "--data-dir", data_dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    // Read byte by byte up to the end of `ready`, so nothing after it is taken from the pipe.
    std::string line;
    const auto deadline = Clock::now() + 15s;
    char byte = 0;
    while (Clock::now() < deadline) {
      pollfd ready{out_, POLLIN, 0};
      if (::poll(&ready, 1, remaining_ms(deadline)) <= 0 || ::read(out_, &byte, 1) != 1) break;
      if (byte == '\n') break;
      line.push_back(byte);
    }
    auto event = json::parse(line, nullptr, false);
    if (!event.is_discarded()) port_ = event.value("port", 0);
  }
  ~UnreadPeer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }
  UnreadPeer(const UnreadPeer&) = delete;
  UnreadPeer& operator=(const UnreadPeer&) = delete;

  // Reads everything written so far (waits until `quiet` passes with nothing new).
  std::vector<json> read_all(std::chrono::milliseconds quiet) {
    std::vector<json> events;
    std::string pending;
    char chunk[65536];
    for (int guard = 0; guard < 100'000; ++guard) {
      pollfd ready{out_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(quiet.count())) <= 0) break;
      const ssize_t got = ::read(out_, chunk, sizeof chunk);
      if (got <= 0) break;
      pending.append(chunk, static_cast<std::size_t>(got));
      std::size_t start = 0;
      for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;) {
        events.push_back(json::parse(pending.substr(start, newline - start), nullptr, false));
        start = newline + 1;
      }
      pending.erase(0, start);
    }
    return events;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
};

TEST(IntegrationBackpressure, AStalledStdoutStallsNoSession) {
  TempDir root;
  UnreadPeer receiver("receiver", root);
  ASSERT_NE(receiver.port(), 0);
  Peer alice("alice", root, {"--connect", receiver.address()});
  ASSERT_TRUE(alice.wait_event("connected"));

  // Far more event output than a pipe holds (64 KiB), none of it read.
  constexpr int kMessages = 400;
  const std::string padding(4000, 'z');
  for (int i = 0; i < kMessages; ++i) {
    alice.command("/msg receiver a" + std::to_string(i) + " " + padding);
  }
  const auto deadline = Clock::now() + 60s;
  while (alice.count("delivered") < kMessages && Clock::now() < deadline) {
    alice.drain(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(alice.count("delivered"), static_cast<std::size_t>(kMessages));

  // Another peer still gets in and through while the stdout is still unread.
  Peer bob("bob", root, {"--connect", receiver.address()});
  ASSERT_TRUE(bob.wait_event("connected"));
  bob.command("/msg receiver hello from bob");
  EXPECT_TRUE(bob.wait_event("delivered", 30s));

  // Nothing vanished: every message is there once the reader catches up (well below the
  // output queue's bound, so none was dropped).
  std::size_t messages = 0;
  std::uint64_t expected_seq = 2;  // `ready` was event 1
  for (const auto& event : receiver.read_all(2s)) {
    ASSERT_TRUE(event.is_object());
    if (event.value("event", "") == "message") ++messages;
    EXPECT_NE(event.value("event", ""), "dropped");
    EXPECT_EQ(event.value("event_seq", std::uint64_t{0}), expected_seq++) << event.dump();
  }
  EXPECT_EQ(messages, static_cast<std::size_t>(kMessages + 1));
}

}  // namespace
}  // namespace peerchat::testing
