// Encoding and decoding of the bulk stream frames (STREAM_OPEN, STREAM_DATA, STREAM_END,
// STREAM_STOP, STREAM_CREDIT), and the ways a peer's bytes for them can be wrong.
#include "wire/streams.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wire/errors.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace peerchat::wire {
namespace {

struct Frame {
  std::uint8_t type = 0;
  Bytes payload;
};

// Splits encoded bytes into whole frames with the real decoder; every byte must be used.
std::vector<Frame> split(const Bytes& bytes) {
  FrameDecoder decoder;
  decoder.feed(bytes);
  std::vector<Frame> frames;
  for (int guard = 0; guard < 1000; ++guard) {
    auto next = decoder.next();
    if (!next.ok()) {
      ADD_FAILURE() << "frame decoder error: " << next.error().message;
      break;
    }
    if (!next.value().has_value()) break;
    const FrameView& view = **next;
    frames.push_back(Frame{view.type, Bytes(view.payload.begin(), view.payload.end())});
  }
  EXPECT_EQ(decoder.buffered(), 0u) << "bytes left over after the last whole frame";
  return frames;
}

std::uint8_t type_byte(FrameType type) {
  return static_cast<std::uint8_t>(type);
}

// The payload of the single frame that `message` encodes to, after checking its type.
template <class T>
Bytes payload_of(const T& message, FrameType expected) {
  Bytes encoded;
  encode(encoded, message);
  auto frames = split(encoded);
  if (frames.size() != 1) {
    ADD_FAILURE() << "expected one frame, got " << frames.size();
    return {};
  }
  EXPECT_EQ(frames[0].type, type_byte(expected));
  return frames[0].payload;
}

Bytes data_frame(std::uint32_t stream, const Bytes& data) {
  Bytes out;
  encode_stream_data_header(out, stream, data.size());
  put_bytes(out, data);
  return out;
}

// `ascii` copies of `fill`, then "\xC3\xA9" (é): a two-byte character right after them.
std::string ascii_then_e_acute(std::size_t ascii, char fill) {
  std::string text(ascii, fill);
  text.push_back('\xC3');
  text.push_back('\xA9');
  return text;
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(WireStreams, FrameTypesHaveNamesAndAreKnown) {
  EXPECT_EQ(to_string(FrameType::stream_open), "STREAM_OPEN");
  EXPECT_EQ(to_string(FrameType::stream_data), "STREAM_DATA");
  EXPECT_EQ(to_string(FrameType::stream_end), "STREAM_END");
  EXPECT_EQ(to_string(FrameType::stream_stop), "STREAM_STOP");
  EXPECT_EQ(to_string(FrameType::stream_credit), "STREAM_CREDIT");
  for (std::uint8_t type = 0x08; type <= 0x0C; ++type) EXPECT_TRUE(is_known_type(type)) << +type;
  EXPECT_FALSE(is_known_type(0x0D));
  EXPECT_EQ(to_string(StreamStatus::complete), "complete");
  EXPECT_EQ(to_string(StreamStatus::cancelled), "cancelled");
}

TEST(WireStreams, StreamOpenRoundTripsWithAKnownSize) {
  const StreamOpen open{7, 123'456'789'012ull, "holiday photo.jpg"};
  auto decoded = decode_stream_open(payload_of(open, FrameType::stream_open));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->stream, 7u);
  EXPECT_EQ(decoded->size, 123'456'789'012ull);
  EXPECT_EQ(decoded->label, "holiday photo.jpg");
}

TEST(WireStreams, StreamOpenRoundTripsWithAnUnknownSize) {
  StreamOpen open;
  open.stream = 1;
  open.label = "pipe";
  EXPECT_EQ(open.size, kUnknownStreamSize);  // the default
  auto decoded = decode_stream_open(payload_of(open, FrameType::stream_open));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->size, ~0ull);
  EXPECT_EQ(decoded->size, kUnknownStreamSize);
  EXPECT_EQ(decoded->label, "pipe");
}

TEST(WireStreams, StreamOpenRoundTripsTheLongestAndEmptyLabels) {
  const std::string longest(kMaxStreamLabelBytes, 'L');
  ASSERT_EQ(longest.size(), 255u);
  auto decoded = decode_stream_open(payload_of(StreamOpen{2, 10, longest}, FrameType::stream_open));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->label, longest);

  // A multi-byte UTF-8 label survives intact.
  const std::string accented = "r\xC3\xA9sum\xC3\xA9.pdf";
  decoded = decode_stream_open(payload_of(StreamOpen{3, 0, accented}, FrameType::stream_open));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->label, accented);
  EXPECT_EQ(decoded->size, 0u);

