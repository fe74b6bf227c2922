// node: the peer engine. It owns the listener, every connection (keyed by authenticated peer
// ID, never by address), the per-peer outboxes and trust decisions. Front ends drive it with
// commands and hear back through events; everything here runs on the one I/O thread.
#pragma once

#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/address.hpp"
#include "net/asio_util.hpp"
#include "node/events.hpp"
#include "util/outcome.hpp"
#include "session/connection.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"
#include "util/failpoints.hpp"

namespace peerchat::node {

struct NodeConfig {
  std::string name;
  bool listen = true;
  std::uint16_t port = 7001;  // 0: any free port
  session::ProtocolConfig protocol;
  std::chrono::seconds dial_timeout{10};
  std::size_t max_unauthenticated = 256;             // connections still in TLS/HELLO, in total
  std::size_t max_unauthenticated_per_address = 16;  // ... and from one source address
  std::size_t max_queue_per_peer = 10'000;           // messages not yet acknowledged
  bool redial = true;  // keep reconnecting to known peers at their last address
  std::chrono::milliseconds redial_initial{1000};
  std::chrono::milliseconds redial_max{60'000};
  Failpoints* failpoints = nullptr;  // durability tests only
};

class Node final : private session::ConnectionObserver {
 public:
  Node(asio::io_context& io, NodeConfig config, const tls::Identity& identity, store::Store& store,
       const Clock& clock, Random& random, EventSink& events);
  ~Node() override;

  // Binds the listening socket (IPv6 dual-stack, else IPv4). Errors name the port.
  Result<std::uint16_t> listen();
  // Loads known peers and the outbox from the store, and starts reconnecting to known peers.
  Result<void> restore();
  // Emits `ready`; call once the node is listening.
  void announce_ready();

  // Commands that answer the caller: a value or a typed failure, and no event for a failure.
  // Finds a peer by name, full ID or ID prefix (>= 4 characters).
  Outcome<tls::PeerId> find_peer(std::string_view query) const;
  // Queues a message (committed to the outbox in the next group commit); its ID.
  Outcome<wire::MessageId> submit_message(std::string_view peer_query, std::string text);
  // Connected peers, by name.
  std::vector<PeerSummary> peers() const;
  // The last `count` messages with a peer, oldest first.
  Outcome<event::History> history(std::string_view peer_query, std::size_t count);

  // The same for the REPL: results as events, failures as error events.
  void connect(std::string_view target);
  std::optional<wire::MessageId> send_message(std::string_view peer_query, std::string text);
  void list_peers();
  void show_history(std::string_view peer_query, std::size_t count);
  std::optional<tls::PeerId> resolve_peer(std::string_view query);
  // False while `peer`'s queue (messages not yet acknowledged) is full: a send would fail with
  // queue_full. Front ends that can wait (a script's stdin) hold their input until it is not.
  bool queue_has_room(const tls::PeerId& peer) const;
  // Peers with an open session, for front ends deciding where a plain line goes.
  std::vector<tls::PeerId> connected_peers() const;
  std::string display_name(const tls::PeerId& peer) const;

  // Reports a front end's own error (bad command, usage) through the same event stream.
  void report_error(Code code, std::string message) {
    report(error_event(code, std::move(message)));
  }

  // Says BYE to everyone, stops listening, and calls `done` once every connection has ended
  // (or after a short grace period).
  void shutdown(wire::ByeReason reason, std::string message, std::function<void()> done);

  const tls::PeerId& id() const { return identity_.id(); }
  std::uint16_t port() const { return port_; }

 private:
  // A new message ID: send time first, then random bits (see messaging.cpp).
  wire::MessageId new_message_id(std::int64_t now_ms);
  struct Outgoing {
    wire::Chat chat;
    bool sent = false;  // a `sent` event went out (only the first transmission is announced)
  };
  struct PeerState {
    tls::PeerId id;
    std::string name;
    std::string address;
    std::vector<std::shared_ptr<session::Connection>> connections;  // open; back() sends
    std::deque<Outgoing> unsent;    // committed to the outbox, in seq order
    std::deque<Outgoing> inflight;  // sent on the primary connection, not yet acknowledged
    std::size_t drafted = 0;        // submitted, waiting for the group commit
    bool announced = false;         // a `connected` event is out and no `disconnected` yet
    // Reconnecting: every address the peer was reached at or announced, the most recently
    // successful first; each redial tries the next, and backoff grows after a full round.
    std::vector<std::string> dial_addresses;
    std::size_t next_address = 0;
    bool dialing = false;
    int failed_dials = 0;
    Clock::TimePoint next_dial{};
    bool warned_identity = false;
  };
  struct Pending {
    std::shared_ptr<session::Connection> connection;
    std::string source;                   // source IP, for the per-address cap (inbound only)
    std::optional<tls::PeerId> expected;  // outbound: who we meant to reach
    std::string dialed_address;           // outbound: the address as the user gave it
    bool explicit_id = false;             // outbound: the user named the ID (ID@HOST:PORT)
    bool automatic = false;               // outbound: a reconnect, not a user's /connect
  };

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> confirm_disconnect(tls::PeerId id, session::CloseReason reason);
  asio::awaitable<void> drain(std::vector<std::shared_ptr<session::Connection>> closing,
                              std::function<void()> done);
  asio::awaitable<void> dial(net::DialTarget target, std::optional<tls::PeerId> expected,
                             bool automatic);
  asio::awaitable<void> redial_loop();
  void dial_failed(const tls::PeerId& peer);
  // `address` worked (or was announced) just now: it goes first in the peer's list.
  void reached_at(PeerState& peer, const std::string& address, std::string_view source);
  void adopt(asio::ip::tcp::socket socket, session::Direction direction, std::string address,
             Pending pending);

  // ConnectionObserver
  std::optional<session::Rejection> on_authenticated(session::Connection& connection) override;
  void on_open(session::Connection& connection) override;
  void on_chats(session::Connection& connection, session::InboundBatch&& batch) override;
  void on_ack(session::Connection& connection, std::uint64_t seq) override;
  void on_credit(session::Connection& connection) override;
  void on_closed(session::Connection& connection, const session::CloseReason& reason) override;

  void pump(PeerState& peer);
  void commit_drafts();
  void requeue_inflight(PeerState& peer);
  void report(event::Problem problem);
  PeerSummary summary(const PeerState& peer) const;
  void release_pending(session::Connection& connection);
  session::ConnectionObserver& observer() { return *this; }

  asio::io_context& io_;
  NodeConfig config_;
  const tls::Identity& identity_;
  store::Store& store_;
  const Clock& clock_;
  Random& random_;
  EventSink& events_;
  asio::ssl::context server_tls_;
  asio::ssl::context client_tls_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  std::uint64_t next_serial_ = 1;

  std::unordered_map<tls::PeerId, PeerState, tls::PeerIdHash> peers_;
  // Messages submitted but not yet committed (group commit; see send_message).
  std::vector<store::OutgoingDraft> drafts_;
  bool commit_scheduled_ = false;
  // Connections not yet open (TLS or HELLO in progress), keyed by serial.
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::unordered_map<std::string, std::size_t> pending_per_source_;
  // Every live connection, so shutdown can reach them and lifetimes are clear.
  std::unordered_map<std::uint64_t, std::shared_ptr<session::Connection>> live_;
};

}  // namespace peerchat::node
