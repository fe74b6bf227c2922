// wire: length-prefixed frames, the unit of the peerchat protocol inside TLS.
//
// A frame is: u32 length (big-endian, counts the type byte and the payload), u8 type, payload.
// The length is checked against the limit as soon as its four bytes arrive, before any buffer
// grows for the body.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "util/result.hpp"
#include "wire/bytes.hpp"

namespace peerchat::wire {

inline constexpr std::uint32_t kMaxFrameSize = 1u << 20;  // type byte + payload
inline constexpr std::size_t kHeaderSize = 4;

enum class FrameType : std::uint8_t {
  hello = 0x01,
  credit = 0x02,
  chat = 0x03,
  ack = 0x04,
  bye = 0x05,
  ping = 0x06,
  pong = 0x07,
  // Bulk streams (wire/streams.hpp); only between peers that both offered them in HELLO.
  stream_open = 0x08,
  stream_data = 0x09,
  stream_end = 0x0A,
  stream_stop = 0x0B,
  stream_credit = 0x0C,
};

// Types at or above this are optional: a peer that does not know one skips it.
inline constexpr std::uint8_t kFirstOptionalType = 0x80;

bool is_known_type(std::uint8_t type);
std::string_view to_string(FrameType type);

struct FrameView {
  std::uint8_t type;
  std::span<const std::uint8_t> payload;  // valid until the decoder is fed or advanced again
};

// Appends one frame to `out`. The caller keeps payloads within kMaxFrameSize - 1.
void append_frame(Bytes& out, FrameType type, std::span<const std::uint8_t> payload);
// Writes a frame header for a payload the caller appends right after.
void append_header(Bytes& out, FrameType type, std::size_t payload_size);

// Splits a byte stream into frames. Bytes are written straight into its buffer
// (prepare/commit) so a read from the socket needs no extra copy.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_frame = kMaxFrameSize) : max_frame_(max_frame) {}

  // Room for up to `size` more bytes; call commit() with how many were written.
  std::span<std::uint8_t> prepare(std::size_t size);
  void commit(std::size_t written);
  void feed(std::span<const std::uint8_t> bytes);

  // The next whole frame, nullopt when more bytes are needed, or an error for a bad length
  // prefix. After an error the stream cannot be resynchronised: drop the connection.
  Result<std::optional<FrameView>> next();

  std::size_t buffered() const { return end_ - begin_; }

 private:
  void compact();

  std::uint32_t max_frame_;
  Bytes buffer_;
  std::size_t begin_ = 0;  // first unread byte
  std::size_t end_ = 0;    // one past the last written byte
};

}  // namespace peerchat::wire
