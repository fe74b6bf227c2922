#include "wire/frame.hpp"

#include <gtest/gtest.h>

#include <random>

#include "wire/errors.hpp"
#include "wire/messages.hpp"

namespace peerchat::wire {
namespace {

Bytes header(std::uint32_t length, std::uint8_t type) {
  Bytes out;
  put_u32(out, length);
  put_u8(out, type);
  return out;
}

TEST(Frame, EveryMessageTypeRoundTrips) {
  Bytes stream;
  encode(stream, Hello{kProtocolVersion, 7001, 0, "alice"});
  encode(stream, Credit{512});
  Chat chat;
  chat.id.fill(0xAB);
  chat.seq = 42;
  chat.timestamp_ms = 1'700'000'000'123;
  chat.text = "héllo";
  encode(stream, chat);
  encode(stream, Ack{42});
  encode(stream, Bye{ByeReason::quit, "bye now"});
  encode(stream, Ping{7});
  encode(stream, Pong{7});

  FrameDecoder decoder;
  decoder.feed(stream);
  std::vector<std::uint8_t> types;
  for (int i = 0; i < 20; ++i) {
    auto frame = decoder.next();
    ASSERT_TRUE(frame.ok());
    if (!frame.value()) break;
    const auto& view = **frame;
    types.push_back(view.type);
    switch (static_cast<FrameType>(view.type)) {
      case FrameType::hello: {
        auto hello = decode_hello(view.payload);
        ASSERT_TRUE(hello.ok());
        EXPECT_EQ(hello->name, "alice");
        EXPECT_EQ(hello->listen_port, 7001);
        EXPECT_EQ(hello->version, kProtocolVersion);
        break;
      }
      case FrameType::credit:
        EXPECT_EQ(decode_credit(view.payload)->grant, 512u);
        break;
      case FrameType::chat: {
        auto decoded = decode_chat(view.payload);
        ASSERT_TRUE(decoded.ok());
        EXPECT_EQ(decoded->id, chat.id);
        EXPECT_EQ(decoded->seq, 42u);
        EXPECT_EQ(decoded->timestamp_ms, chat.timestamp_ms);
        EXPECT_EQ(decoded->text, "héllo");
        break;
      }
      case FrameType::ack:
        EXPECT_EQ(decode_ack(view.payload)->seq, 42u);
        break;
      case FrameType::bye: {
        auto bye = decode_bye(view.payload);
        ASSERT_TRUE(bye.ok());
        EXPECT_EQ(bye->reason, ByeReason::quit);
        EXPECT_EQ(bye->message, "bye now");
        break;
      }
      case FrameType::ping:
        EXPECT_EQ(decode_ping(view.payload)->nonce, 7u);
        break;
      case FrameType::pong:
        EXPECT_EQ(decode_pong(view.payload)->nonce, 7u);
        break;
      default:  // stream frames: wire/streams_test.cpp
        ADD_FAILURE() << "unexpected type " << int{view.type};
        break;
    }
  }
  EXPECT_EQ(types, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(Frame, ByteAtATimeAndRandomChunksGiveTheSameFrames) {
  Bytes stream;
  for (int i = 0; i < 50; ++i) {
    Chat chat;
    chat.seq = static_cast<std::uint64_t>(i + 1);
    chat.text = std::string(static_cast<std::size_t>(i * 7), 'x');
    encode(stream, chat);
  }
  std::mt19937 random(1234);
  for (int mode = 0; mode < 2; ++mode) {
    FrameDecoder decoder;
    std::size_t offset = 0;
    std::uint64_t expected_seq = 1;
    while (offset < stream.size()) {
      const std::size_t chunk =
          mode == 0 ? 1 : std::min<std::size_t>(stream.size() - offset, random() % 97 + 1);
      decoder.feed({stream.data() + offset, chunk});
      offset += chunk;
      for (int guard = 0; guard < 100; ++guard) {
        auto frame = decoder.next();
        ASSERT_TRUE(frame.ok());
        if (!frame.value()) break;
        auto chat = decode_chat((*frame)->payload);
        ASSERT_TRUE(chat.ok());
        EXPECT_EQ(chat->seq, expected_seq++);
      }
    }
    EXPECT_EQ(expected_seq, 51u);
  }
}

TEST(Frame, TruncatedInputWaitsForMore) {
  Bytes stream;
  encode(stream, Ping{99});
  FrameDecoder decoder;
  decoder.feed({stream.data(), 3});  // part of the header
  auto partial = decoder.next();
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial.value().has_value());
  decoder.feed({stream.data() + 3, stream.size() - 4});  // all but the last byte
  auto still = decoder.next();
  ASSERT_TRUE(still.ok());
  EXPECT_FALSE(still.value().has_value());
  decoder.feed({stream.data() + stream.size() - 1, 1});
  auto whole = decoder.next();
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(whole.value().has_value());
  EXPECT_EQ(decode_ping((*whole)->payload)->nonce, 99u);
}

TEST(Frame, MaximumLengthIsAccepted) {
  FrameDecoder decoder;
  Bytes stream = header(kMaxFrameSize, 0x90);
  stream.resize(kHeaderSize + kMaxFrameSize, 0x20);
  decoder.feed(stream);
  auto frame = decoder.next();
  ASSERT_TRUE(frame.ok());
  ASSERT_TRUE(frame.value().has_value());
  EXPECT_EQ((*frame)->payload.size(), kMaxFrameSize - 1);
}

TEST(Frame, OversizeLengthsAreRejectedBeforeTheBodyArrives) {
  for (std::uint32_t length : {kMaxFrameSize + 1, 0x80000000u, 0xFFFFFFFFu}) {
    FrameDecoder decoder;
    Bytes bytes;
    put_u32(bytes, length);
    decoder.feed(bytes);  // only the four length bytes
    auto frame = decoder.next();
    ASSERT_FALSE(frame.ok()) << length;
    EXPECT_EQ(frame.error().code, Errc::frame_too_large);
    EXPECT_LE(decoder.buffered(), kHeaderSize);  // nothing allocated for the body
  }
}

TEST(Frame, ZeroLengthIsRejected) {
  FrameDecoder decoder;
  Bytes bytes;
  put_u32(bytes, 0);
  decoder.feed(bytes);
  auto frame = decoder.next();
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().code, Errc::empty_frame);
}

TEST(Frame, PrepareAndCommitReadInPlace) {
  Bytes stream;
  encode(stream, Ack{5});
  FrameDecoder decoder;
  auto room = decoder.prepare(4096);
  ASSERT_GE(room.size(), stream.size());
  std::copy(stream.begin(), stream.end(), room.begin());
  decoder.commit(stream.size());
  auto frame = decoder.next();
  ASSERT_TRUE(frame.ok() && frame.value().has_value());
  EXPECT_EQ(decode_ack((*frame)->payload)->seq, 5u);
}

}  // namespace
}  // namespace peerchat::wire
