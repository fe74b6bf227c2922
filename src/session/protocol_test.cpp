// Two protocol state machines back to back in memory, with a fake clock.
#include "session/protocol.hpp"

#include <gtest/gtest.h>

#include "session/credit.hpp"

namespace peerchat::session {
namespace {

using namespace std::chrono_literals;

struct Recorder final : ProtocolListener {
  void on_hello(const wire::Hello& hello) override { hellos.push_back(hello); }
  void on_chat(wire::Chat&& chat) override {
    chats.push_back(chat);
    if (auto_ack && protocol != nullptr) protocol->acknowledge(chat.seq, 1);
  }
  void on_ack(std::uint64_t seq) override { acks.push_back(seq); }
  void on_credit() override { ++credits; }
  void on_close(const CloseReason& reason) override { closes.push_back(reason); }

  Protocol* protocol = nullptr;
  bool auto_ack = true;
  std::vector<wire::Hello> hellos;
  std::vector<wire::Chat> chats;
  std::vector<std::uint64_t> acks;
  int credits = 0;
  std::vector<CloseReason> closes;
};

struct Side {
  static ProtocolConfig config(std::string name, std::uint32_t window, bool streams) {
    ProtocolConfig config;
    config.name = std::move(name);
    config.listen_port = 7001;
    config.receive_window = window;
    config.offer_streams = streams;
    config.streams.receive_window = 64 * 1024;  // small, so tests reach its edges
    config.streams.max_chunk = 4096;
    config.streams.send_buffer = 16 * 1024;
    return config;
  }
  Side(std::string name, const Clock& clock, Random& random, std::uint32_t window = 8,
       bool streams = false)
      : protocol(config(std::move(name), window, streams), clock, random, recorder) {
    recorder.protocol = &protocol;
  }
  Recorder recorder;
  Protocol protocol;
};

// Moves bytes both ways until neither side has output left (bounded).
void pump(Side& a, Side& b) {
  wire::Bytes buffer;
  for (int round = 0; round < 1000; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      if (!from->protocol.has_output()) continue;
      from->protocol.take_output(buffer);
      if (to->protocol.state() == State::closed) continue;
      auto room = to->protocol.prepare_read(buffer.size());
      std::copy(buffer.begin(), buffer.end(), room.begin());
      to->protocol.commit_read(buffer.size());
      to->protocol.process();
      moved = true;
    }
    if (!moved) return;
  }
  FAIL() << "the two sides never went quiet";
}

// Feeds raw bytes to one side, as a misbehaving peer would send them.
void inject(Side& to, const wire::Bytes& bytes) {
  auto room = to.protocol.prepare_read(bytes.size());
  std::copy(bytes.begin(), bytes.end(), room.begin());
  to.protocol.commit_read(bytes.size());
  to.protocol.process();
}

class ProtocolTest : public ::testing::Test {
 protected:
  void open_both() {
    alice.protocol.start();
    bob.protocol.start();
    pump(alice, bob);
    ASSERT_EQ(alice.protocol.state(), State::open);
    ASSERT_EQ(bob.protocol.state(), State::open);
  }
  wire::Chat chat(std::uint64_t seq, std::string text = "hi") {
    wire::Chat message;
    message.id.fill(static_cast<std::uint8_t>(seq));
    message.seq = seq;
    message.timestamp_ms = clock.wall_ms();
    message.text = std::move(text);
    return message;
  }

