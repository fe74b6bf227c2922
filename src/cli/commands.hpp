// cli: turns the lines a user (or a script) types into node commands. Shared by the REPL and
// --json mode, so both accept exactly the same commands. Runs on the I/O thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cli/help.hpp"
#include "cli/json_commands.hpp"
#include "node/node.hpp"

namespace peerchat::cli {

class CommandInterpreter {
 public:
  struct Hooks {
    std::function<void(std::string_view text)> show_help;
    // /query changed where plain lines go (nullopt: cleared).
    std::function<void(const std::optional<tls::PeerId>& peer, const std::string& name)> query;
    std::function<void()> quit;
  };

  // With `wait_when_full`, a message to a peer whose queue is full is not refused: the line is
  // left undone (handle_line returns false) for the caller to offer again later.
  // JSON command lines (see json_commands.hpp) are answered through `results`; without it they
  // are refused.
  CommandInterpreter(node::Node& node, Hooks hooks, bool wait_when_full = false,
                     node::EventSink* results = nullptr);

  // False only when the line must wait (see wait_when_full); then nothing was done.
  bool handle_line(std::string_view line);

 private:
  bool usage(std::string message);
  bool send(std::string_view peer_query, std::string_view text);
  bool send_plain(std::string_view text);

  node::Node& node_;
  Hooks hooks_;
  std::optional<tls::PeerId> query_;
  bool wait_when_full_;
  std::optional<JsonCommands> json_;
};

}  // namespace peerchat::cli
