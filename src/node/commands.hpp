// node: the typed command API. Every front end (the REPL's slash lines, JSON lines, and the
// coming HTTP/WebSocket API) turns what it reads into one of these; Node::execute runs it and
// answers exactly once, with the caller's request ID, success with data or a typed failure.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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
// Offer files and folders to a peer; relative paths are taken from the process's working dir.
// Answered once the manifest is built and offered, with the transfer's ID.
struct SendFile {
  std::string peer;
  std::vector<std::filesystem::path> paths;
};
// `transfer` is a transfer ID or a unique prefix of it (at least 4 hex digits).
// Accept an offer into `dir` (empty: the download dir); answered once it is set up.
struct Accept {
  std::string transfer;
  std::filesystem::path dir;
};
struct Decline {
  std::string transfer;
};
// Either side, any time before it is done.
struct Cancel {
  std::string transfer;
};
// Current transfers and the most recent finished ones.
struct ListTransfers {};

}  // namespace command

using Command = std::variant<command::Send, command::Connect, command::ListPeers, command::History,
                             command::SendFile, command::Accept, command::Decline, command::Cancel,
                             command::ListTransfers>;

// The command's name in JSON ("send", "connect", "peers", "history", "sendfile", "accept",
// "decline", "cancel", "transfers").
std::string_view command_name(const Command& command);

}  // namespace peerchat::node
