// Bulk streams through two protocol state machines back to back in memory, with a fake clock.
#include "session/streams.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "session/protocol.hpp"
#include "session/protocol_test_support.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/streams.hpp"

namespace peerchat::session {
namespace {

using namespace std::chrono_literals;
using namespace testing;

// One take_output() call.
wire::Bytes take(Side& from) {
  wire::Bytes out;
  from.protocol.take_output(out);
  return out;
}

struct Frame {
  std::uint8_t type = 0;
  wire::Bytes payload;
};

std::vector<Frame> frames_of(const wire::Bytes& bytes) {
  wire::FrameDecoder decoder;
  decoder.feed(bytes);
  std::vector<Frame> frames;
  for (int guard = 0; guard < 10000; ++guard) {
    auto next = decoder.next();
    if (!next.ok()) {
      ADD_FAILURE() << next.error().message;
      break;
    }
    if (!next.value().has_value()) break;
    frames.push_back(
        Frame{(*next)->type, wire::Bytes((*next)->payload.begin(), (*next)->payload.end())});
  }
  EXPECT_EQ(decoder.buffered(), 0u);
  return frames;
}

bool is(const Frame& frame, wire::FrameType type) {
  return frame.type == static_cast<std::uint8_t>(type);
}

std::size_t count_type(const std::vector<Frame>& frames, wire::FrameType type) {
  return static_cast<std::size_t>(
      std::count_if(frames.begin(), frames.end(), [&](const Frame& f) { return is(f, type); }));
}

// Deterministic pseudo-random bytes (xorshift64*).
wire::Bytes pseudo_random(std::size_t size, std::uint64_t seed) {
  wire::Bytes bytes(size);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& byte : bytes) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    byte = static_cast<std::uint8_t>((state * 0x2545F4914F6CDD1Dull) >> 56);
  }
  return bytes;
}

wire::Bytes data_frame(std::uint32_t stream, std::size_t size, std::uint8_t fill = 0xAB) {
  wire::Bytes out;
  wire::encode_stream_data_header(out, stream, size);
  out.insert(out.end(), size, fill);
  return out;
}

template <class T>
wire::Bytes frame(const T& message) {
  wire::Bytes out;
  wire::encode(out, message);
  return out;
}