  decoded = decode_stream_open(payload_of(StreamOpen{4, 0, ""}, FrameType::stream_open));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->label, "");
}

TEST(WireStreams, StreamOpenEncoderCutsALabelAtTheLimit) {
  // The length byte cannot say more than 255, so the encoder keeps the frame consistent.
  const Bytes payload = payload_of(StreamOpen{1, 1, std::string(300, 'x')}, FrameType::stream_open);
  EXPECT_EQ(payload.size(), 4u + 8u + 1u + kMaxStreamLabelBytes);
  auto decoded = decode_stream_open(payload);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->label, std::string(kMaxStreamLabelBytes, 'x'));
}

TEST(WireStreams, StreamDataHeaderAndDataRoundTrip) {
  Bytes data(5000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31 + 7);
  const Bytes encoded = data_frame(0xDEADBEEF, data);
  EXPECT_EQ(encoded.size(), kHeaderSize + 1 + kStreamDataHeaderBytes + data.size());
  auto frames = split(encoded);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, type_byte(FrameType::stream_data));
  std::span<const std::uint8_t> got;
  auto header = decode_stream_data(frames[0].payload, got);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->stream, 0xDEADBEEFu);
  EXPECT_EQ(Bytes(got.begin(), got.end()), data);
}

TEST(WireStreams, OneByteOfStreamDataIsEnough) {
  auto frames = split(data_frame(1, Bytes{0x42}));
  ASSERT_EQ(frames.size(), 1u);
  std::span<const std::uint8_t> got;
  auto header = decode_stream_data(frames[0].payload, got);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->stream, 1u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], 0x42);
}

TEST(WireStreams, StreamEndRoundTripsCompleteAndCancelled) {
  auto complete = decode_stream_end(
      payload_of(StreamEnd{9, StreamStatus::complete, ""}, FrameType::stream_end));
  ASSERT_TRUE(complete.ok()) << complete.error().message;
  EXPECT_EQ(complete->stream, 9u);
  EXPECT_EQ(complete->status, StreamStatus::complete);
  EXPECT_EQ(complete->message, "");

  auto cancelled = decode_stream_end(payload_of(
      StreamEnd{10, StreamStatus::cancelled, "disk full \xE2\x9C\x97"}, FrameType::stream_end));
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().message;
  EXPECT_EQ(cancelled->stream, 10u);
  EXPECT_EQ(cancelled->status, StreamStatus::cancelled);
  EXPECT_EQ(cancelled->message, "disk full \xE2\x9C\x97");
}

TEST(WireStreams, StreamStopRoundTrips) {
  auto stop =
      decode_stream_stop(payload_of(StreamStop{0xFFFFFFFF, "declined"}, FrameType::stream_stop));
  ASSERT_TRUE(stop.ok()) << stop.error().message;
  EXPECT_EQ(stop->stream, 0xFFFFFFFFu);
  EXPECT_EQ(stop->message, "declined");

  auto quiet = decode_stream_stop(payload_of(StreamStop{3, ""}, FrameType::stream_stop));
  ASSERT_TRUE(quiet.ok()) << quiet.error().message;
  EXPECT_EQ(quiet->message, "");
}

TEST(WireStreams, ReasonTextsAreCutAtTheByeLimit) {
  const std::string long_text(kMaxByeMessageBytes + 100, 'm');
  auto end = decode_stream_end(
      payload_of(StreamEnd{1, StreamStatus::cancelled, long_text}, FrameType::stream_end));
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(end->message.size(), kMaxByeMessageBytes);
  auto stop = decode_stream_stop(payload_of(StreamStop{1, long_text}, FrameType::stream_stop));
  ASSERT_TRUE(stop.ok()) << stop.error().message;
  EXPECT_EQ(stop->message.size(), kMaxByeMessageBytes);
}

// Texts cut to a field's limit end on a character boundary: a cut inside a multi-byte
// character would fail the peer's UTF-8 check and cost the whole session.
TEST(WireStreams, TextsCutAtTheLimitStayValidUtf8) {
  // 1023 ASCII bytes, then a two-byte character across the 1024-byte limit.
  const std::string reason = ascii_then_e_acute(kMaxByeMessageBytes - 1, 'r');
  auto end = decode_stream_end(
      payload_of(StreamEnd{1, StreamStatus::cancelled, reason}, FrameType::stream_end));
  EXPECT_TRUE(end.ok()) << end.error().message;
  auto stop = decode_stream_stop(payload_of(StreamStop{1, reason}, FrameType::stream_stop));
  EXPECT_TRUE(stop.ok()) << stop.error().message;

  // 254 ASCII bytes, then a two-byte character across the 255-byte label limit.
  const std::string label = ascii_then_e_acute(kMaxStreamLabelBytes - 1, 'l');
  auto open = decode_stream_open(payload_of(StreamOpen{1, 1, label}, FrameType::stream_open));
  EXPECT_TRUE(open.ok()) << open.error().message;
}

