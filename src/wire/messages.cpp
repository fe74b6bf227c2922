#include "wire/messages.hpp"

#include <fmt/format.h>

#include <cstring>

#include "wire/errors.hpp"
#include "wire/fields.hpp"
#include "wire/frame.hpp"
#include "wire/utf8.hpp"

namespace peerchat::wire {
namespace {

constexpr std::size_t kChatFixedBytes = 16 + 8 + 8;

template <class T>
Result<T> with_u64(std::span<const std::uint8_t> payload, std::string_view frame) {
  Reader reader(payload);
  T message;
  message.nonce = reader.u64();
  if (auto done = check_consumed(reader, frame); !done) return done.error();
  return message;
}

}  // namespace

std::string to_hex(const MessageId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(id.size() * 2);
  for (auto byte : id) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0F]);
  }
  return hex;
}

Code to_code(ByeReason reason) {
  switch (reason) {
    case ByeReason::quit:
      return Code::quit;
    case ByeReason::shutdown:
      return Code::shutdown;
    case ByeReason::duplicate:
      return Code::duplicate;
    case ByeReason::protocol_error:
      return Code::protocol_error;
    case ByeReason::version_mismatch:
      return Code::version_mismatch;
    case ByeReason::timeout:
      return Code::timeout;
    case ByeReason::self_connection:
      return Code::self_connection;
    case ByeReason::identity_mismatch:
      return Code::identity_mismatch;
    case ByeReason::overloaded:
      return Code::overloaded;
  }
  return Code::other;
}

std::string_view to_string(ByeReason reason) {
  return name(to_code(reason));
}

Result<void> check_text(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return make_error(Errc::text_too_long, fmt::format("text is {} bytes; the limit is {} bytes",
                                                       text.size(), kMaxTextBytes));
  }
  if (!is_valid_utf8(text)) return make_error(Errc::invalid_utf8, "text is not valid UTF-8");
  return {};
}

Result<void> check_name(std::string_view name) {
  if (name.empty()) return make_error(Errc::bad_field, "display name is empty");
  if (name.size() > kMaxNameBytes) {
    return make_error(Errc::name_too_long, fmt::format("display name is {} bytes; the limit is {}",
                                                       name.size(), kMaxNameBytes));
  }
  if (!is_valid_utf8(name)) return make_error(Errc::invalid_utf8, "display name is not UTF-8");
  return {};
}

void encode(Bytes& out, const Hello& hello) {
  append_header(out, FrameType::hello, 2 + 2 + 4 + 1 + hello.name.size());
  put_u16(out, hello.version);
  put_u16(out, hello.listen_port);
  put_u32(out, hello.capabilities);
  put_u8(out, static_cast<std::uint8_t>(hello.name.size()));
  put_text(out, hello.name);
}

void encode(Bytes& out, const Credit& credit) {
  append_header(out, FrameType::credit, 4);
  put_u32(out, credit.grant);
}

// CHAT and ACK are the per-message frames: written in one step each (the hot path).
void encode(Bytes& out, const Chat& chat) {
  const std::size_t payload = kChatFixedBytes + chat.text.size();
  std::uint8_t* p = grow(out, kHeaderSize + 1 + payload);
  p = store_u32(p, static_cast<std::uint32_t>(payload + 1));
  p = store_u8(p, static_cast<std::uint8_t>(FrameType::chat));
  p = store_bytes(p, chat.id.data(), chat.id.size());
  p = store_u64(p, chat.seq);
  p = store_u64(p, static_cast<std::uint64_t>(chat.timestamp_ms));
  store_bytes(p, chat.text.data(), chat.text.size());
}

void encode(Bytes& out, const Ack& ack) {
  std::uint8_t* p = grow(out, kHeaderSize + 1 + 8);
  p = store_u32(p, 9);
  p = store_u8(p, static_cast<std::uint8_t>(FrameType::ack));
  store_u64(p, ack.seq);
}

void encode(Bytes& out, const Bye& bye) {
  const std::string_view message = utf8_prefix(bye.message, kMaxByeMessageBytes);
  append_header(out, FrameType::bye, 1 + 2 + message.size());
  put_u8(out, static_cast<std::uint8_t>(bye.reason));
  put_u16(out, static_cast<std::uint16_t>(message.size()));
  put_text(out, message);
}

void encode(Bytes& out, const Ping& ping) {
  append_header(out, FrameType::ping, 8);
  put_u64(out, ping.nonce);
}

void encode(Bytes& out, const Pong& pong) {
  append_header(out, FrameType::pong, 8);
  put_u64(out, pong.nonce);
}

Result<Hello> decode_hello(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  Hello hello;
  hello.version = reader.u16();
  hello.listen_port = reader.u16();
  hello.capabilities = reader.u32();
  const std::uint8_t name_length = reader.u8();
  hello.name = reader.text(name_length);
  if (auto done = check_consumed(reader, "HELLO"); !done) return done.error();
  if (auto name_ok = check_name(hello.name); !name_ok) {
    return field_error(static_cast<Errc>(name_ok.error().code.value()), "HELLO",
                       name_ok.error().message);
  }
  return hello;
}

Result<Credit> decode_credit(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  Credit credit{reader.u32()};
  if (auto done = check_consumed(reader, "CREDIT"); !done) return done.error();
  if (credit.grant == 0) return field_error(Errc::bad_field, "CREDIT", "grant of zero");
  return credit;
}

Result<void> decode_chat_into(std::span<const std::uint8_t> payload, Chat& chat) {
  if (payload.size() < kChatFixedBytes) {
    return field_error(Errc::truncated, "CHAT", "payload is too short");
  }
  const std::uint8_t* p = payload.data();
  std::memcpy(chat.id.data(), p, chat.id.size());
  chat.seq = load_u64(p + 16);
  chat.timestamp_ms = static_cast<std::int64_t>(load_u64(p + 24));
  // assign() keeps the string's capacity: a reused Chat decodes without allocating.
  chat.text.assign(reinterpret_cast<const char*>(p + kChatFixedBytes),
                   payload.size() - kChatFixedBytes);
  if (chat.seq == 0) return field_error(Errc::bad_field, "CHAT", "sequence number 0");
  if (auto text_ok = check_text(chat.text); !text_ok) {
    return field_error(static_cast<Errc>(text_ok.error().code.value()), "CHAT",
                       text_ok.error().message);
  }
  return {};
}

Result<Chat> decode_chat(std::span<const std::uint8_t> payload) {
  Chat chat;
  if (auto decoded = decode_chat_into(payload, chat); !decoded) return decoded.error();
  return chat;
}

Result<Ack> decode_ack(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  Ack ack{reader.u64()};
  if (auto done = check_consumed(reader, "ACK"); !done) return done.error();
  return ack;
}

Result<Bye> decode_bye(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  Bye bye;
  bye.reason = static_cast<ByeReason>(reader.u8());
  const std::uint16_t length = reader.u16();
  bye.message = reader.text(length);
  if (auto done = check_consumed(reader, "BYE"); !done) return done.error();
  if (length > kMaxByeMessageBytes) {
    return field_error(Errc::text_too_long, "BYE", "reason text longer than 1024 bytes");
  }
  if (!is_valid_utf8(bye.message)) return field_error(Errc::invalid_utf8, "BYE", "reason text");
  return bye;
}

Result<Ping> decode_ping(std::span<const std::uint8_t> payload) {
  return with_u64<Ping>(payload, "PING");
}

Result<Pong> decode_pong(std::span<const std::uint8_t> payload) {
  return with_u64<Pong>(payload, "PONG");
}

}  // namespace peerchat::wire
