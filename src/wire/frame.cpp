#include "wire/frame.hpp"

#include <fmt/format.h>

#include "wire/errors.hpp"

namespace peerchat::wire {

bool is_known_type(std::uint8_t type) {
  return type >= static_cast<std::uint8_t>(FrameType::hello) &&
         type <= static_cast<std::uint8_t>(FrameType::stream_credit);
}

std::string_view to_string(FrameType type) {
  switch (type) {
    case FrameType::hello:
      return "HELLO";
    case FrameType::credit:
      return "CREDIT";
    case FrameType::chat:
      return "CHAT";
    case FrameType::ack:
      return "ACK";
    case FrameType::bye:
      return "BYE";
    case FrameType::ping:
      return "PING";
    case FrameType::pong:
      return "PONG";
    case FrameType::stream_open:
      return "STREAM_OPEN";
    case FrameType::stream_data:
      return "STREAM_DATA";
    case FrameType::stream_end:
      return "STREAM_END";
    case FrameType::stream_stop:
      return "STREAM_STOP";
    case FrameType::stream_credit:
      return "STREAM_CREDIT";
  }
  return "UNKNOWN";
}

void append_header(Bytes& out, FrameType type, std::size_t payload_size) {
  put_u32(out, static_cast<std::uint32_t>(payload_size + 1));
  put_u8(out, static_cast<std::uint8_t>(type));
}

void append_frame(Bytes& out, FrameType type, std::span<const std::uint8_t> payload) {
  append_header(out, type, payload.size());
  put_bytes(out, payload);
}

std::span<std::uint8_t> FrameDecoder::prepare(std::size_t size) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // Once a large frame is consumed, give its memory back: idle connections stay small.
    if (buffer_.size() > 4 * size) Bytes().swap(buffer_);
  }
  if (buffer_.size() - end_ < size) {
    // Busy connections get room for four reads before compacting (moving a partial frame to
    // the front), so large frames are copied that way only now and then, not after each read.
    if (buffer_.size() < 4 * size) {
      buffer_.resize(std::max(end_ + size, 4 * size));
    } else {
      compact();
      if (buffer_.size() - end_ < size) buffer_.resize(end_ + size);
    }
  }
  return {buffer_.data() + end_, size};
}

void FrameDecoder::commit(std::size_t written) {
  end_ += written;
}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  auto room = prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), room.begin());
  commit(bytes.size());
}

void FrameDecoder::compact() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0) {
    std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
              buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
    end_ -= begin_;
    begin_ = 0;
  }
}

Result<std::optional<FrameView>> FrameDecoder::next() {
  if (buffered() < kHeaderSize) return std::optional<FrameView>{};
  const std::uint32_t length = load_u32(buffer_.data() + begin_);
  if (length == 0) return make_error(Errc::empty_frame, "frame length is zero");
  if (length > max_frame_) {
    return make_error(
        Errc::frame_too_large,
        fmt::format("frame length {} exceeds the limit of {} bytes", length, max_frame_));
  }
  if (buffered() < kHeaderSize + length) return std::optional<FrameView>{};
  const std::uint8_t* start = buffer_.data() + begin_ + kHeaderSize;
  FrameView frame{start[0], {start + 1, length - 1}};
  begin_ += kHeaderSize + length;
  return std::optional<FrameView>{frame};
}

}  // namespace peerchat::wire
