// cli: turns the lines a user (or a script) types into node commands. Shared by the REPL and
// --json mode, so both accept exactly the same commands. Runs on the I/O thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node/node.hpp"

namespace peerchat::cli {

// The text of /help, also printed by --help.
std::string_view command_help();

class CommandInterpreter {
 public:
  struct Hooks {
    std::function<void(std::string_view text)> show_help;
    // /query changed where plain lines go (nullopt: cleared).
    std::function<void(const std::optional<tls::PeerId>& peer, const std::string& name)> query;
    std::function<void()> quit;
  };

  CommandInterpreter(node::Node& node, Hooks hooks);

  void handle_line(std::string_view line);

 private:
  void send_plain(std::string_view text);

  node::Node& node_;
  Hooks hooks_;
  std::optional<tls::PeerId> query_;
};

}  // namespace peerchat::cli