wire::Bytes concat(std::initializer_list<wire::Bytes> parts) {
  wire::Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::span<const std::uint8_t> rest_of(const wire::Bytes& data, std::size_t offset) {
  return std::span<const std::uint8_t>(data).subspan(offset);
}

// `ascii` copies of `fill`, then "\xC3\xA9" (é): a two-byte character right after them.
std::string ascii_then_e_acute(std::size_t ascii, char fill) {
  std::string text(ascii, fill);
  text.push_back('\xC3');
  text.push_back('\xA9');
  return text;
}

class StreamsTest : public ::testing::Test {
 protected:
  void open_both() { open_pair(alice, bob); }
  wire::Chat chat(std::uint64_t seq, std::string text = "hi") {
    return make_chat(seq, std::move(text), clock.wall_ms());
  }
  std::uint32_t open_stream(Side& side, std::string label, std::uint64_t size) {
    auto id = side.protocol.open_stream(std::move(label), size);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  // Writes all of `data` as room frees, pumping in between, then ends the stream (bounded).
  static void send_whole(Side& sender, Side& receiver, std::uint32_t stream,
                         const wire::Bytes& data) {
    std::size_t sent = 0;
    for (int i = 0; i < 10000 && sent < data.size(); ++i) {
      sent += sender.protocol.write_stream(stream, rest_of(data, sent));
      pump(sender, receiver);
    }
    ASSERT_EQ(sent, data.size()) << "the sender never got rid of its data";
    sender.protocol.end_stream(stream);
    pump(sender, receiver);
  }
  static void expect_protocol_error(const Side& side, std::string_view needle) {
    ASSERT_EQ(side.recorder.closes.size(), 1u);
    EXPECT_EQ(side.recorder.closes[0].code, Code::protocol_error);
    EXPECT_FALSE(side.recorder.closes[0].by_peer);
    EXPECT_NE(side.recorder.closes[0].message.find(needle), std::string::npos)
        << side.recorder.closes[0].message;
    EXPECT_EQ(side.protocol.state(), State::closed);
  }

  FakeClock clock;
  FakeRandom random;
  Side alice{"alice", clock, random, true};
  Side bob{"bob", clock, random, true};
};

// ---------------------------------------------------------------------------------------------
// Agreement

TEST_F(StreamsTest, EnabledOnlyWhenBothSidesOfferThem) {
  for (bool a_offers : {false, true}) {
    for (bool b_offers : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "alice offers " << a_offers << ", bob offers " << b_offers);
      Side a{"a", clock, random, a_offers};
      Side b{"b", clock, random, b_offers};
      EXPECT_FALSE(a.protocol.streams_enabled());  // never before the handshake
      EXPECT_FALSE(a.protocol.open_stream("early", 1).ok());
      open_pair(a, b);
      // The capability bit in HELLO says what each side offered.
      ASSERT_EQ(a.recorder.hellos.size(), 1u);
      EXPECT_EQ((a.recorder.hellos[0].capabilities & wire::kCapabilityStreams) != 0, b_offers);
      EXPECT_EQ((b.recorder.hellos[0].capabilities & wire::kCapabilityStreams) != 0, a_offers);

      const bool agreed = a_offers && b_offers;
      EXPECT_EQ(a.protocol.streams_enabled(), agreed);
      EXPECT_EQ(b.protocol.streams_enabled(), agreed);
      for (Side* side : {&a, &b}) {
        auto id = side->protocol.open_stream("file.txt", 10);
        EXPECT_EQ(id.ok(), agreed);
        if (!agreed) {
          EXPECT_FALSE(side->protocol.has_output());  // nothing queued for the peer
          const wire::Bytes data(10, 1);
          EXPECT_EQ(side->protocol.write_stream(1, data), 0u);
        }
      }
      pump(a, b);
      EXPECT_TRUE(a.recorder.closes.empty());
      EXPECT_TRUE(b.recorder.closes.empty());
      EXPECT_EQ(a.recorder.opens.size(), agreed ? 1u : 0u);
      EXPECT_EQ(b.recorder.opens.size(), agreed ? 1u : 0u);
    }
  }
}

TEST_F(StreamsTest, StreamIdsIncreaseAndAreNeverReused) {
  open_both();
  const std::uint32_t first = open_stream(alice, "one", 0);
  alice.protocol.end_stream(first);
  pump(alice, bob);
  const std::uint32_t second = open_stream(alice, "two", 0);
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(second, 2u);
  // Bob's own streams use a separate ID space.
  EXPECT_EQ(open_stream(bob, "reply", 0), 1u);
  pump(alice, bob);
  EXPECT_TRUE(alice.recorder.closes.empty());
  EXPECT_TRUE(bob.recorder.closes.empty());
  ASSERT_EQ(bob.recorder.opens.size(), 2u);
  ASSERT_EQ(alice.recorder.opens.size(), 1u);
}

TEST_F(StreamsTest, LocalOpenChecksTheLabel) {
  open_both();
  EXPECT_TRUE(alice.protocol.open_stream(std::string(wire::kMaxStreamLabelBytes, 'a'), 1).ok());
  EXPECT_FALSE(
      alice.protocol.open_stream(std::string(wire::kMaxStreamLabelBytes + 1, 'a'), 1).ok());
  EXPECT_FALSE(alice.protocol.open_stream("bad \xFF label", 1).ok());
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.opens.size(), 1u);
  EXPECT_EQ(bob.recorder.opens[0].label.size(), wire::kMaxStreamLabelBytes);
  EXPECT_TRUE(bob.recorder.closes.empty());
}

TEST_F(StreamsTest, LocalOpenIsLimitedToMaxStreams) {
  open_both();
  const std::size_t limit = StreamLimits{}.max_streams;
  ASSERT_EQ(limit, 16u);
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < limit; ++i) ids.push_back(open_stream(alice, "s", 0));
  EXPECT_FALSE(alice.protocol.open_stream("one too many", 0).ok());
  pump(alice, bob);
  EXPECT_EQ(bob.recorder.opens.size(), limit);
  // Ending one frees a place.
  alice.protocol.end_stream(ids[0]);
  pump(alice, bob);
  EXPECT_TRUE(alice.protocol.open_stream("now it fits", 0).ok());
  pump(alice, bob);
  EXPECT_EQ(bob.recorder.opens.size(), limit + 1);
  EXPECT_TRUE(bob.recorder.closes.empty());
}

// ---------------------------------------------------------------------------------------------
// Data flow

