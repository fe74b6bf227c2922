// Authenticated peers that break the protocol are dropped with a reason; honest peers connected
// to the same victim keep chatting.
#include <gtest/gtest.h>

#include <functional>

#include "harness.hpp"
#include "tls_client.hpp"
#include "wire/frame.hpp"

namespace peerchat::testing {
namespace {

struct Case {
  const char* name;
  std::function<wire::Bytes()> bytes;
  wire::ByeReason expected;
};

wire::Bytes chat_with_text(const std::string& text) {
  wire::Bytes out;
  wire::Chat chat;
  chat.seq = 1;
  wire::append_header(out, wire::FrameType::chat, 32 + text.size());
  wire::put_bytes(out, chat.id);
  wire::put_u64(out, 1);
  wire::put_u64(out, 0);
  wire::put_text(out, text);
  return out;
}

TEST(IntegrationMisbehavingPeer, BadFramesDropOnlyTheSender) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(bob.wait_event("connected"));

  const std::vector<Case> cases = {
      {"oversize length",
       [] {
         return wire::Bytes{0x00, 0x10, 0x00, 0x01, 0x03};
       },  // 1 MiB + 1
       wire::ByeReason::protocol_error},
      {"0xFFFFFFFF length",
       [] {
         return wire::Bytes{0xFF, 0xFF, 0xFF, 0xFF};
       },
       wire::ByeReason::protocol_error},
      {"invalid UTF-8", [] { return chat_with_text("bad \xC0\x80 text"); },
       wire::ByeReason::protocol_error},
      {"unknown required type",
       [] {
         wire::Bytes out;
         wire::append_frame(out, static_cast<wire::FrameType>(0x33), {});
         return out;
       },
       wire::ByeReason::protocol_error},
      {"truncated ack",
       [] {
         wire::Bytes out;
         wire::append_header(out, wire::FrameType::ack, 3);
         out.insert(out.end(), {1, 2, 3});
         return out;
       },
       wire::ByeReason::protocol_error},
  };
  int round = 0;
  for (const auto& test_case : cases) {
    TlsClient attacker(alice.port(), root / ("attacker" + std::to_string(round++)));
    ASSERT_TRUE(attacker.handshake_ok()) << attacker.handshake_error();
    ASSERT_TRUE(attacker.send_hello("mallory"));
    ASSERT_TRUE(attacker.send(test_case.bytes())) << test_case.name;
    auto bye = attacker.wait_for_bye(5s);
    ASSERT_TRUE(bye) << test_case.name;
    EXPECT_EQ(bye->reason, test_case.expected) << test_case.name;
    EXPECT_FALSE(bye->message.empty()) << test_case.name;
    EXPECT_TRUE(attacker.closed_by_peer(5s)) << test_case.name;

    bob.command("still fine after " + std::string(test_case.name));
    auto message = alice.wait_for(
        [&](const json& e) { return e["event"] == "message" && e["peer"] == bob.id(); });
    ASSERT_TRUE(message) << test_case.name;
    EXPECT_EQ((*message)["text"], "still fine after " + std::string(test_case.name));
  }
  EXPECT_FALSE(alice.process().wait_exit(10ms).has_value());
  expect_bounded_memory(alice, "malformed frames");
}

TEST(IntegrationMisbehavingPeer, FramesBeforeHelloAndBeyondCreditAreRefused) {
  TempDir root;
  // A small window, so that one write of the attacker (one TLS record, one read batch on the
  // victim) is beyond it before any credit could come back.
  Peer alice("alice", root, {"--receive-window", "8"});
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  {
    TlsClient early(alice.port(), root / "early");
    ASSERT_TRUE(early.handshake_ok()) << early.handshake_error();
    ASSERT_TRUE(early.send(chat_with_text("before hello")));
    auto bye = early.wait_for_bye(5s);
    ASSERT_TRUE(bye);
    EXPECT_EQ(bye->reason, wire::ByeReason::protocol_error);
  }
  {
    TlsClient greedy(alice.port(), root / "greedy");
    ASSERT_TRUE(greedy.handshake_ok());
    ASSERT_TRUE(greedy.send_hello("greedy"));
    wire::Bytes flood;
    for (std::uint64_t seq = 1; seq <= 20; ++seq) {
      wire::Chat chat;
      chat.seq = seq;
      chat.text = "x";
      wire::encode(flood, chat);
    }
    greedy.send(flood);
    auto bye = greedy.wait_for_bye(5s);
    ASSERT_TRUE(bye);
    EXPECT_EQ(bye->reason, wire::ByeReason::protocol_error);
    EXPECT_NE(bye->message.find("credit"), std::string::npos);
  }
  EXPECT_TRUE(relays(bob, alice, "honest after early and greedy peers"));
  for (const auto& event : alice.log()) {
    EXPECT_NE(event.value("text", ""), "before hello") << "nothing before HELLO is processed";
  }
  expect_bounded_memory(alice, "early and greedy peers");
}

TEST(IntegrationMisbehavingPeer, EscapeSequencesArriveAsDataNeverAsCommands) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  TlsClient sneaky(alice.port(), root / "sneaky");
  ASSERT_TRUE(sneaky.handshake_ok());
  const std::string name = "ev\x1b[2Jil";
  const std::string text = "title\x1b]0;pwned\x07 bell\x07";
  ASSERT_TRUE(sneaky.send_hello(name));
  wire::Bytes chat;
  wire::encode(chat, wire::Chat{{}, 1, 0, text});
  ASSERT_TRUE(sneaky.send(chat));
  // JSON carries them escaped (stdout stays one object per line); nothing is dropped.
  auto message = alice.wait_for(
      [&](const json& e) { return e["event"] == "message" && e.value("name", "") == name; });
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["text"], text);
  EXPECT_TRUE(relays(bob, alice, "honest after escape sequences"));
  expect_bounded_memory(alice, "escape sequences");
}

TEST(IntegrationMisbehavingPeer, VersionMismatchIsClearBothWays) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  TlsClient future(alice.port(), root / "future");
  ASSERT_TRUE(future.handshake_ok());
  ASSERT_TRUE(future.send_hello("future", 2));
  auto bye = future.wait_for_bye(5s);
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->reason, wire::ByeReason::version_mismatch);
  EXPECT_NE(bye->message.find("version 2"), std::string::npos);

  TlsClient alpn(alice.port(), root / "alpn", "peerchat/2");
  EXPECT_FALSE(alpn.handshake_ok());
  EXPECT_NE(alpn.handshake_error().find("no application protocol"), std::string::npos)
      << alpn.handshake_error();
  EXPECT_TRUE(relays(bob, alice, "honest after version mismatches"));
  expect_bounded_memory(alice, "version mismatches");
}

}  // namespace
}  // namespace peerchat::testing
