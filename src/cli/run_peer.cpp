// cli: running a peer in the foreground: the I/O thread runs the node; a second thread reads
// the terminal (REPL) or stdin (--json and pipes) and posts each line to the I/O thread.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/app.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/input_flow.hpp"
#include "cli/line_reader.hpp"
#include "cli/output_queue.hpp"
#include "cli/render.hpp"
#include "cli/startup.hpp"
#include "cli/terminal.hpp"
#include "node/event_bus.hpp"
#include "node/node.hpp"
#include "store/errors.hpp"

namespace peerchat::cli {
namespace {

// Reports a start-up failure on stderr, and as an error event in --json mode.
int fail_start(bool json, Code code, const std::string& message, int exit_code) {
  std::cerr << "peerchat: " << message << '\n';
  if (json) {
    JsonSink sink(stdout);
    sink.emit(node::error_event(code, message));
  }
  return exit_code;
}

node::NodeConfig node_config(const CommonOptions& common, const std::string& name) {
  node::NodeConfig config;
  config.name = name;
  config.protocol.handshake_timeout = std::chrono::seconds(common.handshake_timeout_s);
  config.protocol.keepalive_interval = std::chrono::seconds(common.keepalive_s);
  config.protocol.dead_after = std::chrono::seconds(3 * common.keepalive_s);
  config.protocol.receive_window = common.receive_window;
  return config;
}

std::string json_drop_notice(const QueuedOutput::Dropped& dropped) {
  nlohmann::ordered_json notice = {
      {"event", "dropped"},
      {"count", dropped.total},
      {"events", dropped.by_kind},
      {"first_seq", dropped.first_seq},
      {"last_seq", dropped.last_seq},
      {"message", fmt::format("stdout was not read fast enough: {} event(s) were dropped; every "
                              "message is stored, /history PEER shows them",
                              dropped.total)}};
  return notice.dump();
}

std::string human_drop_notice(const QueuedOutput::Dropped& dropped) {
  return fmt::format(
      "! {} line(s) were dropped because output was not read fast enough; every "
      "message is stored, /history PEER shows them",
      dropped.total);
}

// Calls `on_delivered` after each delivery (which frees room in a peer's queue).
class DeliveryWatch final : public node::EventSubscriber {
 public:
  explicit DeliveryWatch(std::function<void()> on_delivered)
      : on_delivered_(std::move(on_delivered)) {}
  void on_event(std::uint64_t, const node::Event& event) override {
    if (std::holds_alternative<node::event::Delivered>(event)) on_delivered_();
  }

