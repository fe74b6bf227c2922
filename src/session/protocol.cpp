#include "session/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "wire/errors.hpp"

namespace peerchat::session {

using wire::ByeReason;
using wire::FrameType;

std::string_view to_string(State state) {
  switch (state) {
    case State::awaiting_hello:
      return "awaiting_hello";
    case State::open:
      return "open";
    case State::closed:
      return "closed";
  }
  return "unknown";
}

Protocol::Protocol(ProtocolConfig config, const Clock& clock, Random& random,
                   ProtocolListener& listener)
    : config_(std::move(config)),
      clock_(clock),
      random_(random),
      listener_(listener),
      receive_window_(config_.receive_window) {}

void Protocol::start() {
  started_ = last_received_ = clock_.now();
  random_.fill({reinterpret_cast<std::uint8_t*>(&ping_nonce_), sizeof ping_nonce_});
  wire::encode(output_, wire::Hello{wire::kProtocolVersion, config_.listen_port, 0, config_.name});
  note_output();
}

void Protocol::commit_read(std::size_t size) {
  decoder_.commit(size);
  if (size > 0) last_received_ = clock_.now();
}

void Protocol::process() {
  // Bounded by the bytes buffered: each iteration consumes one whole frame.
  while (state_ != State::closed) {
    auto frame = decoder_.next();
    if (!frame) {
      fail(ByeReason::protocol_error, frame.error().message);
      return;
    }
    if (!frame.value()) break;
    dispatch(**frame);
  }
  flush();
}

void Protocol::dispatch(const wire::FrameView& frame) {
  if (state_ == State::awaiting_hello) {
    // BYE is allowed first so that a peer refusing us (duplicate, wrong identity) can say why.
    if (frame.type == static_cast<std::uint8_t>(FrameType::bye)) return on_open_frame(frame);
    if (frame.type != static_cast<std::uint8_t>(FrameType::hello)) {
      fail(ByeReason::protocol_error,
           fmt::format("frame type 0x{:02x} arrived before HELLO", frame.type));
      return;
    }
    on_hello_frame(frame.payload);
    return;
  }
  on_open_frame(frame);
}

void Protocol::on_hello_frame(std::span<const std::uint8_t> payload) {
  // Check the version first, so a future HELLO layout still gets a clear answer.
  if (payload.size() >= 2) {
    const auto version = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
    if (version != wire::kProtocolVersion) {
      fail(ByeReason::version_mismatch,
           fmt::format("peer speaks protocol version {}, we speak {}; upgrade the older side",
                       version, wire::kProtocolVersion));
      return;
    }
  }
  auto hello = wire::decode_hello(payload);
  if (!hello) {
    fail(ByeReason::protocol_error, hello.error().message);
    return;
  }
  peer_hello_ = std::move(hello.value());
  state_ = State::open;
  wire::encode(output_, wire::Credit{receive_window_.initial_grant()});
  note_output();
  listener_.on_hello(peer_hello_);
}

void Protocol::on_open_frame(const wire::FrameView& frame) {
  switch (frame.type) {
    case static_cast<std::uint8_t>(FrameType::chat): {
      auto chat = wire::decode_chat(frame.payload);
      if (!chat) return fail(ByeReason::protocol_error, chat.error().message);
      if (!receive_window_.on_message()) {
        return fail(ByeReason::protocol_error, "CHAT sent beyond the granted credit");
      }
      listener_.on_chat(std::move(chat.value()));
      return;
    }
    case static_cast<std::uint8_t>(FrameType::ack): {
      auto ack = wire::decode_ack(frame.payload);
      if (!ack) return fail(ByeReason::protocol_error, ack.error().message);
      listener_.on_ack(ack->seq);
      return;
    }
    case static_cast<std::uint8_t>(FrameType::credit): {
      auto credit = wire::decode_credit(frame.payload);
      if (!credit) return fail(ByeReason::protocol_error, credit.error().message);
      send_window_.grant(credit->grant);
      listener_.on_credit();
      return;
    }
    case static_cast<std::uint8_t>(FrameType::ping): {
      auto ping = wire::decode_ping(frame.payload);
      if (!ping) return fail(ByeReason::protocol_error, ping.error().message);
      wire::encode(output_, wire::Pong{ping->nonce});
      note_output();
      return;
    }
    case static_cast<std::uint8_t>(FrameType::pong): {
      auto pong = wire::decode_pong(frame.payload);
      if (!pong) return fail(ByeReason::protocol_error, pong.error().message);
      return;  // any traffic already counts as liveness
    }
    case static_cast<std::uint8_t>(FrameType::bye): {
      auto bye = wire::decode_bye(frame.payload);
      if (!bye) return fail(ByeReason::protocol_error, bye.error().message);
      CloseReason reason{std::string(wire::to_string(bye->reason)), bye->message, true};
      if (reason.message.empty()) reason.message = "the peer ended the session";
      return finish(std::move(reason));
    }
    case static_cast<std::uint8_t>(FrameType::hello):
      return fail(ByeReason::protocol_error, "a second HELLO on an open session");
    default:
      if (frame.type >= wire::kFirstOptionalType) return;  // optional: skip what we don't know
      return fail(ByeReason::protocol_error,
                  fmt::format("unknown frame type 0x{:02x}", frame.type));
  }
}

void Protocol::send_chat(const wire::Chat& chat) {
  send_window_.consume();
  wire::encode(output_, chat);
  note_output();
}

void Protocol::acknowledge(std::uint64_t seq, std::uint32_t messages) {
  ack_due_ = std::max(ack_due_, seq);
  receive_window_.release(messages);
}

void Protocol::flush() {
  if (state_ != State::open) return;
  if (ack_due_ != 0) {
    wire::encode(output_, wire::Ack{ack_due_});
    ack_due_ = 0;
    note_output();
  }
  if (const std::uint32_t grant = receive_window_.take_regrant(); grant > 0) {
    wire::encode(output_, wire::Credit{grant});
    note_output();
  }
}

void Protocol::close(ByeReason reason, std::string message) {
  if (state_ == State::closed) return;
  // BYE jumps the queue: unsent frames are dropped; unacknowledged chat is resent later.
  output_.clear();
  wire::encode(output_, wire::Bye{reason, message});
  note_output();
  std::string code(wire::to_string(reason));
  if (reason == ByeReason::quit) code = "local_quit";
  finish(CloseReason{std::move(code), std::move(message), false});
}

void Protocol::fail(ByeReason reason, std::string message) {
  close(reason, std::move(message));
}

void Protocol::on_transport_closed(std::string message) {
  if (state_ == State::closed) return;
  output_.clear();
  finish(CloseReason{"connection_lost", std::move(message), true});
}

void Protocol::finish(CloseReason reason) {
  state_ = State::closed;
  listener_.on_close(reason);
}

Clock::TimePoint Protocol::on_timer() {
  const auto now = clock_.now();
  switch (state_) {
    case State::awaiting_hello:
      if (now - started_ >= config_.handshake_timeout) {
        fail(ByeReason::timeout, "no HELLO before the handshake deadline");
        return now;
      }
      return started_ + config_.handshake_timeout;
    case State::open:
      if (now - last_received_ >= config_.dead_after) {
        fail(ByeReason::timeout,
             fmt::format(
                 "nothing heard for {} s; the peer is presumed dead",
                 std::chrono::duration_cast<std::chrono::seconds>(config_.dead_after).count()));
        return now;
      }
      if (now - last_sent_ >= config_.keepalive_interval) {
        wire::encode(output_, wire::Ping{++ping_nonce_});
        note_output();
      }
      return std::min(last_sent_ + config_.keepalive_interval, last_received_ + config_.dead_after);
    case State::closed:
      return now + config_.keepalive_interval;
  }
  return now;
}

void Protocol::take_output(wire::Bytes& into) {
  into.clear();
  std::swap(into, output_);
}

}  // namespace peerchat::session
