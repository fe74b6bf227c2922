#include "harness.hpp"
#include "tcp_table.hpp"

#include <gtest/gtest.h>

#include "tls/peer_id.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace peerchat::testing {
int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string peerchat_binary() {
  const char* path = std::getenv("PEERCHAT_BIN");
  if (path == nullptr) throw std::runtime_error("PEERCHAT_BIN is not set (run through ctest)");
  return path;
}

TempDir::TempDir() {
  char pattern[] = "/tmp/peerchat-it-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Process::Process(const std::vector<std::string>& args, const std::filesystem::path& stderr_file,
                 const std::vector<std::string>& environment)
    : stderr_file_(stderr_file) {
  // A child may die while we write its stdin (that is what some tests do to it).
  ::signal(SIGPIPE, SIG_IGN);
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) ::dup2(err, 2);
    for (const auto& entry : environment) ::putenv(const_cast<char*>(entry.c_str()));
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  stdin_fd_ = in_pipe[1];
  stdout_fd_ = out_pipe[0];
  reader_ = std::thread([this] { pump_stdout(); });
}

void Process::pump_stdout() {
  std::string pending;
  char chunk[65536];
  while (true) {
    const ssize_t got = ::read(stdout_fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF once the child (and any grandchild) closed stdout
    pending.append(chunk, static_cast<std::size_t>(got));
    std::size_t start = 0;
    std::lock_guard lock(mutex_);
    for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;) {
      lines_.push_back(pending.substr(start, newline - start));
      start = newline + 1;
    }
    pending.erase(0, start);
    arrived_.notify_all();
  }
  std::lock_guard lock(mutex_);
  stdout_closed_ = true;
  arrived_.notify_all();
}

Process::~Process() {
  close_stdin();
  if (!exit_code_) {
    signal(SIGTERM);
    if (!wait_exit(3s)) {
      signal(SIGKILL);
      wait_exit(3s);
    }
  }
  if (reader_.joinable()) reader_.join();  // the child is gone, so its stdout hit EOF
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void Process::write_line(const std::string& line) {
  if (stdin_fd_ < 0) return;
  const std::string data = line + "\n";
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t wrote = ::write(stdin_fd_, data.data() + done, data.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return;
    done += static_cast<std::size_t>(wrote);
  }
}

void Process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  arrived_.wait_for(lock, timeout, [&] { return !lines_.empty() || stdout_closed_; });
  if (lines_.empty()) return std::nullopt;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

bool Process::finished_output() {
  std::lock_guard lock(mutex_);
  return stdout_closed_ && lines_.empty();
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

void Process::signal(int number) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, number);
}

std::string Process::stderr_text() const {
  std::ifstream in(stderr_file_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Process::wait_stderr(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (stderr_text().find(text) == std::string::npos) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);  // polling a file: nothing to wait on
  }
  return true;
}

Finished run_to_end(const std::vector<std::string>& args, const TempDir& dir,
                    std::chrono::milliseconds timeout) {
  static int counter = 0;
  const auto err_file = dir / ("run-" + std::to_string(++counter) + ".err");
  Process process(args, err_file);
  process.close_stdin();
  Finished finished;
  const auto deadline = Clock::now() + timeout;
  while (auto line = process.read_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
    finished.out += *line + "\n";
  }
  finished.exit_code =
      process.wait_exit(std::chrono::milliseconds(remaining_ms(deadline)) + 1s).value_or(-1);
  finished.err = process.stderr_text();
  return finished;
}

Peer::Peer(const std::string& name, const TempDir& root, std::vector<std::string> extra,
           std::vector<std::string> environment)
    : name_(name),
      data_dir_(root / name),
      process_(
          [&] {
            std::vector<std::string> args = {
                peerchat_binary(), "--json", "--name",     name,
                "--port",          "0",      "--data-dir", (root / name).string()};
            args.insert(args.end(), extra.begin(), extra.end());
            return args;
          }(),
          root / (name + ".err"), environment) {
  auto ready = wait_event("ready", 15s);
  if (!ready) {
    throw std::runtime_error("peer " + name +
                             " did not become ready; stderr: " + process_.stderr_text());
  }
  id_ = (*ready)["id"].get<std::string>();
  port_ = (*ready)["port"].get<int>();
}

