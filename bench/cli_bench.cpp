// bench: CLI to CLI, as a script sees it: real `peerchat --json` processes with durable stores,
// `/msg` lines written into the senders' stdin, `message` events read from the receiver's
// stdout. Once with one sender, once with four senders into one receiver: a change that
// serialises fan-in, or loses messages in it, shows in the ratio.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>

#include "bench.hpp"
#include "cli_peer.hpp"

namespace peerchat::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Run {
  double msgs_per_s = 0;
  std::size_t received = 0;
  std::size_t expected = 0;
};

// `senders` peers each write `per_sender` 100-byte /msg lines at once into their stdin, as fast
// as they read them; the clock runs from the first write to the last `message` event read from
// the receiver. If some never arrive, the run ends once none came for `stall`.
std::optional<Run> fan_in_once(const std::string& binary, int senders, std::size_t per_sender,
                               std::chrono::milliseconds stall) {
  TempDir dir;
  CliPeer receiver(binary, dir.path() / "receiver", "receiver", {});
  int port = 0;
  if (!receiver.started() || !receiver.wait_line(
                                 [&](const std::string& line) {
                                   if (!is_event(line, "ready")) return false;
                                   port = nlohmann::json::parse(line).value("port", 0);
                                   return true;
                                 },
                                 std::chrono::seconds(15))) {
    fmt::print(stderr, "bench: the receiver did not start\n");
    return std::nullopt;
  }
  std::vector<std::unique_ptr<CliPeer>> peers;
  for (int s = 0; s < senders; ++s) {
    peers.push_back(std::make_unique<CliPeer>(
        binary, dir.path() / fmt::format("s{}", s), fmt::format("s{}", s),
        std::vector<std::string>{"--connect", fmt::format("127.0.0.1:{}", port)}));
    // `/msg receiver` needs the sender to know the receiver by name: wait for its session.
    if (!peers.back()->started() ||
        !peers.back()->wait_line(
            [](const std::string& line) { return is_event(line, "connected"); },
            std::chrono::seconds(15))) {
      fmt::print(stderr, "bench: sender {} did not connect\n", s);
      return std::nullopt;
    }
  }
  int connected = 0;
  if (!receiver.wait_line(
          [&](const std::string& line) {
            return is_event(line, "connected") && ++connected == senders;
          },
          std::chrono::seconds(15))) {
    fmt::print(stderr, "bench: the receiver saw {} of {} senders\n", connected, senders);
    return std::nullopt;
  }

  // One loop drives everything, as a script on select() would: writes each sender's lines as
  // its stdin takes them, drains the senders' events and counts the receiver's.
  std::vector<std::string> input(peers.size());
  std::vector<std::size_t> written(peers.size(), 0);
  for (std::size_t s = 0; s < peers.size(); ++s) {
    for (std::size_t i = 0; i < per_sender; ++i) {
      std::string text = fmt::format("s{}-{:06}:", s, i);
      text.resize(100, 'x');
      input[s] += "/msg receiver " + text + "\n";
    }
    ::fcntl(peers[s]->in(), F_SETFL, ::fcntl(peers[s]->in(), F_GETFL) | O_NONBLOCK);
  }
  Run run;
  run.expected = per_sender * peers.size();
  constexpr std::string_view kMessage = R"({"event":"message")";
  std::string pending = receiver.take_pending();
  auto count_lines = [&] {
    std::size_t start = 0;
    for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      if (pending.compare(start, kMessage.size(), kMessage) == 0) ++run.received;
    }
    pending.erase(0, start);
  };
  count_lines();
  const auto start = SteadyClock::now();
  auto last = start;
  const auto give_up = start + std::chrono::seconds(300);
  std::vector<char> chunk(1 << 16);
  while (run.received < run.expected && SteadyClock::now() < give_up &&
         SteadyClock::now() - last < stall) {
    std::vector<pollfd> fds{{receiver.out(), POLLIN, 0}};
    for (std::size_t s = 0; s < peers.size(); ++s) {
      fds.push_back({peers[s]->out(), POLLIN, 0});
      if (written[s] < input[s].size()) fds.push_back({peers[s]->in(), POLLOUT, 0});
    }
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    for (const auto& fd : fds) {
      if (fd.revents == 0) continue;
      if (fd.events == POLLOUT) {
        for (std::size_t s = 0; s < peers.size(); ++s) {
          if (peers[s]->in() != fd.fd) continue;
          const ssize_t wrote =
              ::write(fd.fd, input[s].data() + written[s], input[s].size() - written[s]);
          if (wrote > 0) written[s] += static_cast<std::size_t>(wrote);
          if (wrote < 0 && errno != EAGAIN && errno != EINTR) written[s] = input[s].size();
        }
        continue;
      }
      const ssize_t got = ::read(fd.fd, chunk.data(), chunk.size());
      if (fd.fd != receiver.out() || got <= 0) continue;  // senders' events: read and dropped
      pending.append(chunk.data(), static_cast<std::size_t>(got));
      const std::size_t before = run.received;
      count_lines();
      if (run.received > before) last = SteadyClock::now();
    }
  }
  const double seconds = std::chrono::duration<double>(last - start).count();
  run.msgs_per_s = seconds > 0 ? static_cast<double>(run.received) / seconds : 0;
  if (run.received < run.expected) {
    fmt::print(stderr, "bench: {} sender(s): only {} of {} messages arrived\n", senders,
               run.received, run.expected);
  }
  return run;
}

}  // namespace

std::vector<Figure> run_cli(const Options& options, const Baselines& /*baselines*/) {
  if (options.peerchat_binary.empty()) return {};
  ::signal(SIGPIPE, SIG_IGN);  // a sender that died must be an error on write, not our end
  // Per sender. A sender's stdin holds lines back while its 10,000-message queue is full
  // (cli/input_flow.hpp), so a burst may be larger than the queue; 50,000 runs long enough
  // (a third of a second and more) that start-up (the first commits, TCP's window) does not
  // set the figure.
  const std::size_t per_sender =
      options.cli_messages != 0 ? options.cli_messages : (options.quick ? 1'000 : 50'000);
  const auto stall = std::chrono::seconds(options.quick ? 5 : 15);
  std::vector<double> one;
  std::vector<double> four;
  std::size_t four_received = 0;
  std::size_t four_expected = 0;
  for (int run = 0; run < options.runs; ++run) {
    if (auto result = fan_in_once(options.peerchat_binary, 1, per_sender, stall)) {
      one.push_back(result->msgs_per_s);
    }
    if (auto result = fan_in_once(options.peerchat_binary, 4, per_sender, stall)) {
      four.push_back(result->msgs_per_s);
      four_received += result->received;
      four_expected += result->expected;
    }
  }
  const double one_rate = median(one);
  const double four_rate = median(four);
  const std::string lost =
      four_received < four_expected
          ? fmt::format("; LOST: only {} of {} arrived", four_received, four_expected)
          : "";
  return {
      {"cli_throughput_1_sender", one_rate, "msg/s",
       fmt::format("{} x 100 B /msg lines into peerchat --json stdin to message events on the "
                   "receiver's stdout, durable stores",
                   per_sender)},
      {"cli_throughput_4_senders", four_rate, "msg/s",
       fmt::format("4 senders x {} at once into one receiver{}", per_sender, lost)},
      {"cli_4_senders_vs_1", one_rate > 0 ? four_rate / one_rate : 0, "ratio",
       "fan-in / one sender, same run; a fall means fan-in serialises (or loses messages)"},
  };
}

}  // namespace peerchat::bench