TEST_F(StreamsTest, OneMebibyteArrivesByteExactInOrderAndComplete) {
  open_both();
  const wire::Bytes data = pseudo_random(1u << 20, 42);
  const std::uint32_t id = open_stream(alice, "big.bin", data.size());
  send_whole(alice, bob, id, data);

  ASSERT_EQ(bob.recorder.opens.size(), 1u);
  EXPECT_EQ(bob.recorder.opens[0].stream, id);
  EXPECT_EQ(bob.recorder.opens[0].label, "big.bin");
  EXPECT_EQ(bob.recorder.opens[0].size, data.size());
  ASSERT_EQ(bob.recorder.received[id].size(), data.size());
  EXPECT_TRUE(bob.recorder.received[id] == data) << "the bytes differ";
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].stream, id);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::complete);
  EXPECT_LE(bob.recorder.largest_chunk, kChunk);
  EXPECT_GT(alice.recorder.writable, 0);
  // The stream is gone on the sender's side: no room, writes refused.
  EXPECT_EQ(alice.protocol.stream_room(id), 0u);
  EXPECT_EQ(alice.protocol.write_stream(id, data), 0u);
  EXPECT_TRUE(alice.recorder.closes.empty());
  EXPECT_TRUE(bob.recorder.closes.empty());
}

TEST_F(StreamsTest, EmptyStreamEndsComplete) {
  open_both();
  const std::uint32_t id = open_stream(alice, "empty", 0);
  alice.protocol.end_stream(id);
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.opens.size(), 1u);
  EXPECT_EQ(bob.recorder.delivered, 0u);
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::complete);
}

TEST_F(StreamsTest, WriteIsLimitedByTheSendBuffer) {
  open_both();
  const wire::Bytes data = pseudo_random(3 * kSendBuffer, 5);
  const std::uint32_t id = open_stream(alice, "x", data.size());
  EXPECT_EQ(alice.protocol.stream_room(id), kSendBuffer);
  EXPECT_EQ(alice.protocol.write_stream(id, data), kSendBuffer);
  EXPECT_EQ(alice.protocol.stream_room(id), 0u);
  EXPECT_EQ(alice.protocol.write_stream(id, rest_of(data, kSendBuffer)), 0u);
  // One take frees one chunk of room.
  take(alice);
  EXPECT_EQ(alice.protocol.stream_room(id), kChunk);
  EXPECT_EQ(alice.recorder.writable, 1);
  EXPECT_EQ(alice.protocol.write_stream(9999, data), 0u);  // unknown stream
}

TEST_F(StreamsTest, UnevenWritesBetweenSingleTakesArriveByteExact) {
  // Writes of odd sizes land while part of the buffer is still unsent, so the sender's buffer
  // is compacted and refilled many times; one take_output() each way per step.
  open_both();
  const wire::Bytes data = pseudo_random(300 * 1024 + 1, 31);
  const wire::Bytes sizes = pseudo_random(10000, 32);
  const std::uint32_t id = open_stream(alice, "uneven", data.size());
  std::size_t sent = 0;
  for (std::size_t step = 0; step < sizes.size() && sent < data.size(); ++step) {
    const std::size_t piece = std::min<std::size_t>(1 + std::size_t{sizes[step]} * 37,
                                                    data.size() - sent);  // 1 .. 9436 bytes
    sent += alice.protocol.write_stream(id, rest_of(data, sent).first(piece));
    if (alice.protocol.has_output()) inject(bob, take(alice));
    if (bob.protocol.has_output()) inject(alice, take(bob));
  }
  ASSERT_EQ(sent, data.size());
  alice.protocol.end_stream(id);
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.received[id].size(), data.size());
  EXPECT_TRUE(bob.recorder.received[id] == data) << "the bytes differ";
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::complete);
  EXPECT_LE(bob.recorder.largest_chunk, kChunk);
}

