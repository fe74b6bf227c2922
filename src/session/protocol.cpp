#include "session/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "wire/errors.hpp"
#include "wire/streams.hpp"
#include "wire/utf8.hpp"

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
      receive_window_(config_.receive_window),
      outgoing_(config_.streams),
      incoming_(config_.streams) {}

void Protocol::start() {
  started_ = last_received_ = last_sent_ = clock_.now();
  random_.fill({reinterpret_cast<std::uint8_t*>(&ping_nonce_), sizeof ping_nonce_});
  const std::uint32_t capabilities =
      (config_.offer_streams ? wire::kCapabilityStreams : 0) | config_.capabilities;
  wire::encode(output_, wire::Hello{wire::kProtocolVersion, config_.listen_port, capabilities,
                                    config_.name});
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
  streams_enabled_ =
      config_.offer_streams && (peer_hello_.capabilities & wire::kCapabilityStreams) != 0;
  if (streams_enabled_) wire::encode(output_, wire::StreamCredit{incoming_.initial_grant()});
  listener_.on_hello(peer_hello_);
}

void Protocol::on_open_frame(const wire::FrameView& frame) {
  switch (frame.type) {
    case static_cast<std::uint8_t>(FrameType::chat): {
      auto decoded = wire::decode_chat_into(frame.payload, incoming_chat_);
      if (!decoded) return fail(ByeReason::protocol_error, decoded.error().message);
      if (!receive_window_.on_message()) {
        return fail(ByeReason::protocol_error, "CHAT sent beyond the granted credit");
      }
      // The listener may take the text; if it only reads it, the next CHAT reuses its memory.
      listener_.on_chat(std::move(incoming_chat_));
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
      CloseReason reason{wire::to_code(bye->reason), bye->message, true};
      if (reason.message.empty()) reason.message = "the peer ended the session";
      return finish(std::move(reason));
    }
    case static_cast<std::uint8_t>(FrameType::hello):
      return fail(ByeReason::protocol_error, "a second HELLO on an open session");
    case static_cast<std::uint8_t>(FrameType::stream_open):
    case static_cast<std::uint8_t>(FrameType::stream_data):
    case static_cast<std::uint8_t>(FrameType::stream_end):
    case static_cast<std::uint8_t>(FrameType::stream_stop):
    case static_cast<std::uint8_t>(FrameType::stream_credit):
      if (!streams_enabled_) {
        return fail(ByeReason::protocol_error,
                    fmt::format("{} frame, but streams were not agreed in HELLO",
                                wire::to_string(static_cast<FrameType>(frame.type))));
      }
      return on_stream_frame(frame);
    default:
      if (frame.type >= wire::kFirstOptionalType) {
        if (config_.service_frames.test(frame.type - wire::kFirstOptionalType)) {
          listener_.on_service_frame(frame.type, frame.payload);
        }
        return;  // optional: skip what we don't know
      }
      return fail(ByeReason::protocol_error,
                  fmt::format("unknown frame type 0x{:02x}", frame.type));
  }
}

void Protocol::on_stream_frame(const wire::FrameView& frame) {
  switch (frame.type) {
    case static_cast<std::uint8_t>(FrameType::stream_data): {
      std::span<const std::uint8_t> data;
      auto header = wire::decode_stream_data(frame.payload, data);
      if (!header) return fail(ByeReason::protocol_error, header.error().message);
      auto deliver = incoming_.on_data(header->stream, data.size());
      if (!deliver) return fail(ByeReason::protocol_error, deliver.error().message);
      if (*deliver) listener_.on_stream_data(header->stream, data);
      return;
    }
    case static_cast<std::uint8_t>(FrameType::stream_open): {
      auto open = wire::decode_stream_open(frame.payload);
      if (!open) return fail(ByeReason::protocol_error, open.error().message);
      if (auto ok = incoming_.on_open(*open); !ok) {
        return fail(ByeReason::protocol_error, ok.error().message);
      }
      listener_.on_stream_open(*open);
      return;
    }
    case static_cast<std::uint8_t>(FrameType::stream_end): {
      auto end = wire::decode_stream_end(frame.payload);
      if (!end) return fail(ByeReason::protocol_error, end.error().message);
      if (auto ok = incoming_.on_end(end->stream); !ok) {
        return fail(ByeReason::protocol_error, ok.error().message);
      }
      listener_.on_stream_end(*end);
      return;
    }
    case static_cast<std::uint8_t>(FrameType::stream_stop): {
      auto stop = wire::decode_stream_stop(frame.payload);
      if (!stop) return fail(ByeReason::protocol_error, stop.error().message);
      // A STOP may cross our STREAM_END on the wire: an ID we already closed is not an error.
      if (!outgoing_.is_open(stop->stream)) return;
      outgoing_.cancel(output_, stop->stream, "stopped by the receiver");
      listener_.on_stream_stopped(*stop);
      return;
    }
    case static_cast<std::uint8_t>(FrameType::stream_credit): {
      auto credit = wire::decode_stream_credit(frame.payload);
      if (!credit) return fail(ByeReason::protocol_error, credit.error().message);
      outgoing_.grant(credit->grant);
      return;
    }
    default:
      return;
  }
}

