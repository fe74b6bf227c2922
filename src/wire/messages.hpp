// wire: the protocol v1 messages and their payload encodings (docs/protocol.md is the spec).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/codes.hpp"
#include "util/result.hpp"
#include "wire/bytes.hpp"

namespace peerchat::wire {

inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kMaxNameBytes = 64;
inline constexpr std::size_t kMaxTextBytes = 64 * 1024;
inline constexpr std::size_t kMaxByeMessageBytes = 1024;

using MessageId = std::array<std::uint8_t, 16>;
std::string to_hex(const MessageId& id);

struct Hello {
  std::uint16_t version = kProtocolVersion;
  std::uint16_t listen_port = 0;   // 0: this peer does not accept connections
  std::uint32_t capabilities = 0;  // bit set; none are defined in v1
  std::string name;
};

// The "ready" signal: the receiver allows `grant` more CHAT frames.
struct Credit {
  std::uint32_t grant = 0;
};

struct Chat {
  MessageId id{};
  std::uint64_t seq = 0;          // per (sender, receiver) pair, starting at 1, never reused
  std::int64_t timestamp_ms = 0;  // sender's wall clock; informational only
  std::string text;
};

// Cumulative: every CHAT from the ACK's receiver with seq <= `seq` is stored.
struct Ack {
  std::uint64_t seq = 0;
};

enum class ByeReason : std::uint8_t {
  quit = 0,
  shutdown = 1,
  duplicate = 2,
  protocol_error = 3,
  version_mismatch = 4,
  timeout = 5,
  self_connection = 6,
  identity_mismatch = 7,
  overloaded = 8,
};
// The event code of a BYE's reason; values this version does not know are Code::other.
Code to_code(ByeReason reason);
std::string_view to_string(ByeReason reason);

struct Bye {
  ByeReason reason = ByeReason::quit;
  std::string message;
};

struct Ping {
  std::uint64_t nonce = 0;
};
struct Pong {
  std::uint64_t nonce = 0;
};

// Each encode appends one whole frame (header included) to `out`.
void encode(Bytes& out, const Hello& hello);
void encode(Bytes& out, const Credit& credit);
void encode(Bytes& out, const Chat& chat);
void encode(Bytes& out, const Ack& ack);
void encode(Bytes& out, const Bye& bye);
void encode(Bytes& out, const Ping& ping);
void encode(Bytes& out, const Pong& pong);

// Each decode takes a frame's payload (type byte already removed) and checks every field.
Result<Hello> decode_hello(std::span<const std::uint8_t> payload);
Result<Credit> decode_credit(std::span<const std::uint8_t> payload);
Result<Chat> decode_chat(std::span<const std::uint8_t> payload);
// The same into an existing Chat, reusing its text's memory (the receive hot path).
Result<void> decode_chat_into(std::span<const std::uint8_t> payload, Chat& chat);
Result<Ack> decode_ack(std::span<const std::uint8_t> payload);
Result<Bye> decode_bye(std::span<const std::uint8_t> payload);
Result<Ping> decode_ping(std::span<const std::uint8_t> payload);
Result<Pong> decode_pong(std::span<const std::uint8_t> payload);

// Checks shared by the decoder and by local input before it is sent.
Result<void> check_text(std::string_view text);
Result<void> check_name(std::string_view name);

}  // namespace peerchat::wire