TEST_F(StreamsTest, ReceiverThatDoesNotConsumeStallsTheSenderAtTheWindow) {
  open_both();
  bob.recorder.auto_consume = false;
  const wire::Bytes data = pseudo_random(256 * 1024, 7);
  const std::uint32_t id = open_stream(alice, "slow disk", data.size());

  std::size_t sent = 0;
  for (int i = 0; i < 200 && sent < data.size(); ++i) {
    const std::size_t before_sent = sent;
    const std::size_t before_delivered = bob.recorder.delivered;
    sent += alice.protocol.write_stream(id, rest_of(data, sent));
    pump(alice, bob);
    if (sent == before_sent && bob.recorder.delivered == before_delivered) break;  // stalled
  }
  // Exactly one window reached bob; alice holds one full send buffer more, and stops.
  EXPECT_EQ(bob.recorder.delivered, kWindow);
  EXPECT_EQ(sent, kWindow + kSendBuffer);
  EXPECT_EQ(alice.protocol.stream_room(id), 0u);
  EXPECT_FALSE(alice.protocol.has_output());
  EXPECT_TRUE(bob.recorder.ends.empty());

  // Chat credit is separate: chat still flows while the stream is stalled.
  ASSERT_TRUE(alice.protocol.can_send_chat());
  alice.protocol.send_chat(chat(1, "still here"));
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.chats.size(), 1u);
  EXPECT_EQ(bob.recorder.delivered, kWindow);

  // Less than a quarter window consumed: credit is not granted back yet.
  bob.protocol.consume_stream(kWindow / 8);
  bob.protocol.flush();
  pump(alice, bob);
  EXPECT_EQ(bob.recorder.delivered, kWindow);
  // A quarter window: that much credit returns, and exactly that much more data arrives.
  bob.protocol.consume_stream(kWindow / 8);
  bob.protocol.flush();
  pump(alice, bob);
  EXPECT_EQ(bob.recorder.delivered, kWindow + kWindow / 4);

  // Consuming everything resumes the transfer to the end.
  bob.protocol.consume_stream(bob.recorder.delivered);
  bob.protocol.flush();
  bob.recorder.auto_consume = true;
  for (int i = 0; i < 1000 && sent < data.size(); ++i) {
    sent += alice.protocol.write_stream(id, rest_of(data, sent));
    pump(alice, bob);
  }
  ASSERT_EQ(sent, data.size());
  alice.protocol.end_stream(id);
  pump(alice, bob);
  EXPECT_TRUE(bob.recorder.received[id] == data) << "the bytes differ";
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::complete);
  EXPECT_TRUE(bob.recorder.closes.empty());
}

TEST_F(StreamsTest, ChatGoesOutBeforeAStreamBacklogWithAtMostOneChunk) {
  open_both();
  const wire::Bytes first = pseudo_random(kSendBuffer, 1);
  const wire::Bytes second = pseudo_random(kSendBuffer, 2);
  const std::uint32_t a = open_stream(alice, "a", first.size());
  const std::uint32_t b = open_stream(alice, "b", second.size());
  ASSERT_EQ(alice.protocol.write_stream(a, first), kSendBuffer);
  ASSERT_EQ(alice.protocol.write_stream(b, second), kSendBuffer);
  inject(bob, take(alice));  // the two STREAM_OPENs and the first chunk
  ASSERT_EQ(bob.recorder.delivered, kChunk);

  // Seven chunks of backlog remain; the chat jumps them.
  alice.protocol.send_chat(chat(1, "urgent"));
  const wire::Bytes out = take(alice);
  const auto frames = frames_of(out);
  ASSERT_FALSE(frames.empty());
  EXPECT_TRUE(is(frames[0], wire::FrameType::chat));
  EXPECT_EQ(count_type(frames, wire::FrameType::chat), 1u);
  EXPECT_LE(count_type(frames, wire::FrameType::stream_data), 1u);
  EXPECT_LE(out.size(), 512 + wire::kHeaderSize + 1 + wire::kStreamDataHeaderBytes + kChunk);

  inject(bob, out);
  ASSERT_EQ(bob.recorder.chats.size(), 1u);
  EXPECT_EQ(bob.recorder.chats[0].text, "urgent");
  EXPECT_LE(bob.recorder.delivered, 2 * kChunk);

  alice.protocol.end_stream(a);
  alice.protocol.end_stream(b);
  pump(alice, bob);
  EXPECT_TRUE(bob.recorder.received[a] == first);
  EXPECT_TRUE(bob.recorder.received[b] == second);
  EXPECT_EQ(bob.recorder.ends.size(), 2u);
  EXPECT_EQ(alice.recorder.acks, (std::vector<std::uint64_t>{1}));
}

