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
  const auto start = std::chrono::steady_clock::now();
  const Child child = spawn_peerchat(binary, dir);
  if (child.pid < 0) return -1;
  char byte = 0;
  double elapsed = -1;
  pollfd fd{child.out, POLLIN, 0};
  if (::poll(&fd, 1, 10'000) > 0 && ::read(child.out, &byte, 1) == 1) {
    elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  ::kill(child.pid, SIGTERM);
  ::waitpid(child.pid, nullptr, 0);
  ::close(child.out);
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