 private:
  std::function<void()> on_delivered_;
};

}  // namespace

int run_peer(const PeerOptions& options) {
  const bool interactive = !options.common.json && Terminal::is_interactive(0);
  setup_logging(options.common.verbose, interactive);
  std::signal(SIGPIPE, SIG_IGN);

  int exit_code = kExitOk;
  auto profile = open_profile(options.common, &exit_code);
  if (!profile) {
    const auto& error = profile.error();
    const Code code = error.code == store::Errc::data_dir_in_use ? Code::data_dir_in_use
                      : exit_code == kExitUsage                  ? Code::usage
                                                                 : Code::data_dir_unusable;
    return fail_start(options.common.json, code, error.message, exit_code);
  }

  std::optional<Terminal> terminal;
  if (interactive) terminal.emplace(0, 1);
  // Logs for a terminal go above the input line; logs redirected elsewhere stay there.
  std::optional<LogsThrough> logs;
  if (terminal && Terminal::is_interactive(2)) {
    logs.emplace([&](std::string line) { terminal->print(std::move(line)); });
  }
  // Off the I/O thread: a reader that stops reading our stdout must not stall any session.
  std::optional<QueuedOutput> output;
  if (!terminal) output.emplace(1, options.common.json ? json_drop_notice : human_drop_notice);
  std::unique_ptr<node::EventSubscriber> printer;
  if (options.common.json) {
    printer = std::make_unique<JsonSink>(*output);
  } else if (terminal) {
    // Transfer progress bars are redrawn in place above the input line.
    printer =
        std::make_unique<HumanSink>([&](std::string line) { terminal->print(std::move(line)); },
                                    [&](const std::string& key, std::string line) {
                                      terminal->set_live(key, std::move(line));
                                    });
  } else {
    printer = std::make_unique<HumanSink>(
        [&](std::string line) { output->write_line(std::move(line), "line"); });
  }
  node::EventBus bus;
  bus.subscribe(*printer);
  // Deliveries free room in a peer's queue: lines from stdin that waited for it go on.
  std::function<void()> on_delivered;
  DeliveryWatch delivery_watch([&] {
    if (on_delivered) on_delivered();
  });
  bus.subscribe(delivery_watch);

  asio::io_context io(1);
  SystemClock clock;
  SystemRandom random;
  node::NodeConfig config = node_config(options.common, profile->name);
  config.port = options.port;
  config.max_queue_per_peer = options.send_queue;
  auto transfer = transfer_config(options);
  if (!transfer) {
    return fail_start(options.common.json, Code::usage, transfer.failure().message, kExitUsage);
  }
  config.transfer = std::move(*transfer);
  Failpoints failpoints = Failpoints::from_environment();
  config.failpoints = &failpoints;
  node::Node node(io, config, *profile->identity, *profile->store, clock, random, bus);
  if (auto restored = node.restore(); !restored) {
    return fail_start(options.common.json, Code::store_failed, restored.error().message,
                      kExitDataDir);
  }
  if (auto listening = node.listen(); !listening) {
    return fail_start(options.common.json, listening.failure().code, listening.failure().message,
                      kExitListen);
  }
  node.announce_ready();
  for (const auto& target : options.connect) node.connect(target);

  auto quit = [&](wire::ByeReason reason, std::string why) {
    node.shutdown(reason, std::move(why), [&io] { io.stop(); });
  };
  CommandInterpreter interpreter(
      node,
      CommandInterpreter::Hooks{
          [&](std::string_view text) {
            if (options.common.json) {
              output->write_line(fmt::format("{{\"event\":\"help\",\"text\":{}}}",
                                             nlohmann::json(std::string(text)).dump()),
                                 "help");
            } else if (terminal) {
              terminal->print(std::string(text));
            } else {
              std::string_view trimmed = text;
              if (!trimmed.empty() && trimmed.back() == '\n') trimmed.remove_suffix(1);
              output->write_line(std::string(trimmed), "help");
            }
          },
          [&](const std::optional<tls::PeerId>& peer, const std::string& name) {
            if (terminal) terminal->set_prompt(peer ? fmt::format("{}> ", name) : "> ");
          },
          [&] { quit(wire::ByeReason::quit, "the user quit"); }},
      /*wait_when_full=*/!terminal, options.common.json ? &bus : nullptr);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) quit(wire::ByeReason::shutdown, "the peer is shutting down");
  });

  auto post_line = [&](std::string line) {
    asio::post(io, [&interpreter, line = std::move(line)] { interpreter.handle_line(line); });
  };
  // From a pipe, lines are read only as fast as they can be queued (back-pressure).
  InputFlow flow([&](const std::string& line) { return interpreter.handle_line(line); },
                 [&](std::function<void()> work) { asio::post(io, std::move(work)); });
  bool retry_posted = false;
  on_delivered = [&] {
    if (retry_posted || flow.waiting() == 0) return;
    retry_posted = true;
    asio::post(io, [&] {
      retry_posted = false;
      flow.retry();
    });
  };
  LineReader reader(0);
  std::thread input([&] {
    if (terminal) {
      terminal->set_prompt("> ");
      terminal->run(
          post_line, [&] { asio::post(io, [&] { quit(wire::ByeReason::quit, "the user quit"); }); },
          [&] { asio::post(io, [&] { quit(wire::ByeReason::quit, "the user quit"); }); });
    } else {
      // In --json mode stdin ending does not end the peer (scripts may close it); /quit does.
      reader.run_batched([&](std::vector<std::string> lines) { flow.submit_all(std::move(lines)); },
                         [&] {
                           // In order, after every line that is still waiting for room.
                           if (!options.common.json) flow.submit("/quit");
                         });
    }
  });

  try {
    io.run();
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    exit_code = kExitRuntime;
  }
  if (terminal) terminal->stop();
  reader.stop();
  flow.stop();
  input.join();
  return exit_code;
}

}  // namespace peerchat::cli