TEST_F(StreamsTest, TwoStreamsAreInterleavedRoundRobinAndBothArriveIntact) {
  open_both();
  const wire::Bytes first = pseudo_random(100 * 1024 + 17, 11);
  const wire::Bytes second = pseudo_random(70 * 1024 + 3, 12);
  const std::uint32_t a = open_stream(alice, "first", first.size());
  const std::uint32_t b = open_stream(alice, "second", second.size());
  pump(alice, bob);

  std::size_t sent_a = 0;
  std::size_t sent_b = 0;
  bool ended_a = false;
  bool ended_b = false;
  for (int i = 0; i < 1000 && !(ended_a && ended_b); ++i) {
    sent_a += alice.protocol.write_stream(a, rest_of(first, sent_a));
    sent_b += alice.protocol.write_stream(b, rest_of(second, sent_b));
    if (sent_a == first.size() && !ended_a) {
      alice.protocol.end_stream(a);
      ended_a = true;
    }
    if (sent_b == second.size() && !ended_b) {
      alice.protocol.end_stream(b);
      ended_b = true;
    }
    pump(alice, bob);
  }
  ASSERT_TRUE(ended_a && ended_b);
  pump(alice, bob);

  // Both buffers were full at the first pump: the chunks alternate, one each.
  const auto& order = bob.recorder.data_order;
  ASSERT_GE(order.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(order[i], i % 2 == 0 ? a : b) << "chunk " << i;
  // While both streams had data, neither ever got two chunks in a row.
  const auto first_end = second.size() / kChunk;  // b runs out first
  for (std::size_t i = 1; i < std::min(order.size(), first_end); ++i) {
    EXPECT_NE(order[i], order[i - 1]) << "chunk " << i;
  }

  EXPECT_TRUE(bob.recorder.received[a] == first) << "first stream differs";
  EXPECT_TRUE(bob.recorder.received[b] == second) << "second stream differs";
  ASSERT_NE(bob.recorder.end_of(a), nullptr);
  ASSERT_NE(bob.recorder.end_of(b), nullptr);
  EXPECT_EQ(bob.recorder.end_of(a)->status, wire::StreamStatus::complete);
  EXPECT_EQ(bob.recorder.end_of(b)->status, wire::StreamStatus::complete);
  EXPECT_TRUE(bob.recorder.closes.empty());
}

TEST_F(StreamsTest, BothDirectionsAtOnce) {
  open_both();
  const wire::Bytes to_bob = pseudo_random(200 * 1024, 21);
  const wire::Bytes to_alice = pseudo_random(150 * 1024, 22);
  const std::uint32_t a = open_stream(alice, "to bob", to_bob.size());
  const std::uint32_t b = open_stream(bob, "to alice", to_alice.size());
  std::size_t sent_a = 0;
  std::size_t sent_b = 0;
  for (int i = 0; i < 1000 && (sent_a < to_bob.size() || sent_b < to_alice.size()); ++i) {
    sent_a += alice.protocol.write_stream(a, rest_of(to_bob, sent_a));
    sent_b += bob.protocol.write_stream(b, rest_of(to_alice, sent_b));
    pump(alice, bob);
  }
  alice.protocol.end_stream(a);
  bob.protocol.end_stream(b);
  pump(alice, bob);
  EXPECT_TRUE(bob.recorder.received[a] == to_bob);
  EXPECT_TRUE(alice.recorder.received[b] == to_alice);
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  ASSERT_EQ(alice.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::complete);
  EXPECT_EQ(alice.recorder.ends[0].status, wire::StreamStatus::complete);
}

// ---------------------------------------------------------------------------------------------
// Stop and cancel

TEST_F(StreamsTest, StopByTheReceiverCancelsTheStreamAndDropsDataInFlight) {
  open_both();
  bob.recorder.auto_consume = false;  // consumed by hand, to check the credit exactly
  const wire::Bytes data = pseudo_random(kSendBuffer, 3);
  const std::uint32_t id = open_stream(alice, "unwanted", data.size());
  ASSERT_EQ(alice.protocol.write_stream(id, data), kSendBuffer);

  inject(bob, take(alice));  // STREAM_OPEN and the first chunk
  ASSERT_EQ(bob.recorder.delivered, kChunk);
  bob.protocol.consume_stream(kChunk);
  // Three more chunks leave alice but are still on the wire when bob says stop.
  std::vector<wire::Bytes> in_flight;
  for (int i = 0; i < 3; ++i) in_flight.push_back(take(alice));
  EXPECT_FALSE(alice.protocol.has_output());

  bob.protocol.stop_stream(id, "no thanks");
  const wire::Bytes stop = take(bob);
  const auto stop_frames = frames_of(stop);
  ASSERT_EQ(count_type(stop_frames, wire::FrameType::stream_stop), 1u);
  bob.protocol.stop_stream(id, "twice");  // already stopped: nothing more to send
  EXPECT_FALSE(bob.protocol.has_output());

  for (const auto& bytes : in_flight) inject(bob, bytes);
  EXPECT_EQ(bob.recorder.delivered, kChunk) << "data for a stopped stream was delivered";
  EXPECT_EQ(bob.recorder.received[id].size(), kChunk);
  EXPECT_TRUE(bob.recorder.closes.empty());

  inject(alice, stop);
  ASSERT_EQ(alice.recorder.stopped.size(), 1u);
  EXPECT_EQ(alice.recorder.stopped[0].stream, id);
  EXPECT_EQ(alice.recorder.stopped[0].message, "no thanks");
  EXPECT_EQ(alice.protocol.stream_room(id), 0u);
  EXPECT_EQ(alice.protocol.write_stream(id, data), 0u);

  pump(alice, bob);
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].stream, id);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::cancelled);
  EXPECT_TRUE(alice.recorder.ends.empty());
  EXPECT_EQ(alice.protocol.state(), State::open);
  EXPECT_EQ(bob.protocol.state(), State::open);
  EXPECT_TRUE(alice.recorder.closes.empty());
  EXPECT_TRUE(bob.recorder.closes.empty());

  // The dropped data's credit came back: a new stream gets a whole window again.
  const wire::Bytes more = pseudo_random(2 * kWindow, 4);
  const std::uint32_t next = open_stream(alice, "wanted", more.size());
  std::size_t sent = 0;
  for (int i = 0; i < 200; ++i) {
    const std::size_t before = bob.recorder.delivered;
    sent += alice.protocol.write_stream(next, rest_of(more, sent));
    pump(alice, bob);
    if (bob.recorder.delivered == before) break;
  }
  EXPECT_EQ(bob.recorder.received[next].size(), kWindow);

  // And chat still flows.
  alice.protocol.send_chat(chat(1));
  pump(alice, bob);
  EXPECT_EQ(bob.recorder.chats.size(), 1u);
}

