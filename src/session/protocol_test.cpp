// Two protocol state machines back to back in memory, with a fake clock.
#include "session/protocol.hpp"

#include <gtest/gtest.h>

#include "session/credit.hpp"
#include "session/protocol_test_support.hpp"

namespace peerchat::session {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class ProtocolTest : public ::testing::Test {
 protected:
  void open_both() { open_pair(alice, bob); }
  wire::Chat chat(std::uint64_t seq, std::string text = "hi") {
    return make_chat(seq, std::move(text), clock.wall_ms());
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
  EXPECT_EQ(bob.recorder.closes[0].code, Code::protocol_error);
  EXPECT_NE(bob.recorder.closes[0].message.find("credit"), std::string::npos);
  pump(alice, bob);  // alice hears why
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, Code::protocol_error);
  EXPECT_TRUE(alice.recorder.closes[0].by_peer);
}

TEST_F(ProtocolTest, FrameBeforeHelloIsAProtocolError) {
  bob.protocol.start();
  wire::Bytes early;
  wire::encode(early, chat(1));
  inject(bob, early);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, Code::protocol_error);
  EXPECT_TRUE(bob.recorder.chats.empty());
}

TEST_F(ProtocolTest, ByeBeforeHelloIsHeard) {
  bob.protocol.start();
  wire::Bytes refusal;
  wire::encode(refusal, wire::Bye{wire::ByeReason::identity_mismatch, "not who I expected"});
  inject(bob, refusal);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, Code::identity_mismatch);
  EXPECT_EQ(bob.recorder.closes[0].message, "not who I expected");
}

TEST_F(ProtocolTest, VersionMismatchClosesBothWithAClearReason) {
  bob.protocol.start();
  wire::Bytes hello;
  wire::encode(hello, wire::Hello{2, 7001, 0, "future"});
  inject(bob, hello);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, Code::version_mismatch);
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
  EXPECT_EQ(bob.recorder.closes.at(0).code, Code::protocol_error);

  Side carol{"carol", clock, random};
  Side dave{"dave", clock, random};
  carol.protocol.start();
  dave.protocol.start();
  pump(carol, dave);
  wire::Bytes unknown;
  wire::append_frame(unknown, static_cast<wire::FrameType>(0x20), {});
  inject(dave, unknown);
  EXPECT_EQ(dave.recorder.closes.at(0).code, Code::protocol_error);
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
  EXPECT_EQ(bob.recorder.closes[0].code, Code::protocol_error);
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
  EXPECT_EQ(alice.recorder.closes[0].code, Code::local_quit);
  inject(bob, out);
  ASSERT_EQ(bob.recorder.closes.size(), 1u);
  EXPECT_EQ(bob.recorder.closes[0].code, Code::quit);
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
  EXPECT_EQ(alice.recorder.closes[0].code, Code::timeout);
}

TEST_F(ProtocolTest, NoHelloBeforeTheDeadlineTimesOut) {
  alice.protocol.start();
  clock.advance(11s);
  alice.protocol.on_timer();
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, Code::timeout);
}

TEST_F(ProtocolTest, TransportLossIsReportedOnce) {
  open_both();
  alice.protocol.on_transport_closed("reset");
  alice.protocol.on_transport_closed("reset again");
  ASSERT_EQ(alice.recorder.closes.size(), 1u);
  EXPECT_EQ(alice.recorder.closes[0].code, Code::connection_lost);
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