  FakeClock clock;
  FakeRandom random;
  Side alice{"alice", clock, random};
  Side bob{"bob", clock, random};
};

TEST_F(ProtocolTest, HelloExchangeOpensBothSides) {
  open_both();
  ASSERT_EQ(alice.recorder.hellos.size(), 1u);
  EXPECT_EQ(alice.recorder.hellos[0].name, "bob");
  EXPECT_EQ(bob.recorder.hellos[0].name, "alice");
  EXPECT_EQ(alice.protocol.send_credit(), 8u);  // bob's window
}

TEST_F(ProtocolTest, ChatIsDeliveredAcknowledgedAndCreditReturns) {
  open_both();
  alice.protocol.send_chat(chat(1, "hello bob"));
  EXPECT_EQ(alice.protocol.send_credit(), 7u);
  pump(alice, bob);
  ASSERT_EQ(bob.recorder.chats.size(), 1u);
  EXPECT_EQ(bob.recorder.chats[0].text, "hello bob");
  EXPECT_EQ(alice.recorder.acks, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(alice.protocol.send_credit(), 8u);
}

TEST_F(ProtocolTest, SenderStopsAtTheWindowUntilCreditReturns) {
  open_both();
  bob.recorder.auto_ack = false;  // bob stores nothing yet
  std::uint64_t seq = 0;
  while (alice.protocol.can_send_chat() && seq < 100) alice.protocol.send_chat(chat(++seq));
  EXPECT_EQ(seq, 8u);
  pump(alice, bob);
  EXPECT_FALSE(alice.protocol.can_send_chat());
  bob.protocol.acknowledge(8, 8);
  bob.protocol.flush();
  pump(alice, bob);
  EXPECT_EQ(alice.recorder.acks.back(), 8u);
  EXPECT_EQ(alice.protocol.send_credit(), 8u);
}

TEST_F(ProtocolTest, ChatBeyondCreditIsAProtocolError) {
  open_both();
  bob.recorder.auto_ack = false;
  wire::Bytes flood;
  for (std::uint64_t seq = 1; seq <= 9; ++seq) wire::encode(flood, chat(seq));  // window is 8
  inject(bob, flood);
  EXPECT_EQ(bob.recorder.chats.size(), 8u);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, "protocol_error");
  EXPECT_NE(bob.recorder.closes[0].message.find("credit"), std::string::npos);
  pump(alice, bob);  // alice hears why
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, "protocol_error");
  EXPECT_TRUE(alice.recorder.closes[0].by_peer);
}

TEST_F(ProtocolTest, FrameBeforeHelloIsAProtocolError) {
  bob.protocol.start();
  wire::Bytes early;
  wire::encode(early, chat(1));
  inject(bob, early);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, "protocol_error");
  EXPECT_TRUE(bob.recorder.chats.empty());
}

TEST_F(ProtocolTest, ByeBeforeHelloIsHeard) {
  bob.protocol.start();
  wire::Bytes refusal;
  wire::encode(refusal, wire::Bye{wire::ByeReason::identity_mismatch, "not who I expected"});
  inject(bob, refusal);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, "identity_mismatch");
  EXPECT_EQ(bob.recorder.closes[0].message, "not who I expected");
}

TEST_F(ProtocolTest, VersionMismatchClosesBothWithAClearReason) {
  bob.protocol.start();
  wire::Bytes hello;
  wire::encode(hello, wire::Hello{2, 7001, 0, "future"});
  inject(bob, hello);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, "version_mismatch");
  EXPECT_NE(bob.recorder.closes[0].message.find("version 2"), std::string::npos);
  EXPECT_NE(bob.recorder.closes[0].message.find("we speak 1"), std::string::npos);
  // What bob sends back: its HELLO dropped in favour of the BYE.
  wire::Bytes out;
  bob.protocol.take_output(out);
  wire::FrameDecoder decoder;
  decoder.feed(out);
  auto frame = decoder.next();
  ASSERT_TRUE(frame.ok() && frame.value().has_value());
  EXPECT_EQ((*frame)->type, static_cast<std::uint8_t>(wire::FrameType::bye));
  EXPECT_EQ(wire::decode_bye((*frame)->payload)->reason, wire::ByeReason::version_mismatch);
}

TEST_F(ProtocolTest, SecondHelloAndUnknownRequiredTypesAreErrors) {
  open_both();
  wire::Bytes again;
  wire::encode(again, wire::Hello{1, 7001, 0, "alice"});
  inject(bob, again);
  EXPECT_EQ(bob.recorder.closes.at(0).code, "protocol_error");

  Side carol{"carol", clock, random};
  Side dave{"dave", clock, random};
  carol.protocol.start();
  dave.protocol.start();
  pump(carol, dave);
  wire::Bytes unknown;
  wire::append_frame(unknown, static_cast<wire::FrameType>(0x20), {});
  inject(dave, unknown);
  EXPECT_EQ(dave.recorder.closes.at(0).code, "protocol_error");
}