Result<std::uint32_t> Protocol::open_stream(std::string label, std::uint64_t size) {
  if (!streams_enabled()) {
    return make_error(wire::Errc::bad_field, "this session does not carry streams");
  }
  if (auto ok = wire::check_text(label); !ok) return ok.error();
  auto id = outgoing_.open(output_, std::move(label), size);
  return id;
}

std::size_t Protocol::write_stream(std::uint32_t stream, std::span<const std::uint8_t> data) {
  if (state_ != State::open) return 0;
  return outgoing_.write(stream, data);
}

namespace {

// A reason text from the application that the peer would reject is not sent.
std::string sendable_reason(std::string message) {
  if (!wire::is_valid_utf8(message)) message.clear();
  return message;
}

}  // namespace

void Protocol::cancel_stream(std::uint32_t stream, std::string message) {
  if (state_ != State::open || !outgoing_.is_open(stream)) return;
  outgoing_.cancel(output_, stream, sendable_reason(std::move(message)));
}

void Protocol::stop_stream(std::uint32_t stream, std::string message) {
  if (state_ != State::open || !incoming_.stop(stream)) return;
  wire::encode(output_, wire::StreamStop{stream, sendable_reason(std::move(message))});
}

void Protocol::send_chat(const wire::Chat& chat) {
  send_window_.consume();
  wire::encode(output_, chat);
}

Result<void> Protocol::send_frame(std::uint8_t type, std::span<const std::uint8_t> payload) {
  if (type < wire::kFirstOptionalType ||
      !config_.service_frames.test(type - wire::kFirstOptionalType)) {
    return make_error(std::make_error_code(std::errc::invalid_argument),
                      fmt::format("frame type 0x{:02x} is not registered by a service", type));
  }
  if (payload.size() >= wire::kMaxFrameSize) {
    return make_error(std::make_error_code(std::errc::message_size),
                      fmt::format("a frame of {} bytes is over the {} byte limit", payload.size(),
                                  wire::kMaxFrameSize - 1));
  }
  if (state_ != State::open) {
    return make_error(std::make_error_code(std::errc::not_connected), "the session is not open");
  }
  wire::append_frame(output_, static_cast<FrameType>(type), payload);
  return {};
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
  }
  if (const std::uint32_t grant = receive_window_.take_regrant(); grant > 0) {
    wire::encode(output_, wire::Credit{grant});
  }
  if (const std::uint32_t grant = streams_enabled_ ? incoming_.take_regrant() : 0; grant > 0) {
    wire::encode(output_, wire::StreamCredit{grant});
  }
}

void Protocol::close(ByeReason reason, std::string message) {
  if (state_ == State::closed) return;
  // BYE jumps the queue: unsent frames are dropped; unacknowledged chat is resent later.
  output_.clear();
  outgoing_.clear();
  wire::encode(output_, wire::Bye{reason, message});
  const Code code = reason == ByeReason::quit ? Code::local_quit : wire::to_code(reason);
  finish(CloseReason{code, std::move(message), false});
}

void Protocol::fail(ByeReason reason, std::string message) {
  close(reason, std::move(message));
}

void Protocol::on_transport_closed(std::string message) {
  if (state_ == State::closed) return;
  output_.clear();
  outgoing_.clear();
  finish(CloseReason{Code::connection_lost, std::move(message), true});
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
        last_sent_ = now;  // one PING per interval, even while the writer is stalled
      }
      return std::min(last_sent_ + config_.keepalive_interval, last_received_ + config_.dead_after);
    case State::closed:
      return now + config_.keepalive_interval;
  }
  return now;
}

void Protocol::take_output(wire::Bytes& into) {
  wire::Bytes tail;
  take_output(into, tail);
  into.insert(into.end(), tail.begin(), tail.end());
  recycle(std::move(tail));
}

void Protocol::take_output(wire::Bytes& into, wire::Bytes& tail) {
  into.clear();
  tail.clear();
  std::swap(into, output_);
  bool freed = false;
  if (state_ == State::open) freed = outgoing_.take(into, tail);
  // Keepalive counts from what the writer takes: one clock read per write, not per frame.
  if (!into.empty() || !tail.empty()) last_sent_ = clock_.now();
  if (freed) listener_.on_stream_writable();
}

}  // namespace peerchat::session
