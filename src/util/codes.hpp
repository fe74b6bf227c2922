// util: the one registry of stable codes: the `code` of error and warning events and the reason
// a session ended (`disconnected.reason`). Names never change; scripts branch on them, and the
// README's table of codes is checked against this list by a unit test.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace peerchat {

enum class Code : std::uint8_t {
  // Start-up.
  data_dir_in_use,
  data_dir_unusable,
  port_in_use,
  port_forbidden,
  listen_failed,
  // Commands.
  usage,
  unknown_command,
  unknown_peer,
  ambiguous_peer,
  invalid_text,
  queue_full,
  store_failed,
  // File transfer (commands, and the `code` of transfer_failed and transfer_paused).
  unknown_transfer,
  ambiguous_transfer,
  transfer_refused,
  disk_full,
  write_failed,
  file_unreadable,
  file_changed,
  bad_pieces,
  transfer_failed,
  // Dialing and the handshake.
  bad_address,
  resolve_failed,
  connection_refused,
  connect_failed,
  timeout,
  tls_failed,
  version_mismatch,
  identity_mismatch,
  self_connection,
  protocol_error,
  // Warnings.
  name_conflict,
  not_connected,
  // Why a session ended.
  quit,
  local_quit,
  shutdown,
  duplicate,
  overloaded,
  connection_lost,
  other,  // keep last: the registry's size is taken from it
};

// The roles a code plays; one code may have several (store_failed is an error and a warning).
struct Kinds {
  bool error = false;    // the `code` of an `error` event
  bool warning = false;  // the `code` of a `warning` event
  // Why a session ended: `disconnected.reason`, or the error `code` of a dial whose handshake
  // failed.
  bool reason = false;
  friend bool operator==(const Kinds&, const Kinds&) = default;
};

struct CodeInfo {
  Code code;
  std::string_view name;  // on the wire and in JSON; stable
  Kinds kinds;
  std::string_view meaning;  // one line, for people
};

// Every code, in the enum's order.
std::span<const CodeInfo> all_codes();

std::string_view name(Code code);
std::string_view meaning(Code code);
Kinds kinds(Code code);
std::optional<Code> code_from_name(std::string_view name);

// "error", "error, warning", "error, reason", ... (the README table's kind column).
std::string kinds_text(Kinds kinds);

// Prints the name (for test failure messages).
std::ostream& operator<<(std::ostream& out, Code code);

}  // namespace peerchat