bool Peer::read_one(std::chrono::milliseconds timeout) {
  auto line = process_.read_line(timeout);
  if (!line) return false;
  json event = json::parse(*line, nullptr, false);
  if (event.is_discarded() || !event.is_object() || !event.contains("event")) {
    // stdout must carry JSON events only.
    throw std::runtime_error("non-JSON line on stdout of " + name_ + ": " + *line);
  }
  log_.push_back(std::move(event));
  taken_.push_back(false);
  return true;
}

std::optional<json> Peer::wait_for(const std::function<bool(const json&)>& match,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t scanned = 0;
  while (true) {
    for (; scanned < log_.size(); ++scanned) {
      if (!taken_[scanned] && match(log_[scanned])) {
        taken_[scanned] = true;
        return log_[scanned];
      }
    }
    if (Clock::now() >= deadline || process_.finished_output()) return std::nullopt;
    read_one(std::chrono::milliseconds(remaining_ms(deadline)));
  }
}

std::optional<json> Peer::wait_event(const std::string& name, std::chrono::milliseconds timeout) {
  return wait_for([&](const json& e) { return e["event"] == name; }, timeout);
}

void Peer::drain(std::chrono::milliseconds how_long) {
  const auto deadline = Clock::now() + how_long;
  while (Clock::now() < deadline && !process_.finished_output()) {
    read_one(std::chrono::milliseconds(remaining_ms(deadline)));
  }
}

std::size_t Peer::count(const std::string& event) const {
  std::size_t n = 0;
  for (const auto& e : log_) n += e["event"] == event ? 1u : 0u;
  return n;
}

bool both_connected(Peer& a, Peer& b) {
  auto with = [](const Peer& other) {
    return [id = other.id()](const json& e) {
      return e["event"] == "connected" && e.value("peer", "") == id;
    };
  };
  return a.wait_for(with(b)).has_value() && b.wait_for(with(a)).has_value();
}

std::size_t accepted_connections(const Peer& a, const Peer& b) {
  return connections_between({a.pid(), b.pid()}, std::vector<int>{a.port(), b.port()});
}

long peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

bool relays(Peer& from, Peer& to, const std::string& text) {
  from.command("/msg " + to.name() + " " + text);
  return to
      .wait_for([&](const json& e) {
        return e["event"] == "message" && e.value("text", "") == text &&
               e.value("peer", "") == from.id();
      })
      .has_value();
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PEERCHAT_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define PEERCHAT_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PEERCHAT_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define PEERCHAT_TEST_TSAN 1
#endif

// A sanitizer build's peak RSS against a plain build's, as seen in these tests: ASan (shadow
// memory, redzones, a quarantine of freed blocks) 4-6x, and 13x after the churn of the
// 200-handshake burst (159 MiB against 12); TSan (shadow memory) 3-5x.
#if defined(PEERCHAT_TEST_ASAN)
constexpr long kSanitizerMemoryFactor = 10;
#elif defined(PEERCHAT_TEST_TSAN)
constexpr long kSanitizerMemoryFactor = 4;
#else
constexpr long kSanitizerMemoryFactor = 1;
#endif

void expect_bounded_memory(Peer& victim, const std::string& after, long limit_mib) {
  const long peak = peak_rss_kib(victim.process().pid());
  const long limit_kib = limit_mib * 1024 * kSanitizerMemoryFactor;
  std::cout << "victim peak RSS after " << after << ": " << peak << " KiB (limit " << limit_kib
            << " KiB)\n";
  EXPECT_GT(peak, 0);
  EXPECT_LT(peak, limit_kib) << after;
}

Database::Database(const std::filesystem::path& data_dir) {
  const auto file = data_dir / "peerchat.db";
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    throw std::runtime_error("cannot open " + file.string());
  }
  sqlite3_busy_timeout(db_, 2000);
}

Database::~Database() {
  sqlite3_close(db_);
}

std::vector<std::vector<std::string>> Database::query(const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("query failed: ") + sqlite3_errmsg(db_));
  }
  while (sqlite3_step(statement) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(statement); ++i) {
      const auto* text = sqlite3_column_text(statement, i);
      row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(statement);
  return rows;
}