TEST(WireStreams, StreamCreditRoundTrips) {
  for (std::uint32_t grant : {1u, 65536u, 0xFFFFFFFFu}) {
    auto credit = decode_stream_credit(payload_of(StreamCredit{grant}, FrameType::stream_credit));
    ASSERT_TRUE(credit.ok()) << credit.error().message;
    EXPECT_EQ(credit->grant, grant);
  }
}

TEST(WireStreams, SeveralStreamFramesSplitInOrder) {
  Bytes stream;
  encode(stream, StreamOpen{1, 3, "abc"});
  encode_stream_data_header(stream, 1, 3);
  put_text(stream, "abc");
  encode(stream, StreamEnd{1, StreamStatus::complete, ""});
  encode(stream, StreamStop{2, "no"});
  encode(stream, StreamCredit{3});
  auto frames = split(stream);
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[0].type, type_byte(FrameType::stream_open));
  EXPECT_EQ(frames[1].type, type_byte(FrameType::stream_data));
  EXPECT_EQ(frames[2].type, type_byte(FrameType::stream_end));
  EXPECT_EQ(frames[3].type, type_byte(FrameType::stream_stop));
  EXPECT_EQ(frames[4].type, type_byte(FrameType::stream_credit));
  EXPECT_TRUE(decode_stream_open(frames[0].payload).ok());
  std::span<const std::uint8_t> data;
  EXPECT_TRUE(decode_stream_data(frames[1].payload, data).ok());
  EXPECT_EQ(std::string(data.begin(), data.end()), "abc");
  EXPECT_TRUE(decode_stream_end(frames[2].payload).ok());
  EXPECT_TRUE(decode_stream_stop(frames[3].payload).ok());
  EXPECT_EQ(decode_stream_credit(frames[4].payload)->grant, 3u);
}

// ---------------------------------------------------------------------------------------------
// Rejections

TEST(WireStreams, StreamIdZeroIsRejectedEverywhere) {
  auto open = decode_stream_open(payload_of(StreamOpen{0, 1, "x"}, FrameType::stream_open));
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, Errc::bad_field);

  auto frames = split(data_frame(0, Bytes{1, 2, 3}));
  ASSERT_EQ(frames.size(), 1u);
  std::span<const std::uint8_t> data;
  auto header = decode_stream_data(frames[0].payload, data);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().code, Errc::bad_field);

  auto end = decode_stream_end(
      payload_of(StreamEnd{0, StreamStatus::complete, ""}, FrameType::stream_end));
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, Errc::bad_field);

  auto stop = decode_stream_stop(payload_of(StreamStop{0, "x"}, FrameType::stream_stop));
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().code, Errc::bad_field);
}

TEST(WireStreams, TruncatedPayloadsAreRejected) {
  Bytes open = payload_of(StreamOpen{1, 2, "label"}, FrameType::stream_open);
  for (std::size_t keep = 0; keep < open.size(); ++keep) {
    auto cut = decode_stream_open(std::span<const std::uint8_t>(open).first(keep));
    ASSERT_FALSE(cut.ok()) << "kept " << keep;
    EXPECT_EQ(cut.error().code, Errc::truncated) << "kept " << keep;
  }

  Bytes end = payload_of(StreamEnd{1, StreamStatus::cancelled, "why"}, FrameType::stream_end);
  for (std::size_t keep = 0; keep < end.size(); ++keep) {
    auto cut = decode_stream_end(std::span<const std::uint8_t>(end).first(keep));
    ASSERT_FALSE(cut.ok()) << "kept " << keep;
    EXPECT_EQ(cut.error().code, Errc::truncated) << "kept " << keep;
  }

  Bytes stop = payload_of(StreamStop{1, "why"}, FrameType::stream_stop);
  for (std::size_t keep = 0; keep < stop.size(); ++keep) {
    auto cut = decode_stream_stop(std::span<const std::uint8_t>(stop).first(keep));
    ASSERT_FALSE(cut.ok()) << "kept " << keep;
    EXPECT_EQ(cut.error().code, Errc::truncated) << "kept " << keep;
  }

  Bytes credit = payload_of(StreamCredit{5}, FrameType::stream_credit);
  for (std::size_t keep = 0; keep < credit.size(); ++keep) {
    auto cut = decode_stream_credit(std::span<const std::uint8_t>(credit).first(keep));
    ASSERT_FALSE(cut.ok()) << "kept " << keep;
    EXPECT_EQ(cut.error().code, Errc::truncated) << "kept " << keep;
  }

  // STREAM_DATA shorter than its stream ID.
  for (std::size_t keep = 0; keep < kStreamDataHeaderBytes; ++keep) {
    Bytes short_data(keep, 1);
    std::span<const std::uint8_t> data;
    auto cut = decode_stream_data(short_data, data);
    ASSERT_FALSE(cut.ok()) << "kept " << keep;
    EXPECT_EQ(cut.error().code, Errc::truncated) << "kept " << keep;
  }
}

