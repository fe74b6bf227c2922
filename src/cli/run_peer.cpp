// cli: running a peer in the foreground: the I/O thread runs the node; a second thread reads
// the terminal (REPL) or stdin (--json and pipes) and posts each line to the I/O thread.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/app.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/line_reader.hpp"
#include "cli/render.hpp"
#include "cli/startup.hpp"
#include "cli/terminal.hpp"
#include "node/node.hpp"

namespace peerchat::cli {
namespace {

// Reports a start-up failure on stderr, and as an error event in --json mode.
int fail_start(bool json, std::string code, const std::string& message, int exit_code) {
  std::cerr << "peerchat: " << message << '\n';
  if (json) {
    JsonSink sink(stdout);
    sink.emit(node::error_event(std::move(code), message));
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

}  // namespace

int run_peer(const PeerOptions& options) {
  const bool interactive = !options.common.json && Terminal::is_interactive(0);
  setup_logging(options.common.verbose, interactive);
  std::signal(SIGPIPE, SIG_IGN);

  int exit_code = kExitOk;
  auto profile = open_profile(options.common, &exit_code);
  if (!profile) {
    const bool in_use = profile.error().message.find("in use") != std::string::npos;
    return fail_start(options.common.json, in_use ? "data_dir_in_use" : "data_dir_unusable",
                      profile.error().message, exit_code);
  }

  std::optional<Terminal> terminal;
  if (interactive) terminal.emplace(0, 1);
  std::unique_ptr<node::EventSink> sink;
  if (options.common.json) {
    sink = std::make_unique<JsonSink>(stdout);
  } else if (terminal) {
    sink = std::make_unique<HumanSink>([&](std::string line) { terminal->print(std::move(line)); });
  } else {
    sink = std::make_unique<HumanSink>([](std::string line) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    });
  }

  asio::io_context io(1);
  SystemClock clock;
  SystemRandom random;
  node::NodeConfig config = node_config(options.common, profile->name);
  config.port = options.port;
  Failpoints failpoints = Failpoints::from_environment();
  config.failpoints = &failpoints;
  node::Node node(io, config, *profile->identity, *profile->store, clock, random, *sink);
  if (auto restored = node.restore(); !restored) {
    return fail_start(options.common.json, "store_failed", restored.error().message, kExitDataDir);
  }
  if (auto listening = node.listen(); !listening) {
    return fail_start(options.common.json, "port_in_use", listening.error().message, kExitListen);
  }
  node.announce_ready();
  for (const auto& target : options.connect) node.connect(target);

  auto quit = [&](wire::ByeReason reason, std::string why) {
    node.shutdown(reason, std::move(why), [&io] { io.stop(); });
  };
  CommandInterpreter interpreter(
      node, CommandInterpreter::Hooks{
                [&](std::string_view text) {
                  if (options.common.json) {
                    std::fputs(fmt::format("{{\"event\":\"help\",\"text\":{}}}\n",
                                           nlohmann::json(std::string(text)).dump())
                                   .c_str(),
                               stdout);
                    std::fflush(stdout);
                  } else if (terminal) {
                    terminal->print(std::string(text));
                  } else {
                    std::fwrite(text.data(), 1, text.size(), stdout);
                    std::fflush(stdout);
                  }
                },
                [&](const std::optional<tls::PeerId>& peer, const std::string& name) {
                  if (terminal) terminal->set_prompt(peer ? fmt::format("{}> ", name) : "> ");
                },
                [&] { quit(wire::ByeReason::quit, "the user quit"); }});

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) quit(wire::ByeReason::shutdown, "the peer is shutting down");
  });

  auto post_line = [&](std::string line) {
    asio::post(io, [&interpreter, line = std::move(line)] { interpreter.handle_line(line); });
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
      reader.run(post_line, [&] {
        if (!options.common.json) {
          asio::post(io, [&] { quit(wire::ByeReason::quit, "the user quit"); });
        }
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
  input.join();
  return exit_code;
}

}  // namespace peerchat::cli
