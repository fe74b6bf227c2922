// node: the typed command API. Every front end (the REPL's slash lines, JSON lines, and the
// coming HTTP/WebSocket API) turns what it reads into one of these; Node::execute runs it and
// answers exactly once, with the caller's request ID, success with data or a typed failure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace peerchat::node {

namespace command {

// Queue a text message to a peer (by name, ID or ID prefix).
struct Send {
  std::string peer;
  std::string text;
};
// Dial HOST:PORT or ID@HOST:PORT; answered once the session is open, or with why not.
struct Connect {
  std::string target;
};
// The peers connected now.
struct ListPeers {};
// The last `count` messages with a peer, oldest first.
struct History {
  std::string peer;
  std::size_t count = 20;
};

}  // namespace command

using Command = std::variant<command::Send, command::Connect, command::ListPeers, command::History>;

// The command's name in JSON ("send", "connect", "peers", "history").
std::string_view command_name(const Command& command);

}  // namespace peerchat::node
