// Integration test harness: real peerchat processes on 127.0.0.1, each with its own temp data
// dir, driven through stdin and observed through --json events on stdout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace peerchat::testing {

using nlohmann::json;
using namespace std::chrono_literals;

using Clock = std::chrono::steady_clock;
// Milliseconds left until `deadline`, never negative (for poll() and friends).
int remaining_ms(Clock::time_point deadline);

// The peerchat executable under test (PEERCHAT_BIN, set by CTest).
std::string peerchat_binary();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A child process with piped stdin/stdout and stderr captured to a file. Its stdout is drained
// by a thread all the time, so a test reading another process never stalls this one on a full
// pipe.
class Process {
 public:
  // `environment` entries ("NAME=value") are added to this process's environment.
  Process(const std::vector<std::string>& args, const std::filesystem::path& stderr_file,
          const std::vector<std::string>& environment = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void write_line(const std::string& line);
  void close_stdin();
  // The next stdout line, or nullopt on timeout or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // The exit code once the process ends within `timeout` (128 + signal if killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void signal(int number);
  pid_t pid() const { return pid_; }
  // True once stdout reached EOF and every line was read.
  bool finished_output();
  std::string stderr_text() const;
  // True once stderr contains `text`, within `timeout`: logs show some states no event does.
  bool wait_stderr(const std::string& text, std::chrono::milliseconds timeout);

 private:
  void pump_stdout();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::string> lines_;
  bool stdout_closed_ = false;
  std::filesystem::path stderr_file_;
  std::optional<int> exit_code_;
};

// Runs a command to completion (bounded) and returns its exit code and stdout.
struct Finished {
  int exit_code = -1;
  std::string out;
  std::string err;
};
Finished run_to_end(const std::vector<std::string>& args, const TempDir& dir,
                    std::chrono::milliseconds timeout = 20s);

// A peer started with --json on port 0 and waited for until `ready`.
class Peer {
 public:
  // The data dir is root/name, so a peer started again with the same name is the same identity.
  Peer(const std::string& name, const TempDir& root, std::vector<std::string> extra = {},
       std::vector<std::string> environment = {});

  // Waits for the next event matching `match` (events already seen but not consumed count too).
  std::optional<json> wait_for(const std::function<bool(const json&)>& match,
                               std::chrono::milliseconds timeout = 10s);
  std::optional<json> wait_event(const std::string& name, std::chrono::milliseconds timeout = 10s);
  // All events seen so far (read, whether consumed or not).
  const std::vector<json>& log() const { return log_; }
  // Reads whatever arrives for `how_long` (to check that something does NOT happen).
  void drain(std::chrono::milliseconds how_long);
  std::size_t count(const std::string& event) const;

  void command(const std::string& line) { process_.write_line(line); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }
  int port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  Process& process() { return process_; }
  pid_t pid() const { return process_.pid(); }

 private:
  bool read_one(std::chrono::milliseconds timeout);

  std::string name_;
  std::filesystem::path data_dir_;
  Process process_;
  std::vector<json> log_;
  std::vector<bool> taken_;
  std::string id_;
  int port_ = 0;
};

// True once each of `a` and `b` has reported its session with the other (both may send).
bool both_connected(Peer& a, Peer& b);

// ESTABLISHED TCP connections between `a` and `b` (both ends in their processes, accepted on
// either's port), each counted once, from /proc/net/tcp and tcp6: how many sessions they hold.
std::size_t accepted_connections(const Peer& a, const Peer& b);

// The process's peak resident memory (VmHWM), in KiB.
long peak_rss_kib(pid_t pid);

// `from` sends `text` to `to` by name; true once `to` shows it (the honest path still works).
bool relays(Peer& from, Peer& to, const std::string& text);

// Prints the victim's peak RSS for the test log and checks it stayed under `limit_mib`, a
// bound for a plain build (a victim in these tests peaks at about 12 MiB; hence 24 by default).
// Sanitizer builds (the victim is built like this binary) get the bound times their overhead.
void expect_bounded_memory(Peer& victim, const std::string& after, long limit_mib = 24);

// Read-only look into a peer's database (safe while the peer runs: WAL readers don't block).
class Database {
 public:
  explicit Database(const std::filesystem::path& data_dir);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  // Texts of messages received from `author_id` (grouped peer ID), in arrival order.
  std::vector<std::string> received_from(const std::string& author_id);
  std::vector<std::string> sent_texts();  // every outgoing message, any state
  long long outbox_size();
  std::string integrity_check();

 private:
  std::vector<std::vector<std::string>> query(const std::string& sql);
  ::sqlite3* db_ = nullptr;
};

// A plain TCP client for attacks: connect to 127.0.0.1:port from `source` (a 127.x address).
class RawSocket {
 public:
  RawSocket(int port, const std::string& source = "127.0.0.1");
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // True once the peer has closed the connection (EOF or reset), waiting up to `timeout`;
  // false for a socket that never connected.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  // How many of `sockets` the peer has closed: waits until `expected` have (or `timeout`
  // passes), then counts any others already closed too, so callers can check an exact number.
  static std::size_t count_closed_by_peer(const std::vector<std::unique_ptr<RawSocket>>& sockets,
                                          std::size_t expected, std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// One row of a peer's `messages` table.
struct MessageRow {
  long long local_id = 0;  // arrival order in that database
  std::string peer;        // grouped peer ID: the author (incoming) or the recipient (outgoing)
  std::string message_id;  // lower-case hex, as in --json events
  bool outgoing = false;
  long long seq = 0;
  std::string text;
};
// Calls `visit` with every message in the database under `data_dir` that arrived after the one
// with `after_local_id`, in arrival order, one row in memory at a time (read-only: safe while
// the peer runs).
void for_each_message(const std::filesystem::path& data_dir,
                      const std::function<void(const MessageRow&)>& visit,
                      long long after_local_id = 0);

// A peer's events read straight from its stdout, each once and in order, at a constant cost
// per event (Peer::wait_for rescans its whole log on each call, too slow for tens of thousands
// of events). Events the Peer has already read are not seen here, and events read here are not
// in Peer::log(): switch to a stream after the last Peer::wait_for on that peer.
class EventStream {
 public:
  explicit EventStream(Peer& peer) : process_(peer.process()) {}
  // The next event, or nullopt on timeout or once the process closed its stdout.
  std::optional<json> next(std::chrono::milliseconds timeout);

 private:
  Process& process_;
};

}  // namespace peerchat::testing
