#include "services/transfer/frames.hpp"

#include <fmt/format.h>

#include <charconv>

#include "wire/bytes.hpp"
#include "wire/errors.hpp"
#include "wire/fields.hpp"
#include "wire/utf8.hpp"

namespace peerchat::transfer {
namespace {

using wire::Errc;

void put_id(wire::Bytes& out, const TransferId& id) {
  wire::put_bytes(out, id);
}

void put_reason(wire::Bytes& out, const std::string& message) {
  const std::size_t size = std::min(message.size(), kMaxReasonBytes);
  wire::put_u16(out, static_cast<std::uint16_t>(size));
  wire::put_text(out, std::string_view(message).substr(0, size));
}

Result<std::string> take_reason(wire::Reader& reader, std::string_view frame) {
  const std::uint16_t size = reader.u16();
  if (size > kMaxReasonBytes) {
    return wire::field_error(Errc::text_too_long, frame,
                             fmt::format("reason of {} bytes, over {}", size, kMaxReasonBytes));
  }
  std::string text = reader.text(size);
  if (!reader.failed() && !wire::is_valid_utf8(text)) {
    return wire::field_error(Errc::invalid_utf8, frame, "reason is not UTF-8");
  }
  return text;
}

// The hex digits of a transfer ID, as in stream labels.
std::string hex(const TransferId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const auto byte : id) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0x0F];
  }
  return out;
}