TEST_F(StreamsTest, StopCrossingTheSendersEndIsHarmless) {
  open_both();
  const std::uint32_t id = open_stream(alice, "small", 3);
  const wire::Bytes data{1, 2, 3};
  ASSERT_EQ(alice.protocol.write_stream(id, data), 3u);
  alice.protocol.end_stream(id);
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  // Bob's STREAM_STOP was already on its way when the stream ended.
  inject(alice, frame(wire::StreamStop{id, "too late"}));
  EXPECT_TRUE(alice.recorder.stopped.empty());
  EXPECT_TRUE(alice.recorder.closes.empty());
  EXPECT_EQ(alice.protocol.state(), State::open);
}

TEST_F(StreamsTest, CancelBySenderEndsTheStreamCancelled) {
  open_both();
  const wire::Bytes data = pseudo_random(3 * kSendBuffer, 9);
  const std::uint32_t id = open_stream(alice, "half", data.size());
  ASSERT_EQ(alice.protocol.write_stream(id, data), kSendBuffer);
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.delivered, kSendBuffer);
  // More is buffered, then the user gives up: the buffered bytes never go out.
  ASSERT_EQ(alice.protocol.write_stream(id, rest_of(data, kSendBuffer)), kSendBuffer);
  alice.protocol.cancel_stream(id, "user cancelled");
  EXPECT_EQ(alice.protocol.stream_room(id), 0u);
  EXPECT_EQ(alice.protocol.write_stream(id, data), 0u);
  pump(alice, bob);

  EXPECT_EQ(bob.recorder.delivered, kSendBuffer);
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].stream, id);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::cancelled);
  EXPECT_EQ(bob.recorder.ends[0].message, "user cancelled");
  EXPECT_TRUE(alice.recorder.stopped.empty());
  EXPECT_EQ(alice.protocol.state(), State::open);
  EXPECT_EQ(bob.protocol.state(), State::open);
  EXPECT_TRUE(bob.recorder.closes.empty());
}

// Cancelling or stopping one stream, even with a long multi-byte reason, leaves the session
// open (the reason is cut on a character boundary).
TEST_F(StreamsTest, CancelWithALongMultiByteReasonKeepsTheSessionOpen) {
  open_both();
  const std::uint32_t id = open_stream(alice, "x", 10);
  pump(alice, bob);
  // 1023 ASCII bytes, then "é" (two bytes) across the 1024-byte limit: valid UTF-8 as given.
  alice.protocol.cancel_stream(id, ascii_then_e_acute(wire::kMaxByeMessageBytes - 1, 'r'));
  pump(alice, bob);
  EXPECT_TRUE(bob.recorder.closes.empty())
      << "bob closed the session: " << bob.recorder.closes.at(0).message;
  EXPECT_EQ(bob.protocol.state(), State::open);
  ASSERT_EQ(bob.recorder.ends.size(), 1u);
  EXPECT_EQ(bob.recorder.ends[0].status, wire::StreamStatus::cancelled);
}

