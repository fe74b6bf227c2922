#include "cli_peer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <utility>

namespace peerchat::bench {

using SteadyClock = std::chrono::steady_clock;

CliPeer::CliPeer(const std::string& binary, const std::filesystem::path& data_dir,
                 const std::string& name, const std::vector<std::string>& extra) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return;
  }
  std::vector<std::string> args = {binary,   "--json", "--name",     name,
                                   "--port", "0",      "--data-dir", data_dir.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = ::fork();
  if (pid_ < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    return;
  }
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  in_ = in[1];
  out_ = out[0];
}

CliPeer::~CliPeer() {
  if (in_ >= 0) ::close(in_);
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!reaped(std::chrono::seconds(3))) {
      ::kill(pid_, SIGKILL);
      reaped(std::chrono::seconds(3));
    }
  }
  if (out_ >= 0) ::close(out_);
}

bool CliPeer::wait_line(const std::function<bool(const std::string&)>& match,
                        std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    for (auto newline = pending_.find('\n'); newline != std::string::npos;
         newline = pending_.find('\n')) {
      const std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (match(line)) return true;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0 || out_ < 0) return false;
    pollfd fd{out_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t got = ::read(out_, chunk, sizeof chunk);
    if (got <= 0) return false;
    pending_.append(chunk, static_cast<std::size_t>(got));
  }
}

std::string CliPeer::take_pending() {
  return std::exchange(pending_, {});
}

bool CliPeer::read_lines(const std::function<void(const std::string&)>& on_line) {
  bool open = out_ >= 0;
  if (open) {
    char chunk[1 << 16];
    const ssize_t got = ::read(out_, chunk, sizeof chunk);
    if (got > 0) {
      pending_.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
      open = false;
    }
  }
  std::size_t start = 0;
  for (std::size_t newline; (newline = pending_.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    on_line(pending_.substr(start, newline - start));
  }
  pending_.erase(0, start);
  return open;
}

bool CliPeer::write_line(const std::string& line) {
  const std::string data = line + "\n";
  for (std::size_t done = 0; done < data.size();) {
    if (in_ < 0) return false;
    const ssize_t wrote = ::write(in_, data.data() + done, data.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    done += static_cast<std::size_t>(wrote);
  }
  return true;
}

void CliPeer::kill_now() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reaped(std::chrono::seconds(5));
  }
  pid_ = -1;
  for (int* fd : {&in_, &out_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

bool CliPeer::reaped(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool is_event(const std::string& line, const char* name) {
  return line.rfind(fmt::format("{{\"event\":\"{}\"", name), 0) == 0;
}

}  // namespace peerchat::bench