TEST_F(ProtocolTest, UnknownOptionalTypesAreSkipped) {
  open_both();
  wire::Bytes optional;
  const std::uint8_t payload[] = {1, 2, 3};
  wire::append_frame(optional, static_cast<wire::FrameType>(0x90), payload);
  inject(bob, optional);
  EXPECT_TRUE(bob.recorder.closes.empty());
  EXPECT_EQ(bob.protocol.state(), State::open);
  alice.protocol.send_chat(chat(1));
  pump(alice, bob);
  EXPECT_EQ(bob.recorder.chats.size(), 1u);
}

TEST_F(ProtocolTest, OversizeLengthPrefixIsAProtocolError) {
  open_both();
  inject(bob, wire::Bytes{0xFF, 0xFF, 0xFF, 0xFF});
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, "protocol_error");
}

TEST_F(ProtocolTest, ByeJumpsAheadOfQueuedChat) {
  open_both();
  bob.recorder.auto_ack = false;
  alice.protocol.send_chat(chat(1));
  alice.protocol.send_chat(chat(2));
  alice.protocol.close(wire::ByeReason::quit, "see you");
  wire::Bytes out;
  alice.protocol.take_output(out);
  wire::FrameDecoder decoder;
  decoder.feed(out);
  auto frame = decoder.next();
  ASSERT_TRUE(frame.ok() && frame.value().has_value());
  EXPECT_EQ((*frame)->type, static_cast<std::uint8_t>(wire::FrameType::bye));
  EXPECT_FALSE(decoder.next().value().has_value());  // nothing after the BYE
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, "local_quit");
  inject(bob, out);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, "quit");
  EXPECT_EQ(bob.recorder.closes[0].message, "see you");
}

TEST_F(ProtocolTest, KeepalivePingsWhenIdleAndDropsASilentPeer) {
  open_both();
  clock.advance(31s);
  alice.protocol.on_timer();
  ASSERT_TRUE(alice.protocol.has_output());  // a PING
  pump(alice, bob);                          // bob answers PONG
  EXPECT_EQ(alice.protocol.state(), State::open);

  // Bob goes silent: nothing reaches alice for 90 s.
  for (int i = 0; i < 4; ++i) {
    clock.advance(30s);
    alice.protocol.on_timer();
    wire::Bytes discard;
    alice.protocol.take_output(discard);
  }
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, "timeout");
}

TEST_F(ProtocolTest, NoHelloBeforeTheDeadlineTimesOut) {
  alice.protocol.start();
  clock.advance(11s);
  alice.protocol.on_timer();
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, "timeout");
}

TEST_F(ProtocolTest, TransportLossIsReportedOnce) {
  open_both();
  alice.protocol.on_transport_closed("reset");
  alice.protocol.on_transport_closed("reset again");
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, "connection_lost");
}

TEST(Credit, WindowsAccountForEveryMessage) {
  ReceiveWindow receive(3);
  EXPECT_EQ(receive.initial_grant(), 3u);
  EXPECT_TRUE(receive.on_message());
  EXPECT_TRUE(receive.on_message());
  EXPECT_TRUE(receive.on_message());
  EXPECT_FALSE(receive.on_message());     // beyond the window
  EXPECT_EQ(receive.take_regrant(), 0u);  // nothing stored yet
  receive.release(2);
  EXPECT_EQ(receive.take_regrant(), 2u);
  receive.release(5);  // more than received: clamped
  EXPECT_EQ(receive.take_regrant(), 1u);
  EXPECT_EQ(receive.outstanding(), 3u);

  SendWindow send;
  EXPECT_FALSE(send.can_send());
  send.grant(2);
  send.consume();
  EXPECT_TRUE(send.can_send());
  send.consume();
  EXPECT_FALSE(send.can_send());
}

}  // namespace
}  // namespace peerchat::session
