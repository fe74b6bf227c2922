#include "wire/streams.hpp"

#include <fmt/format.h>

#include "wire/errors.hpp"
#include "wire/fields.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/utf8.hpp"

namespace peerchat::wire {
namespace {

Result<void> check_stream_id(std::uint32_t stream, std::string_view frame) {
  if (stream == 0) return field_error(Errc::bad_field, frame, "stream 0");
  return {};
}

// A reason text: u16 length, UTF-8, at most kMaxByeMessageBytes.
// Callers pass the message already cut with utf8_prefix (its length is in the frame header).
void put_message(Bytes& out, std::string_view message) {
  put_u16(out, static_cast<std::uint16_t>(message.size()));
  put_text(out, message);
}

Result<std::string> read_message(Reader& reader, std::string_view frame) {
  const std::uint16_t length = reader.u16();
  std::string message = reader.text(length);
  if (length > kMaxByeMessageBytes) {
    return field_error(Errc::text_too_long, frame, "reason text longer than 1024 bytes");
  }
  if (!is_valid_utf8(message)) return field_error(Errc::invalid_utf8, frame, "reason text");
  return message;
}

}  // namespace

std::string_view to_string(StreamStatus status) {
  switch (status) {
    case StreamStatus::complete:
      return "complete";
    case StreamStatus::cancelled:
      return "cancelled";
  }
  return "other";
}

void encode(Bytes& out, const StreamOpen& open) {
  const std::string_view label = utf8_prefix(open.label, kMaxStreamLabelBytes);
  append_header(out, FrameType::stream_open, 4 + 8 + 1 + label.size());
  put_u32(out, open.stream);
  put_u64(out, open.size);
  put_u8(out, static_cast<std::uint8_t>(label.size()));
  put_text(out, label);
}

void encode_stream_data_header(Bytes& out, std::uint32_t stream, std::size_t size) {
  append_header(out, FrameType::stream_data, kStreamDataHeaderBytes + size);
  put_u32(out, stream);
}

void encode(Bytes& out, const StreamEnd& end) {
  const std::string_view message = utf8_prefix(end.message, kMaxByeMessageBytes);
  append_header(out, FrameType::stream_end, 4 + 1 + 2 + message.size());
  put_u32(out, end.stream);
  put_u8(out, static_cast<std::uint8_t>(end.status));
  put_message(out, message);
}

void encode(Bytes& out, const StreamStop& stop) {
  const std::string_view message = utf8_prefix(stop.message, kMaxByeMessageBytes);
  append_header(out, FrameType::stream_stop, 4 + 2 + message.size());
  put_u32(out, stop.stream);
  put_message(out, message);
}

void encode(Bytes& out, const StreamCredit& credit) {
  append_header(out, FrameType::stream_credit, 4);
  put_u32(out, credit.grant);
}

Result<StreamOpen> decode_stream_open(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  StreamOpen open;
  open.stream = reader.u32();
  open.size = reader.u64();
  const std::uint8_t length = reader.u8();
  open.label = reader.text(length);
  if (auto done = check_consumed(reader, "STREAM_OPEN"); !done) return done.error();
  if (auto id = check_stream_id(open.stream, "STREAM_OPEN"); !id) return id.error();
  if (!is_valid_utf8(open.label)) {
    return field_error(Errc::invalid_utf8, "STREAM_OPEN", "label is not UTF-8");
  }
  return open;
}

Result<StreamDataHeader> decode_stream_data(std::span<const std::uint8_t> payload,
                                            std::span<const std::uint8_t>& data) {
  if (payload.size() <= kStreamDataHeaderBytes) {
    return field_error(Errc::truncated, "STREAM_DATA", "no data after the stream ID");
  }
  StreamDataHeader header{load_u32(payload.data())};
  if (auto id = check_stream_id(header.stream, "STREAM_DATA"); !id) return id.error();
  data = payload.subspan(kStreamDataHeaderBytes);
  return header;
}

Result<StreamEnd> decode_stream_end(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  StreamEnd end;
  end.stream = reader.u32();
  const std::uint8_t status = reader.u8();
  auto message = read_message(reader, "STREAM_END");
  if (auto done = check_consumed(reader, "STREAM_END"); !done) return done.error();
  if (!message) return message.error();
  if (auto id = check_stream_id(end.stream, "STREAM_END"); !id) return id.error();
  if (status > static_cast<std::uint8_t>(StreamStatus::cancelled)) {
    return field_error(Errc::bad_field, "STREAM_END", fmt::format("unknown status {}", status));
  }
  end.status = static_cast<StreamStatus>(status);
  end.message = std::move(message.value());
  return end;
}

Result<StreamStop> decode_stream_stop(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  StreamStop stop;
  stop.stream = reader.u32();
  auto message = read_message(reader, "STREAM_STOP");
  if (auto done = check_consumed(reader, "STREAM_STOP"); !done) return done.error();
  if (!message) return message.error();
  if (auto id = check_stream_id(stop.stream, "STREAM_STOP"); !id) return id.error();
  stop.message = std::move(message.value());
  return stop;
}

Result<StreamCredit> decode_stream_credit(std::span<const std::uint8_t> payload) {
  Reader reader(payload);
  StreamCredit credit{reader.u32()};
  if (auto done = check_consumed(reader, "STREAM_CREDIT"); !done) return done.error();
  if (credit.grant == 0) return field_error(Errc::bad_field, "STREAM_CREDIT", "grant of zero");
  return credit;
}

}  // namespace peerchat::wire