std::vector<std::string> Database::received_from(const std::string& author_id) {
  auto parsed = tls::PeerId::parse(author_id);
  if (!parsed) throw std::runtime_error("bad peer ID " + author_id);
  std::string hex;
  for (auto byte : parsed->bytes()) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  std::vector<std::string> texts;
  for (auto& row : query("SELECT text FROM messages WHERE outgoing = 0 AND peer_id = x'" + hex +
                         "' ORDER BY local_id")) {
    texts.push_back(std::move(row[0]));
  }
  return texts;
}

std::vector<std::string> Database::sent_texts() {
  std::vector<std::string> texts;
  for (auto& row : query("SELECT text FROM messages WHERE outgoing = 1 ORDER BY seq")) {
    texts.push_back(std::move(row[0]));
  }
  return texts;
}

long long Database::outbox_size() {
  return std::stoll(query("SELECT count(*) FROM messages WHERE outgoing = 1 AND state = 0")[0][0]);
}

std::string Database::integrity_check() {
  return query("PRAGMA integrity_check")[0][0];
}

RawSocket::RawSocket(int port, const std::string& source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  // A source that cannot be bound would silently become 127.0.0.1 and change which cap applies.
  if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(const std::string& bytes) {
  return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                         static_cast<ssize_t>(bytes.size());
}

bool RawSocket::closed_by_peer(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;  // never connected, so nobody closed it
  const auto deadline = Clock::now() + timeout;
  while (true) {
    pollfd fd{fd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[4096];
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return true;  // EOF or reset; data (a TLS alert) is read past
  }
}

std::size_t RawSocket::count_closed_by_peer(const std::vector<std::unique_ptr<RawSocket>>& sockets,
                                            std::size_t expected,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<RawSocket*> open;
  for (const auto& socket : sockets) {
    if (socket->fd_ >= 0) open.push_back(socket.get());
  }
  std::size_t closed = 0;
  // One poll() over all open sockets per round; the last round only collects what is ready.
  for (bool last = false; !last && !open.empty();) {
    last = closed >= expected;
    std::vector<pollfd> fds;
    for (auto* socket : open) fds.push_back(pollfd{socket->fd_, POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), last ? 0 : remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      if (last || Clock::now() >= deadline) break;
      continue;
    }
    std::vector<RawSocket*> still_open;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0 && open[i]->closed_by_peer(0ms)) {
        ++closed;
      } else {
        still_open.push_back(open[i]);
      }
    }
    open = std::move(still_open);
  }
  return closed;
}

void for_each_message(const std::filesystem::path& data_dir,
                      const std::function<void(const MessageRow&)>& visit,
                      long long after_local_id) {
  const auto file = data_dir / "peerchat.db";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + file.string());
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* statement = nullptr;
  const char* sql =
      "SELECT local_id, hex(peer_id), lower(hex(message_id)), outgoing, seq, text FROM messages "
      "WHERE local_id > ?1 ORDER BY local_id";
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
    const std::string error = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("cannot read messages from " + file.string() + ": " + error);
  }
  sqlite3_bind_int64(statement, 1, after_local_id);
  auto text_of = [&](int column) {
    const auto* text = sqlite3_column_text(statement, column);
    return std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "",
                       static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
  };
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(statement)) == SQLITE_ROW) {
    const std::string hex = text_of(1);
    tls::PeerId::Bytes bytes{};
    for (std::size_t i = 0; i < bytes.size() && 2 * i + 1 < hex.size(); ++i) {
      bytes[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    visit(MessageRow{sqlite3_column_int64(statement, 0), tls::PeerId(bytes).to_string(), text_of(2),
                     sqlite3_column_int(statement, 3) != 0, sqlite3_column_int64(statement, 4),
                     text_of(5)});
  }
  const std::string error = sqlite3_errmsg(db);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  if (step != SQLITE_DONE) throw std::runtime_error("cannot read " + file.string() + ": " + error);
}

std::optional<json> EventStream::next(std::chrono::milliseconds timeout) {
  auto line = process_.read_line(timeout);
  if (!line) return std::nullopt;
  json event = json::parse(*line, nullptr, false);
  if (event.is_discarded() || !event.is_object() || !event.contains("event")) {
    throw std::runtime_error("non-JSON line on stdout: " + *line);  // stdout is events only
  }
  return event;
}

}  // namespace peerchat::testing