bool parse_hex(std::string_view text, TransferId& id) {
  if (text.size() != 2 * id.size()) return false;
  const auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // lower case only: one spelling per ID
  };
  for (std::size_t i = 0; i < id.size(); ++i) {
    const int high = value(text[2 * i]);
    const int low = value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    id[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

// A decimal u32 with no sign, no leading zero (but "0") and nothing else.
bool parse_u32(std::string_view text, std::uint32_t& value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::vector<std::uint8_t> encode(const Offer& offer) {
  wire::Bytes out;
  put_id(out, offer.id);
  wire::put_bytes(out, offer.manifest_hash);
  wire::put_u32(out, offer.manifest_bytes);
  wire::put_u32(out, offer.files);
  wire::put_u64(out, offer.total_bytes);
  return out;
}

std::vector<std::uint8_t> encode(const Answer& answer) {
  wire::Bytes out;
  put_id(out, answer.id);
  wire::put_u8(out, answer.accepted ? 1 : 0);
  return out;
}

std::vector<std::uint8_t> encode(const Request& request) {
  wire::Bytes out;
  put_id(out, request.id);
  wire::put_u16(out, static_cast<std::uint16_t>(request.ranges.size()));
  for (const auto& range : request.ranges) {
    wire::put_u32(out, range.entry);
    wire::put_u32(out, range.first);
    wire::put_u32(out, range.count);
  }
  return out;
}

std::vector<std::uint8_t> encode(const Cancel& cancel) {
  wire::Bytes out;
  put_id(out, cancel.id);
  put_reason(out, cancel.message);
  return out;
}

std::vector<std::uint8_t> encode(const Status& status) {
  wire::Bytes out;
  put_id(out, status.id);
  wire::put_u8(out, static_cast<std::uint8_t>(status.code));
  put_reason(out, status.message);
  return out;
}

std::vector<std::uint8_t> encode(const Done& done) {
  wire::Bytes out;
  put_id(out, done.id);
  return out;
}

Result<Offer> decode_offer(std::span<const std::uint8_t> payload) {
  wire::Reader reader(payload);
  Offer offer;
  reader.copy(offer.id);
  reader.copy(offer.manifest_hash);
  offer.manifest_bytes = reader.u32();
  offer.files = reader.u32();
  offer.total_bytes = reader.u64();
  if (auto consumed = wire::check_consumed(reader, "TRANSFER_OFFER"); !consumed) {
    return consumed.error();
  }
  if (offer.manifest_bytes == 0 || offer.manifest_bytes > kMaxManifestBytes) {
    return wire::field_error(
        Errc::bad_field, "TRANSFER_OFFER",
        fmt::format("a manifest of {} bytes (1..{})", offer.manifest_bytes, kMaxManifestBytes));
  }
  return offer;
}

Result<Answer> decode_answer(std::span<const std::uint8_t> payload) {
  wire::Reader reader(payload);
  Answer answer;
  reader.copy(answer.id);
  const std::uint8_t verdict = reader.u8();
  if (auto consumed = wire::check_consumed(reader, "TRANSFER_ANSWER"); !consumed) {
    return consumed.error();
  }
  if (verdict > 1) {
    return wire::field_error(Errc::bad_field, "TRANSFER_ANSWER",
                             fmt::format("verdict {}", verdict));
  }
  answer.accepted = verdict == 1;
  return answer;
}

Result<Request> decode_request(std::span<const std::uint8_t> payload) {
  wire::Reader reader(payload);
  Request request;
  reader.copy(request.id);
  const std::uint16_t count = reader.u16();
  if (count == 0 || count > kMaxRangesPerRequest) {
    return wire::field_error(Errc::bad_field, "TRANSFER_REQUEST",
                             fmt::format("{} ranges (1..{})", count, kMaxRangesPerRequest));
  }
  if (reader.remaining() != std::size_t{count} * 12) {
    return wire::field_error(Errc::truncated, "TRANSFER_REQUEST", "ranges do not fill the frame");
  }
  request.ranges.resize(count);
  for (auto& range : request.ranges) {
    range.entry = reader.u32();
    range.first = reader.u32();
    range.count = reader.u32();
    if (range.count == 0) {
      return wire::field_error(Errc::bad_field, "TRANSFER_REQUEST", "a range of no pieces");
    }
  }
  if (auto consumed = wire::check_consumed(reader, "TRANSFER_REQUEST"); !consumed) {
    return consumed.error();
  }
  return request;
}

Result<Cancel> decode_cancel(std::span<const std::uint8_t> payload) {
  wire::Reader reader(payload);
  Cancel cancel;
  reader.copy(cancel.id);
  auto message = take_reason(reader, "TRANSFER_CANCEL");
  if (!message) return message.error();
  cancel.message = std::move(*message);
  if (auto consumed = wire::check_consumed(reader, "TRANSFER_CANCEL"); !consumed) {
    return consumed.error();
  }
  return cancel;
}

Result<Status> decode_status(std::span<const std::uint8_t> payload) {
  wire::Reader reader(payload);
  Status status;
  reader.copy(status.id);
  const std::uint8_t code = reader.u8();
  auto message = take_reason(reader, "TRANSFER_STATUS");
  if (!message) return message.error();
  status.message = std::move(*message);
  if (auto consumed = wire::check_consumed(reader, "TRANSFER_STATUS"); !consumed) {
    return consumed.error();
  }
  if (code < static_cast<std::uint8_t>(StatusCode::paused_disk_full) ||
      code > static_cast<std::uint8_t>(StatusCode::failed)) {
    return wire::field_error(Errc::bad_field, "TRANSFER_STATUS", fmt::format("status {}", code));
  }
  status.code = static_cast<StatusCode>(code);
  return status;
}

Result<Done> decode_done(std::span<const std::uint8_t> payload) {
  wire::Reader reader(payload);
  Done done;
  reader.copy(done.id);
  if (auto consumed = wire::check_consumed(reader, "TRANSFER_DONE"); !consumed) {
    return consumed.error();
  }
  return done;
}

std::string manifest_stream_label(const TransferId& id) {
  return "manifest " + hex(id);
}

std::string pieces_stream_label(const TransferId& id, std::uint32_t entry, std::uint32_t first) {
  return fmt::format("pieces {} {} {}", hex(id), entry, first);
}

Result<StreamLabel> parse_stream_label(std::string_view label) {
  const auto bad = [&] {
    return wire::field_error(Errc::bad_field, "STREAM_OPEN", "not a file transfer stream label");
  };
  StreamLabel parsed;
  if (label.starts_with("manifest ")) {
    if (!parse_hex(label.substr(9), parsed.id)) return bad();
    parsed.kind = StreamLabel::Kind::manifest;
    return parsed;
  }
  if (!label.starts_with("pieces ")) return bad();
  std::string_view rest = label.substr(7);
  const auto take_word = [&]() -> std::string_view {
    const auto space = rest.find(' ');
    const std::string_view word = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    return word;
  };
  const std::string_view id = take_word();
  const bool has_entry = rest.find(' ') != std::string_view::npos;
  const std::string_view entry = take_word();
  const std::string_view first = rest;
  if (!has_entry || !parse_hex(id, parsed.id) || !parse_u32(entry, parsed.entry) ||
      !parse_u32(first, parsed.first)) {
    return bad();
  }
  parsed.kind = StreamLabel::Kind::pieces;
  return parsed;
}

}  // namespace peerchat::transfer
