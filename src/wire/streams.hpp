// wire: bulk streams, the transport that file transfer uses (docs/protocol.md, section 3).
//
// A stream is one-way: the peer that opens it sends its bytes, in STREAM_DATA frames that
// share the session with chat. Stream IDs are chosen by the opener, increase, and are never
// reused in a session; the two directions have separate ID spaces. STREAM_DATA is limited by
// a byte credit (STREAM_CREDIT) for the whole session, separate from CHAT credit, so bulk data
// can never hold back chat flow control.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "util/result.hpp"
#include "wire/bytes.hpp"

namespace peerchat::wire {

// HELLO capability bit: this peer understands the stream frames.
inline constexpr std::uint32_t kCapabilityStreams = 1u << 0;
inline constexpr std::size_t kMaxStreamLabelBytes = 255;
inline constexpr std::uint64_t kUnknownStreamSize = ~std::uint64_t{0};

struct StreamOpen {
  std::uint32_t stream = 0;
  std::uint64_t size = kUnknownStreamSize;  // total bytes, if the sender knows
  std::string label;                        // what it is (e.g. a file name), UTF-8
};

// Header of a STREAM_DATA frame; the payload after it is the data.
struct StreamDataHeader {
  std::uint32_t stream = 0;
};
inline constexpr std::size_t kStreamDataHeaderBytes = 4;

enum class StreamStatus : std::uint8_t {
  complete = 0,   // every byte was sent
  cancelled = 1,  // the sender gave up; the data is incomplete
};
std::string_view to_string(StreamStatus status);

// From the sender: no more data on this stream.
struct StreamEnd {
  std::uint32_t stream = 0;
  StreamStatus status = StreamStatus::complete;
  std::string message;
};

// From the receiver: stop sending this stream (declined, or the receiver failed).
struct StreamStop {
  std::uint32_t stream = 0;
  std::string message;
};

// The receiver allows `grant` more bytes of STREAM_DATA payload, over all streams.
struct StreamCredit {
  std::uint32_t grant = 0;
};

void encode(Bytes& out, const StreamOpen& open);
// Appends the frame header and stream ID; the caller appends exactly `size` data bytes.
void encode_stream_data_header(Bytes& out, std::uint32_t stream, std::size_t size);
void encode(Bytes& out, const StreamEnd& end);
void encode(Bytes& out, const StreamStop& stop);
void encode(Bytes& out, const StreamCredit& credit);

Result<StreamOpen> decode_stream_open(std::span<const std::uint8_t> payload);
// The stream ID; `data` is set to the bytes after it (at least one).
Result<StreamDataHeader> decode_stream_data(std::span<const std::uint8_t> payload,
                                            std::span<const std::uint8_t>& data);
Result<StreamEnd> decode_stream_end(std::span<const std::uint8_t> payload);
Result<StreamStop> decode_stream_stop(std::span<const std::uint8_t> payload);
Result<StreamCredit> decode_stream_credit(std::span<const std::uint8_t> payload);

}  // namespace peerchat::wire
