// node: a feature of the node (messaging, and next file transfer, rooms, discovery) is a
// service. The node core owns sessions and peers; a service gets per-peer callbacks and sends
// on the peer's primary session. Each service claims its own HELLO capability bits and
// optional frame types (0x80-0xFF) at registration, so services are added without editing
// each other (docs/architecture.md has a worked example).
//
// Every callback runs on the I/O thread and must not block: store work goes through the
// node's StoreAccess, anything slower onto a thread of the service's own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/peer_registry.hpp"
#include "session/connection.hpp"
#include "util/result.hpp"

namespace peerchat::node {

class Service {
 public:
  virtual ~Service() = default;
  virtual std::string_view name() const = 0;

  // HELLO capability bits this service offers; a peer that offers them too runs it.
  virtual std::uint32_t capabilities() const { return 0; }
  // Optional frame types (>= wire::kFirstOptionalType) that reach this service's on_frame.
  virtual std::vector<std::uint8_t> frame_types() const { return {}; }

  // Start-up, after the registry is loaded from the store and before any session.
  virtual Result<void> restore() { return {}; }
  // `connection` is now `peer`'s primary session: a first session, or one that replaced
  // another (whatever was in flight on the old one must go again on this one).
  virtual void on_session_open(PeerEntry& /*peer*/, session::Connection& /*connection*/) {}
  // A frame of one of this service's types. The payload is valid during the call only.
  virtual void on_frame(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                        std::uint8_t /*type*/, std::span<const std::uint8_t> /*payload*/) {}
  // The read that brought the frames since the last call is over: commit them together.
  virtual void on_batch_end(PeerEntry& /*peer*/, session::Connection& /*connection*/) {}
  // A session with `peer` ended; `peer.primary()` is the survivor, if any.
  virtual void on_session_closed(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                                 const session::CloseReason& /*reason*/) {}

  // Bulk streams (docs/protocol.md 3.1). A stream the peer opens reaches the service whose
  // label prefix it starts with; one no service claims is stopped. A service opens its own
  // with Connection::open_stream and must return credit with consume_stream as it uses the
  // data, so a slow consumer holds back only the sender. Sessions offer streams once any
  // service claims a prefix.
  virtual std::vector<std::string> stream_prefixes() const { return {}; }
  virtual void on_stream_open(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                              const wire::StreamOpen& /*open*/) {}
  // Valid during the call only.
  virtual void on_stream_data(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                              std::uint32_t /*stream*/, std::span<const std::uint8_t> /*data*/) {}
  virtual void on_stream_end(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                             const wire::StreamEnd& /*end*/) {}
  // The peer stopped a stream we opened. Every stream-using service hears of every stop (and
  // of writable), and ignores the IDs it did not open.
  virtual void on_stream_stopped(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                                 const wire::StreamStop& /*stop*/) {}
  virtual void on_stream_writable(PeerEntry& /*peer*/, session::Connection& /*connection*/) {}
};

// CHAT, ACK and CREDIT are core frames: the session layer itself flow-controls them (credit
// windows, cumulative ACKs, group commit per read), so they reach the one service that claims
// them, messaging, through these typed calls instead of on_frame.
class ChatHandler {
 public:
  virtual ~ChatHandler() = default;
  virtual void on_chats(PeerEntry& peer, session::Connection& connection,
                        session::InboundBatch&& batch) = 0;
  virtual void on_ack(PeerEntry& peer, session::Connection& connection, std::uint64_t seq) = 0;
  virtual void on_credit(PeerEntry& peer, session::Connection& connection) = 0;
};

}  // namespace peerchat::node
