// session: one TLS connection to one peer. A reader coroutine feeds the Protocol, a single
// writer coroutine drains it, a watchdog enforces deadlines and keepalive. The node talks to
// it only through the methods below, on the I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/asio_util.hpp"
#include "net/timer.hpp"
#include "net/transport.hpp"
#include "session/inbound_batch.hpp"
#include "session/protocol.hpp"
#include "tls/peer_id.hpp"
#include "tls/stream.hpp"

namespace peerchat::session {

enum class Direction { inbound, outbound };
std::string_view to_string(Direction direction);

class Connection;

// Why the node refuses an authenticated peer; sent to the peer in BYE.
struct Rejection {
  wire::ByeReason reason;
  std::string message;
};

// What the node hears from a connection. All calls happen on the I/O thread.
class ConnectionObserver {
 public:
  virtual ~ConnectionObserver() = default;
  // TLS is done and the peer's identity is known. An error closes the connection with that
  // reason before any application data is processed.
  virtual std::optional<Rejection> on_authenticated(Connection& connection) = 0;
  virtual void on_open(Connection& connection) = 0;  // both HELLOs are in
  // One read's worth of CHATs from this connection (group commit: store them in one
  // transaction, then acknowledge them together with Connection::acknowledge(batch)). Also
  // called with what was read before a read error or a close, so nothing half-collected is
  // left behind; acknowledging on a closed connection does nothing and the peer resends.
  virtual void on_chats(Connection& connection, InboundBatch&& batch) = 0;
  virtual void on_ack(Connection& connection, std::uint64_t seq) = 0;
  virtual void on_credit(Connection& connection) = 0;
  // Exactly once per connection, whether or not it ever opened.
  virtual void on_closed(Connection& connection, const CloseReason& reason) = 0;

  // Bulk streams: only connections whose ProtocolConfig offers them (see ProtocolListener).
  virtual void on_stream_open(Connection& /*connection*/, const wire::StreamOpen& /*open*/) {}
  virtual void on_stream_data(Connection& /*connection*/, std::uint32_t /*stream*/,
                              std::span<const std::uint8_t> /*data*/) {}
  virtual void on_stream_end(Connection& /*connection*/, const wire::StreamEnd& /*end*/) {}
  virtual void on_stream_stopped(Connection& /*connection*/, const wire::StreamStop& /*stop*/) {}
  virtual void on_stream_writable(Connection& /*connection*/) {}

  // Services' own frames (ProtocolConfig::service_frames), then once at the end of the read
  // that brought them, so a service can commit what one read brought together.
  virtual void on_frame(Connection& /*connection*/, std::uint8_t /*type*/,
                        std::span<const std::uint8_t> /*payload*/) {}
  virtual void on_frames_end(Connection& /*connection*/) {}
};

class Connection final : public std::enable_shared_from_this<Connection>, private ProtocolListener {
 public:
  // `clock` drives every deadline, the watchdog's sleep included (a FakeClock in tests).
  Connection(std::uint64_t serial, net::StreamSocket socket, SSL_CTX* tls, Direction direction,
             std::string remote_address, ProtocolConfig config, const Clock& clock, Random& random,
             ConnectionObserver& observer);
  ~Connection() override;

  // Runs the TLS handshake, then the protocol, until the connection ends.
  void start();

  // A service's frame; see Protocol::send_frame. Wakes the writer.
  Result<void> send_frame(std::uint8_t type, std::span<const std::uint8_t> payload);
  // The HELLO capability bits the peer offered.
  std::uint32_t peer_capabilities() const { return protocol_.peer_hello().capabilities; }

  bool can_send_chat() const { return protocol_.can_send_chat(); }
  void send_chat(const wire::Chat& chat);
  // The batch's messages are stored: ACK them and give their credit back. Only a batch this
  // connection read is accepted (false otherwise, and nothing is sent).
  bool acknowledge(const InboundBatch& batch);
  void close(wire::ByeReason reason, std::string message);

  // Bulk streams; see Protocol. Writes wake the writer.
  bool streams_enabled() const { return protocol_.streams_enabled(); }
  Result<std::uint32_t> open_stream(std::string label, std::uint64_t size);
  std::size_t write_stream(std::uint32_t stream, std::span<const std::uint8_t> data);
  std::size_t stream_room(std::uint32_t stream) const { return protocol_.stream_room(stream); }
  void end_stream(std::uint32_t stream);
  void cancel_stream(std::uint32_t stream, std::string message);
  void stop_stream(std::uint32_t stream, std::string message);
  void consume_stream(std::size_t bytes);

  // Ends the connection at once, without BYE (e.g. before TLS is done).
  void abort(CloseReason reason);
  // The observer is going away (the node is destroyed while the loop may still run): nothing
  // is reported to it again, and the socket closes so that the coroutines end.
  void detach();

  asio::any_io_executor executor() { return stream_.get_executor(); }
  std::uint64_t serial() const { return serial_; }
  Direction direction() const { return direction_; }
  const std::string& remote_address() const { return remote_address_; }
  const tls::PeerId& peer_id() const { return peer_id_; }
  bool authenticated() const { return authenticated_; }
  State state() const { return protocol_.state(); }
  // The socket is closed and both coroutines are done (BYE, if any, has been written).
  bool finished() const { return finished_; }
  const wire::Hello& peer_hello() const { return protocol_.peer_hello(); }

 private:
  asio::awaitable<void> run();
  asio::awaitable<void> writer();
  asio::awaitable<void> watchdog();
  asio::awaitable<void> finish_if_last();
  void wake_writer();
  void close_socket();
  void report_closed(const CloseReason& reason);
  void end_batch();

  // ProtocolListener
  void on_hello(const wire::Hello& hello) override;
  void on_chat(wire::Chat&& chat) override;
  void on_ack(std::uint64_t seq) override;
  void on_credit() override;
  void on_close(const CloseReason& reason) override;
  void on_stream_open(const wire::StreamOpen& open) override;
  void on_stream_data(std::uint32_t stream, std::span<const std::uint8_t> data) override;
  void on_stream_end(const wire::StreamEnd& end) override;
  void on_stream_stopped(const wire::StreamStop& stop) override;
  void on_stream_writable() override;
  void on_service_frame(std::uint8_t type, std::span<const std::uint8_t> payload) override;

  tls::Stream stream_;
  Direction direction_;
  std::string remote_address_;
  ProtocolConfig config_;
  const Clock& clock_;
  ConnectionObserver* observer_;  // never null: detach() swaps in one that ignores everything
  Protocol protocol_;
  // An event, not a deadline: never expires, cancelled to wake the writer; so not on the clock.
  asio::steady_timer writer_wake_;
  net::Timer watchdog_timer_;
  Clock::TimePoint handshake_deadline_;
  Clock::TimePoint close_deadline_{};
  std::uint64_t serial_;
  tls::PeerId peer_id_;
  bool authenticated_ = false;
  bool closed_reported_ = false;
  std::optional<InboundBatch> batch_;  // CHATs read since the last batch end
  bool in_read_batch_ = false;
  bool frames_in_batch_ = false;  // service frames were delivered since the last batch end
  bool reader_done_ = false;
  bool writer_done_ = false;
  bool transport_failed_ = false;
  bool graceful_close_ = true;
  bool finished_ = false;
};

}  // namespace peerchat::session
