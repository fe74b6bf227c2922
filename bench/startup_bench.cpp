// bench: process start to the `ready` event, with an identity and store that already exist.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.hpp"

namespace peerchat::bench {
namespace {

// Starts peerchat --json and returns milliseconds until its first stdout line.
double start_once(const std::string& binary, const std::filesystem::path& dir) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return -1;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 2);
    ::execl(binary.c_str(), binary.c_str(), "--json", "--name", "bench", "--port", "0",
            "--data-dir", dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  char byte = 0;
  double elapsed = -1;
  pollfd fd{out[0], POLLIN, 0};
  if (::poll(&fd, 1, 10'000) > 0 && ::read(out[0], &byte, 1) == 1) {
    elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(out[0]);
  return elapsed;
}

}  // namespace

std::vector<Figure> run_startup(const Options& options, const Baselines& /*baselines*/) {
  if (options.peerchat_binary.empty()) return {};
  TempDir dir;
  start_once(options.peerchat_binary, dir.path() / "peer");  // creates identity and store
  std::vector<double> samples;
  for (int i = 0; i < (options.quick ? 3 : 20); ++i) {
    samples.push_back(start_once(options.peerchat_binary, dir.path() / "peer"));
  }
  return {{"startup_to_ready", median(samples), "ms", "existing identity; target <= 50 ms"}};
}

}  // namespace peerchat::bench
