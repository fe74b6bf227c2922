#include "util/codes.hpp"

#include <array>
#include <ostream>

namespace peerchat {
namespace {

constexpr Kinds kError{.error = true};
constexpr Kinds kWarning{.warning = true};
constexpr Kinds kReason{.reason = true};
constexpr Kinds kErrorAndWarning{.error = true, .warning = true};
constexpr Kinds kErrorAndReason{.error = true, .reason = true};

// The README's table of codes lists these rows, with the same kinds and meanings.
constexpr std::array kCodes{
    CodeInfo{Code::data_dir_in_use, "data_dir_in_use", kError,
             "another peerchat process is using this data dir"},
    CodeInfo{Code::data_dir_unusable, "data_dir_unusable", kError,
             "the data dir, identity or store cannot be created or opened"},
    CodeInfo{Code::port_in_use, "port_in_use", kError,
             "the listen port is taken; pick another with --port"},
    CodeInfo{Code::port_forbidden, "port_forbidden", kError,
             "a port below 1024 needs privileges; pick a higher --port"},
    CodeInfo{Code::listen_failed, "listen_failed", kError,
             "cannot listen on the port for another reason"},
    CodeInfo{Code::usage, "usage", kError,
             "a command or the command line is malformed; the message gives the right form"},
    CodeInfo{Code::unknown_command, "unknown_command", kError,
             "no such command; /help lists the commands"},
    CodeInfo{Code::unknown_peer, "unknown_peer", kError,
             "no known peer has that display name, ID or ID prefix"},
    CodeInfo{Code::ambiguous_peer, "ambiguous_peer", kError,
             "several peers match that name or ID prefix; give more of the peer ID"},
    CodeInfo{Code::invalid_text, "invalid_text", kError,
             "the text is not valid UTF-8 or longer than 64 KiB; it was not sent"},
    CodeInfo{Code::queue_full, "queue_full", kError,
             "too many messages to that peer are not yet acknowledged (--send-queue); it was "
             "not sent"},
    CodeInfo{Code::store_failed, "store_failed", kErrorAndWarning,
             "the store cannot be read or written (disk full, I/O error); an error: the action "
             "did not happen; a warning: a peer or address record was not saved"},
    CodeInfo{Code::unknown_transfer, "unknown_transfer", kError,
             "no transfer has that ID or ID prefix (at least 4 hex digits); /transfers lists them"},
    CodeInfo{Code::ambiguous_transfer, "ambiguous_transfer", kError,
             "several transfers match that ID prefix; give more of it"},
    CodeInfo{Code::transfer_refused, "transfer_refused", kError,
             "an offer broke a rule of the receive sandbox or a limit (a path, a size, its "
             "manifest); refused whole, nothing written"},
    CodeInfo{Code::disk_full, "disk_full", kErrorAndWarning,
             "not enough free space at the destination: an accept fails, a running transfer "
             "pauses until there is room"},
    CodeInfo{Code::write_failed, "write_failed", kError,
             "the destination cannot be written (permissions, an I/O error)"},
    CodeInfo{Code::file_unreadable, "file_unreadable", kError,
             "a file being sent cannot be read any more"},
    CodeInfo{Code::file_changed, "file_changed", kError,
             "a file being sent changed after it was offered; nothing mixed is ever saved"},
    CodeInfo{Code::bad_pieces, "bad_pieces", kError,
             "the sender sent too many pieces that do not match the manifest"},
    CodeInfo{Code::transfer_failed, "transfer_failed", kError,
             "the peer ended the transfer with a failure this version cannot name"},
    CodeInfo{Code::bad_address, "bad_address", kError,
             "not a HOST:PORT or ID@HOST:PORT that can be dialed"},
    CodeInfo{Code::resolve_failed, "resolve_failed", kError, "the host name does not resolve"},
    CodeInfo{Code::connection_refused, "connection_refused", kError,
             "nobody is listening at that address"},
    CodeInfo{Code::connect_failed, "connect_failed", kError,
             "the TCP connection failed, or was lost during the handshake"},
    CodeInfo{Code::timeout, "timeout", kErrorAndReason,
             "no answer in time: to a dial, during the handshake, or from an open session "
             "(3 keepalive intervals)"},
    CodeInfo{Code::tls_failed, "tls_failed", kErrorAndReason,
             "the TLS handshake failed, or the peer's certificate is not acceptable"},
    CodeInfo{Code::version_mismatch, "version_mismatch", kErrorAndReason,
             "the peer speaks another protocol version"},
    CodeInfo{Code::identity_mismatch, "identity_mismatch", kErrorAndReason,
             "the peer is not the ID that was expected (given as ID@HOST:PORT, or pinned for the "
             "address); not connected"},
    CodeInfo{Code::self_connection, "self_connection", kErrorAndReason,
             "the address leads back to this peer itself"},
    CodeInfo{Code::protocol_error, "protocol_error", kErrorAndReason,
             "a peer sent something the protocol forbids; its session is dropped"},
    CodeInfo{Code::name_conflict, "name_conflict", kWarning,
             "a new peer ID uses a display name known for another ID; they are kept apart"},
    CodeInfo{Code::not_connected, "not_connected", kWarning,
             "the peer is not connected; the message is queued and goes out when it is back"},
    CodeInfo{Code::quit, "quit", kReason, "the peer's user quit"},
    CodeInfo{Code::local_quit, "local_quit", kReason,
             "this peer's user quit, or a one-shot send finished"},
    CodeInfo{Code::shutdown, "shutdown", kReason,
             "a peerchat process (the peer's, or this one on SIGTERM) is stopping"},
    CodeInfo{Code::duplicate, "duplicate", kReason,
             "another connection to the same peer is kept instead of this one"},
    CodeInfo{Code::overloaded, "overloaded", kReason,
             "the receiver cannot store messages right now; they are resent later"},
    CodeInfo{Code::connection_lost, "connection_lost", kReason,
             "the connection ended without a BYE"},
    CodeInfo{Code::other, "other", kReason,
             "the peer gave a BYE reason this version does not know"},
};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].code) != i) return false;
  }
  return kCodes.size() == static_cast<std::size_t>(Code::other) + 1;
}
static_assert(in_enum_order(), "kCodes has one row per Code, in the enum's order");

const CodeInfo& info(Code code) {
  return kCodes.at(static_cast<std::size_t>(code));
}

}  // namespace

std::span<const CodeInfo> all_codes() {
  return kCodes;
}

std::string_view name(Code code) {
  return info(code).name;
}

std::string_view meaning(Code code) {
  return info(code).meaning;
}

Kinds kinds(Code code) {
  return info(code).kinds;
}

std::optional<Code> code_from_name(std::string_view name) {
  for (const auto& entry : kCodes) {
    if (entry.name == name) return entry.code;
  }
  return std::nullopt;
}

std::string kinds_text(Kinds kinds) {
  std::string text;
  auto add = [&](bool has, std::string_view kind) {
    if (!has) return;
    if (!text.empty()) text += ", ";
    text += kind;
  };
  add(kinds.error, "error");
  add(kinds.warning, "warning");
  add(kinds.reason, "reason");
  return text;
}

std::ostream& operator<<(std::ostream& out, Code code) {
  return out << name(code);
}

}  // namespace peerchat
