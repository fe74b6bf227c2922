// node: sessions, from socket to authenticated peer. Listens and accepts (with caps on
// connections still in TLS or HELLO, in total and per source address), dials and redials known
// peers over every address they were reached at, asks Trust about each identity, settles
// crossed dials and duplicates, and keeps the registry's session lists. What a session carries
// is not its business: it hands open sessions, frames and closes to a SessionListener (the
// node core, which routes them to services).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/transport.hpp"
#include "node/peer_registry.hpp"
#include "node/store_access.hpp"
#include "node/trust.hpp"
#include "session/connection.hpp"
#include "tls/identity.hpp"
#include "util/random.hpp"

namespace peerchat::node {

struct ConnectionLimits {
  std::chrono::seconds dial_timeout{10};
  std::size_t max_unauthenticated = 256;             // connections still in TLS/HELLO, in total
  std::size_t max_unauthenticated_per_address = 16;  // ... and from one source address
  bool redial = true;  // keep reconnecting to known peers at the addresses they were reached at
  std::chrono::milliseconds redial_initial{1000};
  std::chrono::milliseconds redial_max{60'000};
};

// What the manager tells the node core about authenticated sessions.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  virtual void session_open(PeerEntry& peer, session::Connection& connection) = 0;
  virtual void session_closed(PeerEntry& peer, session::Connection& connection,
                              const session::CloseReason& reason) = 0;
  virtual void chats(PeerEntry& peer, session::Connection& connection,
                     session::InboundBatch&& batch) = 0;
  virtual void ack(PeerEntry& peer, session::Connection& connection, std::uint64_t seq) = 0;
  virtual void credit(PeerEntry& peer, session::Connection& connection) = 0;
  virtual void frame(PeerEntry& peer, session::Connection& connection, std::uint8_t type,
                     std::span<const std::uint8_t> payload) = 0;
  virtual void frames_end(PeerEntry& peer, session::Connection& connection) = 0;
  virtual void stream_open(PeerEntry& peer, session::Connection& connection,
                           const wire::StreamOpen& open) = 0;
  virtual void stream_data(PeerEntry& peer, session::Connection& connection, std::uint32_t stream,
                           std::span<const std::uint8_t> data) = 0;
  virtual void stream_end(PeerEntry& peer, session::Connection& connection,
                          const wire::StreamEnd& end) = 0;
  virtual void stream_stopped(PeerEntry& peer, session::Connection& connection,
                              const wire::StreamStop& stop) = 0;
  virtual void stream_writable(PeerEntry& peer, session::Connection& connection) = 0;
};

class ConnectionManager final : private session::ConnectionObserver {
 public:
  // How a /connect ended: the peer it reached, or why not.
  using ConnectDone = std::function<void(Outcome<PeerSummary>)>;

  ConnectionManager(asio::any_io_executor executor, net::Transport& transport,
                    const tls::Identity& identity, ConnectionLimits limits,
                    session::ProtocolConfig protocol, PeerRegistry& registry, Trust& trust,
                    StoreAccess& store, const Clock& clock, Random& random, EventSink& events,
                    SessionListener& listener);
  ~ConnectionManager() override;

  // Services' capability bits and frame types go in here before the first session.
  session::ProtocolConfig& protocol_config() { return protocol_; }

  Outcome<std::uint16_t> listen(std::uint16_t port);
  std::uint16_t port() const { return port_; }
  void start_redialing();

  // Dials `target` (HOST:PORT or ID@HOST:PORT). `done` runs exactly once: when the session is
  // open, or with the failure (which is also reported as an error event if `report`).
  void connect(std::string_view target, ConnectDone done, bool report = true);

  // BYE to everyone, stop listening; `done` once every connection has finished (or after a
  // short grace period).
  void shutdown(wire::ByeReason reason, std::string message, std::function<void()> done);
  bool stopping() const { return stopping_; }

 private:
  struct Pending {
    std::shared_ptr<session::Connection> connection;
    std::string source;                // source IP, for the per-address cap (inbound only)
    std::optional<DialIntent> intent;  // outbound only
    ConnectDone done;                  // outbound /connect waiting for its result
  };

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> dial(net::DialTarget target, DialIntent intent, ConnectDone done);
  asio::awaitable<void> redial_loop();
  asio::awaitable<void> confirm_disconnect(tls::PeerId id, session::CloseReason reason);
  asio::awaitable<void> drain(std::vector<std::shared_ptr<session::Connection>> closing,
                              std::function<void()> done);
  void adopt(net::StreamSocket socket, session::Direction direction, std::string address,
             Pending pending);
  void release_pending(session::Connection& connection);
  void dial_failed(const tls::PeerId& peer);
  // `address` worked (or was announced) just now: it goes first in the peer's list.
  void reached_at(PeerEntry& peer, const std::string& address, std::string_view source);
  void report(event::Problem problem);
  void store_write(std::function<Result<void>(store::Store&)> write);
  PeerEntry* peer_of(session::Connection& connection);
  session::ConnectionObserver& observer() { return *this; }

  // ConnectionObserver
  std::optional<session::Rejection> on_authenticated(session::Connection& connection) override;
  void on_open(session::Connection& connection) override;
  void on_chats(session::Connection& connection, session::InboundBatch&& batch) override;
  void on_ack(session::Connection& connection, std::uint64_t seq) override;
  void on_credit(session::Connection& connection) override;
  void on_closed(session::Connection& connection, const session::CloseReason& reason) override;
  void on_frame(session::Connection& connection, std::uint8_t type,
                std::span<const std::uint8_t> payload) override;
  void on_frames_end(session::Connection& connection) override;
  void on_stream_open(session::Connection& connection, const wire::StreamOpen& open) override;
  void on_stream_data(session::Connection& connection, std::uint32_t stream,
                      std::span<const std::uint8_t> data) override;
  void on_stream_end(session::Connection& connection, const wire::StreamEnd& end) override;
  void on_stream_stopped(session::Connection& connection, const wire::StreamStop& stop) override;
  void on_stream_writable(session::Connection& connection) override;

  asio::any_io_executor executor_;
  net::Transport& transport_;
  const tls::Identity& identity_;
  ConnectionLimits limits_;
  session::ProtocolConfig protocol_;
  PeerRegistry& registry_;
  Trust& trust_;
  StoreAccess& store_;
  const Clock& clock_;
  Random& random_;
  EventSink& events_;
  SessionListener& listener_;
  SSL_CTX* server_tls_ = nullptr;
  SSL_CTX* client_tls_ = nullptr;

  std::uint16_t port_ = 0;
  bool listening_ = false;
  bool stopping_ = false;
  std::uint64_t next_serial_ = 1;
  // Connections not yet open (TLS or HELLO in progress), keyed by serial.
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::unordered_map<std::string, std::size_t> pending_per_source_;
  // Every live connection, so shutdown can reach them and lifetimes are clear.
  std::unordered_map<std::uint64_t, std::shared_ptr<session::Connection>> live_;
  // False once the manager is gone: what it posted or suspended checks before going on.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace peerchat::node
