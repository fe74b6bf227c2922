// node: the events a node emits. Every front end (REPL, JSON lines, later the API) renders
// these; none reaches into sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "services/transfer/view.hpp"
#include "tls/peer_id.hpp"
#include "util/codes.hpp"
#include "wire/messages.hpp"

namespace peerchat::node {

struct PeerSummary {
  tls::PeerId id;
  std::string name;
  std::string address;
  std::string direction;  // "in" or "out"
};

// A transfer as /transfers lists it, with its peer's display name.
struct TransferSummary {
  transfer::TransferView view;
  std::string name;
};

namespace event {

struct Ready {
  std::string name;
  tls::PeerId id;
  std::uint16_t port = 0;
};
struct Connected {
  PeerSummary peer;
};
struct Queued {
  wire::MessageId id{};
  tls::PeerId peer;
  std::string name;
  std::string text;
};
struct Sent {
  wire::MessageId id{};
  tls::PeerId peer;
  std::string name;
};
struct HistoryEntry {
  wire::MessageId id{};
  bool outgoing = false;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::string text;
  std::string state;  // "queued", "delivered" (outgoing) or "received"
};
struct History {
  tls::PeerId peer;
  std::string name;
  std::vector<HistoryEntry> messages;  // oldest first
};
struct Message {
  tls::PeerId peer;
  std::string name;
  wire::MessageId id{};
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::string text;
};
struct Delivered {
  wire::MessageId id{};
  tls::PeerId peer;
  std::string name;
};
struct Disconnected {
  tls::PeerId peer;
  std::string name;
  Code reason{};  // a Kinds::reason code: quit, shutdown, timeout, protocol_error, ...
  std::string message;
};
struct Peers {
  std::vector<PeerSummary> peers;
};
// An error (something the user asked for failed) or a warning (something to know about).
struct Problem {
  bool warning = false;
  Code code{};
  std::string message;
  std::optional<tls::PeerId> peer;
  std::string address;
};

// A file transfer's event: transfer_offered, transfer_accepted, ... (the kind names it). Each
// carries the transfer as /transfers shows it; the other fields belong to some kinds only.
struct Transfer {
  enum class Kind : std::uint8_t {
    offered,
    accepted,
    progress,
    paused,
    resumed,
    done,
    failed,
    cancelled,
    declined
  };
  Kind kind = Kind::offered;
  transfer::TransferView view;
  std::string name;                       // the peer's display name
  std::vector<transfer::FileView> files;  // offered, done
  std::uint64_t free_bytes = 0;           // offered, in: free space in the download dir
  std::uint64_t bytes_per_second = 0;     // progress
  bool by_peer = false;                   // cancelled
  std::string download_dir;               // offered, in: where /accept without a DIR saves it
};

// The answer to /transfers: current transfers and the most recent finished ones, oldest first.
struct Transfers {
  std::vector<TransferSummary> transfers;
};

// The one answer to a JSON command, under the caller's request ID.
struct Result {
  std::string request_id;
  std::string command;
  bool ok = true;
  Code code = Code::usage;  // when !ok
  std::string message;      // when !ok
  // When ok: fields of the answer (an object), merged into the event.
  std::shared_ptr<const nlohmann::ordered_json> data;
};

}  // namespace event

using Event =
    std::variant<event::Ready, event::Connected, event::Queued, event::Sent, event::Message,
                 event::Delivered, event::Disconnected, event::Peers, event::History,
                 event::Problem, event::Result, event::Transfer, event::Transfers>;

// One JSON object per event, with an "event" field naming it (the --json contract).
nlohmann::ordered_json to_json(const Event& event);
// One transfer as the `transfers` event lists it: id, peer, name, direction, state, bytes,
// total_bytes, files, title, destination, message (and code, when failed or paused).
nlohmann::ordered_json to_json(const TransferSummary& transfer);
// The same object as one line of text, with "event_seq" last when `seq` is not 0. The events
// sent for every message (queued, sent, delivered, message) are written directly, without
// building a JSON tree: byte for byte what dumping to_json() would give.
std::string to_json_line(const Event& event, std::uint64_t seq);
// That "event" field's value ("message", "delivered", ..., "error" or "warning").
std::string_view event_name(const Event& event);

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called on the I/O thread; must not block for long.
  virtual void emit(const Event& event) = 0;
};

inline event::Problem error_event(Code code, std::string message) {
  return event::Problem{false, code, std::move(message), std::nullopt, {}};
}
inline event::Problem warning_event(Code code, std::string message) {
  return event::Problem{true, code, std::move(message), std::nullopt, {}};
}

}  // namespace peerchat::node