TEST_F(StreamsTest, StopWithALongMultiByteReasonKeepsTheSessionOpen) {
  open_both();
  const std::uint32_t id = open_stream(alice, "x", 10);
  pump(alice, bob);
  bob.protocol.stop_stream(id, ascii_then_e_acute(wire::kMaxByeMessageBytes - 1, 's'));
  pump(alice, bob);
  EXPECT_TRUE(alice.recorder.closes.empty())
      << "alice closed the session: " << alice.recorder.closes.at(0).message;
  EXPECT_EQ(alice.protocol.state(), State::open);
  EXPECT_EQ(alice.recorder.stopped.size(), 1u);
}

TEST_F(StreamsTest, ClosingTheSessionDropsStreams) {
  open_both();
  const std::uint32_t id = open_stream(alice, "x", 0);
  const wire::Bytes data = pseudo_random(kSendBuffer, 8);
  ASSERT_EQ(alice.protocol.write_stream(id, data), kSendBuffer);
  alice.protocol.close(wire::ByeReason::quit, "bye");
  const auto frames = frames_of(take(alice));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(is(frames[0], wire::FrameType::bye));
  EXPECT_FALSE(alice.protocol.has_output());
  EXPECT_EQ(alice.protocol.write_stream(id, data), 0u);
  EXPECT_FALSE(alice.protocol.streams_enabled());
  EXPECT_FALSE(alice.protocol.open_stream("after", 0).ok());
}

// ---------------------------------------------------------------------------------------------
// Protocol errors

TEST_F(StreamsTest, StreamFramesWithoutAgreementAreProtocolErrors) {
  const std::vector<wire::Bytes> frames = {
      frame(wire::StreamOpen{1, 1, "x"}),
      data_frame(1, 1),
      frame(wire::StreamEnd{1, wire::StreamStatus::complete, ""}),
      frame(wire::StreamStop{1, ""}),
      frame(wire::StreamCredit{100}),
  };
  for (std::size_t i = 0; i < frames.size(); ++i) {
    for (bool receiver_offers : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "frame " << i << ", receiver offers " << receiver_offers);
      // Exactly one side offers streams; the receiver is either of them.
      Side sender{"sender", clock, random, !receiver_offers};
      Side receiver{"receiver", clock, random, receiver_offers};
      open_pair(sender, receiver);
      inject(receiver, frames[i]);
      expect_protocol_error(receiver, "not agreed");
      EXPECT_TRUE(receiver.recorder.opens.empty());
      EXPECT_EQ(receiver.recorder.delivered, 0u);
      pump(sender, receiver);  // the sender hears why
      ASSERT_EQ(sender.recorder.closes.size(), 1u);
      EXPECT_EQ(sender.recorder.closes[0].code, Code::protocol_error);
      EXPECT_TRUE(sender.recorder.closes[0].by_peer);
    }
  }
}

TEST_F(StreamsTest, StreamDataForAnUnopenedStreamIsAProtocolError) {
  open_both();
  inject(bob, data_frame(5, 10));
  expect_protocol_error(bob, "not open");
  EXPECT_EQ(bob.recorder.delivered, 0u);
}

TEST_F(StreamsTest, StreamDataAfterStreamEndIsAProtocolError) {
  open_both();
  inject(bob,
         concat({frame(wire::StreamOpen{1, 10, "x"}), data_frame(1, 4),
                 frame(wire::StreamEnd{1, wire::StreamStatus::complete, ""}), data_frame(1, 4)}));
  expect_protocol_error(bob, "not open");
  EXPECT_EQ(bob.recorder.delivered, 4u);
  EXPECT_EQ(bob.recorder.ends.size(), 1u);
}

TEST_F(StreamsTest, StreamEndForAnUnopenedStreamIsAProtocolError) {
  open_both();
  inject(bob, frame(wire::StreamEnd{3, wire::StreamStatus::complete, ""}));
  expect_protocol_error(bob, "not open");
  EXPECT_TRUE(bob.recorder.ends.empty());
}

TEST_F(StreamsTest, StreamDataBeyondTheGrantedCreditIsAProtocolError) {
  open_both();
  bob.recorder.auto_consume = false;
  wire::Bytes flood = frame(wire::StreamOpen{1, wire::kUnknownStreamSize, "flood"});
  for (std::size_t sent = 0; sent < kWindow; sent += kChunk) {
    const wire::Bytes chunk = data_frame(1, kChunk);
    flood.insert(flood.end(), chunk.begin(), chunk.end());
  }
  const wire::Bytes extra = data_frame(1, 1);  // one byte over the window
  flood.insert(flood.end(), extra.begin(), extra.end());
  inject(bob, flood);
  EXPECT_EQ(bob.recorder.delivered, kWindow);
  expect_protocol_error(bob, "credit");
  pump(alice, bob);
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, Code::protocol_error);
  EXPECT_TRUE(alice.recorder.closes[0].by_peer);
}

