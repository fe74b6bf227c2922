// session: the per-connection protocol state machine. It does no I/O: bytes go in through
// prepare_read/commit_read, bytes come out through take_output, time comes from a Clock. That
// keeps it testable back to back in memory; session/connection.hpp puts it on a TLS socket.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "session/credit.hpp"
#include "session/streams.hpp"
#include "util/clock.hpp"
#include "util/codes.hpp"
#include "util/random.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace peerchat::session {

struct ProtocolConfig {
  std::string name;  // our display name, sent in HELLO
  std::uint16_t listen_port = 0;
  std::uint32_t receive_window = 2048;  // CHAT frames the peer may have in flight to us
  Clock::Duration handshake_timeout = std::chrono::seconds(10);
  Clock::Duration keepalive_interval = std::chrono::seconds(30);
  Clock::Duration dead_after = std::chrono::seconds(90);
  // Offer bulk streams in HELLO. Only for applications that consume stream data; a node
  // without a use for streams does not offer them, and a peer that sends them anyway is
  // breaking the protocol.
  bool offer_streams = false;
  StreamLimits streams;
  // Services' HELLO capability bits (node/service.hpp), added to ours.
  std::uint32_t capabilities = 0;
  // Optional frame types (index: type - 0x80) that services handle; they reach the listener's
  // on_service_frame once the session is open. Other optional types are skipped.
  std::bitset<128> service_frames;
};

enum class State { awaiting_hello, open, closed };
std::string_view to_string(State state);

// Why a session ended. `code` is the stable machine-readable reason used in events.
struct CloseReason {
  Code code{};           // a Kinds::reason code (util/codes.hpp)
  std::string message;   // for people
  bool by_peer = false;  // the peer sent BYE (or vanished) rather than us deciding
};

class ProtocolListener {
 public:
  virtual ~ProtocolListener() = default;
  // The peer's HELLO was accepted; the session is open and chat may flow.
  virtual void on_hello(const wire::Hello& hello) = 0;
  // A CHAT within credit. Call Protocol::acknowledge once it is stored.
  virtual void on_chat(wire::Chat&& chat) = 0;
  // The peer has stored every CHAT we sent with seq <= `seq`.
  virtual void on_ack(std::uint64_t seq) = 0;
  // The peer granted more credit.
  virtual void on_credit() = 0;
  // Called exactly once. Pending output (a BYE) should still be written before closing.
  virtual void on_close(const CloseReason& reason) = 0;

  // Bulk streams, only when both sides offered them. Data is valid during the call only; call
  // Protocol::consume_stream once it is dealt with, or the peer runs out of credit.
  virtual void on_stream_open(const wire::StreamOpen& /*open*/) {}
  virtual void on_stream_data(std::uint32_t /*stream*/, std::span<const std::uint8_t> /*data*/) {}
  virtual void on_stream_end(const wire::StreamEnd& /*end*/) {}
  // The peer asked us to stop sending one of our streams; it is closed (cancelled) already.
  virtual void on_stream_stopped(const wire::StreamStop& /*stop*/) {}
  // Room was freed in an outgoing stream's buffer.
  virtual void on_stream_writable() {}
  // A frame of a type in ProtocolConfig::service_frames. The payload is valid during the call.
  virtual void on_service_frame(std::uint8_t /*type*/, std::span<const std::uint8_t> /*payload*/) {}
};

class Protocol {
 public:
  Protocol(ProtocolConfig config, const Clock& clock, Random& random, ProtocolListener& listener);

  // Queues our HELLO and starts the handshake deadline.
  void start();

  // Incoming bytes: write into prepare_read(), then commit_read(n), then process().
  std::span<std::uint8_t> prepare_read(std::size_t size) { return decoder_.prepare(size); }
  void commit_read(std::size_t size);
  void process();

  bool can_send_chat() const { return state_ == State::open && send_window_.can_send(); }
  std::uint64_t send_credit() const { return send_window_.available(); }
  // Queues a CHAT; the caller checked can_send_chat().
  void send_chat(const wire::Chat& chat);

  // Queues a service's frame (a type in service_frames, payload < kMaxFrameSize). Services
  // bring their own flow control: these frames take no credit.
  Result<void> send_frame(std::uint8_t type, std::span<const std::uint8_t> payload);

  // `messages` received CHATs are stored, up to and including `seq`. ACK and CREDIT are
  // coalesced and go out at the next flush() (process() flushes at its end).
  void acknowledge(std::uint64_t seq, std::uint32_t messages);
  void flush();

  // Bulk streams (see session/streams.hpp). Usable once open, if both sides offered them.
  bool streams_enabled() const { return state_ == State::open && streams_enabled_; }
  Result<std::uint32_t> open_stream(std::string label, std::uint64_t size);
  // Bytes accepted; fewer than offered when the stream's buffer is full (wait for
  // on_stream_writable).
  std::size_t write_stream(std::uint32_t stream, std::span<const std::uint8_t> data);
  std::size_t stream_room(std::uint32_t stream) const { return outgoing_.room(stream); }
  void end_stream(std::uint32_t stream) { outgoing_.end(stream); }
  void cancel_stream(std::uint32_t stream, std::string message);
  // Asks the peer to stop sending one of its streams.
  void stop_stream(std::uint32_t stream, std::string message);
  void consume_stream(std::size_t bytes) { incoming_.consume(bytes); }

  // Sends BYE ahead of anything still queued and ends the session.
  void close(wire::ByeReason reason, std::string message);
  // The transport failed or the peer hung up without BYE.
  void on_transport_closed(std::string message);

  // Keepalive and deadlines. Returns when it next needs to run.
  Clock::TimePoint on_timer();

  bool has_output() const {
    return !output_.empty() || (state_ == State::open && outgoing_.ready());
  }
  // Swaps queued output into `into` (whose old contents are discarded, capacity reused), then
  // adds at most one chunk of stream data: chat never waits behind more than that.
  void take_output(wire::Bytes& into);
  // The same, but a whole block of stream data may come as `tail` (empty or not), to be
  // written after `into` without being copied; give it back with recycle() once written.
  void take_output(wire::Bytes& into, wire::Bytes& tail);
  void recycle(wire::Bytes&& tail) { outgoing_.recycle(std::move(tail)); }

  State state() const { return state_; }
  const wire::Hello& peer_hello() const { return peer_hello_; }

 private:
  void dispatch(const wire::FrameView& frame);
  void on_hello_frame(std::span<const std::uint8_t> payload);
  void on_open_frame(const wire::FrameView& frame);
  void on_stream_frame(const wire::FrameView& frame);
  void fail(wire::ByeReason reason, std::string message);
  void finish(CloseReason reason);

  ProtocolConfig config_;
  const Clock& clock_;
  Random& random_;
  ProtocolListener& listener_;

  State state_ = State::awaiting_hello;
  wire::FrameDecoder decoder_;
  wire::Bytes output_;
  wire::Hello peer_hello_;
  wire::Chat incoming_chat_;  // decode target, reused
  SendWindow send_window_;
  ReceiveWindow receive_window_;
  OutgoingStreams outgoing_;
  IncomingStreams incoming_;
  bool streams_enabled_ = false;

  std::uint64_t ack_due_ = 0;  // highest stored seq not yet acknowledged; 0 when none
  Clock::TimePoint started_{};
  Clock::TimePoint last_received_{};
  Clock::TimePoint last_sent_{};
  std::uint64_t ping_nonce_ = 0;
};

}  // namespace peerchat::session