TEST(WireStreams, LabelLengthBeyondThePayloadIsTruncated) {
  Bytes open = payload_of(StreamOpen{1, 2, "abc"}, FrameType::stream_open);
  open[12] = 200;  // the length byte claims far more label than there is
  auto decoded = decode_stream_open(open);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Errc::truncated);
}

TEST(WireStreams, TrailingBytesAreRejected) {
  Bytes open = payload_of(StreamOpen{1, 2, "label"}, FrameType::stream_open);
  open.push_back('!');
  EXPECT_EQ(decode_stream_open(open).error().code, Errc::trailing_bytes);

  Bytes end = payload_of(StreamEnd{1, StreamStatus::complete, "ok"}, FrameType::stream_end);
  end.push_back(0);
  EXPECT_EQ(decode_stream_end(end).error().code, Errc::trailing_bytes);

  Bytes stop = payload_of(StreamStop{1, "no"}, FrameType::stream_stop);
  stop.push_back(0);
  EXPECT_EQ(decode_stream_stop(stop).error().code, Errc::trailing_bytes);

  Bytes credit = payload_of(StreamCredit{5}, FrameType::stream_credit);
  credit.push_back(0);
  EXPECT_EQ(decode_stream_credit(credit).error().code, Errc::trailing_bytes);
}

TEST(WireStreams, InvalidUtf8IsRejected) {
  auto overlong =
      decode_stream_open(payload_of(StreamOpen{1, 2, "\xC0\x80"}, FrameType::stream_open));
  ASSERT_FALSE(overlong.ok());
  EXPECT_EQ(overlong.error().code, Errc::invalid_utf8);
  auto stray = decode_stream_open(payload_of(StreamOpen{1, 2, "bad \xFF"}, FrameType::stream_open));
  ASSERT_FALSE(stray.ok());
  EXPECT_EQ(stray.error().code, Errc::invalid_utf8);

  auto end = decode_stream_end(
      payload_of(StreamEnd{1, StreamStatus::cancelled, "\xFF"}, FrameType::stream_end));
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, Errc::invalid_utf8);
  auto stop = decode_stream_stop(payload_of(StreamStop{1, "\xFE"}, FrameType::stream_stop));
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().code, Errc::invalid_utf8);
}

TEST(WireStreams, ReasonTextLongerThanTheLimitIsRejected) {
  // Hand-built: the encoder would cut the text, a peer might not.
  Bytes payload;
  put_u32(payload, 1);
  put_u8(payload, 1);
  put_u16(payload, static_cast<std::uint16_t>(kMaxByeMessageBytes + 1));
  put_text(payload, std::string(kMaxByeMessageBytes + 1, 'z'));
  auto end = decode_stream_end(payload);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, Errc::text_too_long);
}

TEST(WireStreams, StreamEndWithAnUnknownStatusIsRejected) {
  Bytes end = payload_of(StreamEnd{1, StreamStatus::complete, ""}, FrameType::stream_end);
  end[4] = 2;  // after the u32 stream ID
  auto decoded = decode_stream_end(end);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Errc::bad_field);
  EXPECT_NE(decoded.error().message.find("status 2"), std::string::npos) << decoded.error().message;
  end[4] = 255;
  EXPECT_EQ(decode_stream_end(end).error().code, Errc::bad_field);
  end[4] = 1;
  ASSERT_TRUE(decode_stream_end(end).ok());
  EXPECT_EQ(decode_stream_end(end)->status, StreamStatus::cancelled);
}

TEST(WireStreams, StreamCreditOfZeroIsRejected) {
  auto zero = decode_stream_credit(payload_of(StreamCredit{0}, FrameType::stream_credit));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::bad_field);
}

TEST(WireStreams, StreamDataWithoutDataBytesIsRejected) {
  Bytes encoded;
  encode_stream_data_header(encoded, 1, 0);  // a header announcing no data at all
  auto frames = split(encoded);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload.size(), kStreamDataHeaderBytes);
  std::span<const std::uint8_t> data;
  auto header = decode_stream_data(frames[0].payload, data);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().code, Errc::truncated);
}

}  // namespace
}  // namespace peerchat::wire