TEST_F(StreamsTest, OneFrameLargerThanTheWholeCreditIsAProtocolError) {
  open_both();
  inject(bob, concat({frame(wire::StreamOpen{1, wire::kUnknownStreamSize, "big"}),
                      data_frame(1, kWindow + 1)}));
  expect_protocol_error(bob, "credit");
  EXPECT_EQ(bob.recorder.delivered, 0u);
}

TEST_F(StreamsTest, StreamOpenReusingAnIdIsAProtocolError) {
  {
    open_both();
    inject(bob, concat({frame(wire::StreamOpen{1, 0, "one"}),
                        frame(wire::StreamEnd{1, wire::StreamStatus::complete, ""}),
                        frame(wire::StreamOpen{1, 0, "one again"})}));
    expect_protocol_error(bob, "reuses");
    EXPECT_EQ(bob.recorder.opens.size(), 1u);
  }
  {
    // A lower ID than one already used counts as reuse too: IDs only increase.
    Side carol{"carol", clock, random, true};
    Side dave{"dave", clock, random, true};
    open_pair(carol, dave);
    inject(dave,
           concat({frame(wire::StreamOpen{5, 0, "five"}), frame(wire::StreamOpen{3, 0, "three"})}));
    expect_protocol_error(dave, "reuses");
    EXPECT_EQ(dave.recorder.opens.size(), 1u);
  }
  {
    // Open twice without an end in between.
    Side erin{"erin", clock, random, true};
    Side frank{"frank", clock, random, true};
    open_pair(erin, frank);
    inject(frank, concat({frame(wire::StreamOpen{2, 0, "two"}),
                          frame(wire::StreamOpen{2, 0, "two again"})}));
    expect_protocol_error(frank, "reuses");
  }
}

TEST_F(StreamsTest, MoreThanMaxStreamsOpenAtOnceIsAProtocolError) {
  open_both();
  const std::size_t limit = StreamLimits{}.max_streams;
  ASSERT_EQ(limit, 16u);
  wire::Bytes opens;
  for (std::uint32_t id = 1; id <= limit + 1; ++id) {
    const wire::Bytes one = frame(wire::StreamOpen{id, 0, "s"});
    opens.insert(opens.end(), one.begin(), one.end());
  }
  inject(bob, opens);
  EXPECT_EQ(bob.recorder.opens.size(), limit);
  expect_protocol_error(bob, "streams open at once");
}

TEST_F(StreamsTest, AnEndedStreamFreesItsPlaceForTheLimit) {
  open_both();
  const std::size_t limit = StreamLimits{}.max_streams;
  wire::Bytes bytes;
  for (std::uint32_t id = 1; id <= limit; ++id) {
    const wire::Bytes one = frame(wire::StreamOpen{id, 0, "s"});
    bytes.insert(bytes.end(), one.begin(), one.end());
  }
  const auto tail =
      concat({frame(wire::StreamEnd{1, wire::StreamStatus::cancelled, ""}),
              frame(wire::StreamOpen{static_cast<std::uint32_t>(limit + 1), 0, "s"})});
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  inject(bob, bytes);
  EXPECT_TRUE(bob.recorder.closes.empty());
  EXPECT_EQ(bob.recorder.opens.size(), limit + 1);
}

TEST_F(StreamsTest, MalformedStreamFramesAreProtocolErrors) {
  const std::vector<wire::Bytes> frames = {
      frame(wire::StreamCredit{0}),           // zero grant
      frame(wire::StreamOpen{0, 0, "zero"}),  // stream 0
      data_frame(1, 0),                       // STREAM_DATA with no data
      frame(wire::StreamStop{0, ""}),         // stream 0
  };
  for (std::size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "frame " << i);
    Side a{"a", clock, random, true};
    Side b{"b", clock, random, true};
    open_pair(a, b);
    inject(b, frames[i]);
    ASSERT_EQ(b.recorder.closes.size(), 1u);
    EXPECT_EQ(b.recorder.closes[0].code, Code::protocol_error);
  }
}

}  // namespace
}  // namespace peerchat::session
