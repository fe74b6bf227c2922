// Chat between real peerchat processes: both ways, several peers, bursts, leaving.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

auto from(const Peer& peer) {
  return [id = peer.id()](const json& e) { return e.value("peer", "") == id; };
}

std::optional<json> connected_to(Peer& self, const Peer& other) {
  return self.wait_for([&](const json& e) { return e["event"] == "connected" && from(other)(e); });
}

std::optional<json> message_with_text(Peer& self, const std::string& text) {
  return self.wait_for(
      [&](const json& e) { return e["event"] == "message" && e.value("text", "") == text; });
}

// Texts of every message `peer` has shown so far, in order.
std::vector<std::string> message_texts(const Peer& peer) {
  std::vector<std::string> texts;
  for (const auto& e : peer.log()) {
    if (e["event"] == "message") texts.push_back(e.value("text", ""));
  }
  return texts;
}

TEST(IntegrationChat, TwoPeersChatBothWaysWithDeliveredEvents) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  auto seen = connected_to(alice, bob);
  ASSERT_TRUE(seen);
  EXPECT_EQ((*seen)["name"], "bob");
  EXPECT_EQ((*seen)["direction"], "in");
  auto dialed = connected_to(bob, alice);
  ASSERT_TRUE(dialed);
  EXPECT_EQ((*dialed)["direction"], "out");
  EXPECT_EQ((*dialed)["address"], alice.address());

  alice.command("/msg bob hi bob");
  auto queued = alice.wait_event("queued");
  ASSERT_TRUE(queued);
  auto message = bob.wait_event("message");
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["text"], "hi bob");
  EXPECT_EQ((*message)["peer"], alice.id());
  EXPECT_EQ((*message)["name"], "alice");
  EXPECT_EQ((*message)["id"], (*queued)["id"]);
  auto delivered = alice.wait_event("delivered");
  ASSERT_TRUE(delivered);
  EXPECT_EQ((*delivered)["id"], (*queued)["id"]);
  EXPECT_EQ((*delivered)["peer"], bob.id());

  bob.command("hello alice, plain line");  // one peer connected: goes to alice
  auto reply = alice.wait_event("message");
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["text"], "hello alice, plain line");
  EXPECT_EQ((*reply)["peer"], bob.id());
  ASSERT_TRUE(bob.wait_event("delivered"));
}

TEST(IntegrationChat, ThreePeersAtOnce) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  Peer carol("carol", root, {"--connect", alice.address()});
  ASSERT_TRUE(connected_to(alice, bob));
  ASSERT_TRUE(connected_to(alice, carol));
  ASSERT_TRUE(connected_to(bob, alice));
  ASSERT_TRUE(connected_to(carol, alice));

  alice.command("/peers");
  auto peers = alice.wait_event("peers");
  ASSERT_TRUE(peers);
  std::set<std::string> ids;
  for (const auto& entry : (*peers)["peers"]) {
    ids.insert(entry["peer"].get<std::string>());
    EXPECT_EQ(entry["fingerprint"].get<std::string>().size(), 9u);
  }
  EXPECT_EQ(ids, (std::set<std::string>{bob.id(), carol.id()}));

  alice.command("/msg bob for bob only");
  alice.command("/msg carol for carol only");
  bob.command("bob to alice");
  carol.command("carol to alice");
  auto to_bob = bob.wait_event("message");
  auto to_carol = carol.wait_event("message");
  ASSERT_TRUE(to_bob && to_carol);
  EXPECT_EQ((*to_bob)["text"], "for bob only");
  EXPECT_EQ((*to_carol)["text"], "for carol only");
  auto first = alice.wait_event("message");
  auto second = alice.wait_event("message");
  ASSERT_TRUE(first && second);
  std::set<std::string> texts = {(*first)["text"], (*second)["text"]};
  EXPECT_EQ(texts, (std::set<std::string>{"bob to alice", "carol to alice"}));
  // One sender's messages arrive in order, so once these last ones are in, anything misrouted
  // or shown twice before them is in too.
  alice.command("/msg bob last for bob");
  alice.command("/msg carol last for carol");
  ASSERT_TRUE(message_with_text(bob, "last for bob"));
  ASSERT_TRUE(message_with_text(carol, "last for carol"));
  EXPECT_EQ(message_texts(bob), (std::vector<std::string>{"for bob only", "last for bob"}));
  EXPECT_EQ(message_texts(carol), (std::vector<std::string>{"for carol only", "last for carol"}));
}

TEST(IntegrationChat, BurstOfAThousandArrivesCompleteInOrderOnce) {
  constexpr int kCount = 1000;
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(connected_to(alice, bob));
  for (int i = 0; i < kCount; ++i) alice.command("/msg bob burst " + std::to_string(i));

  std::set<std::string> queued_ids;
  for (int i = 0; i < kCount; ++i) {
    auto queued = alice.wait_event("queued", 20s);
    ASSERT_TRUE(queued) << "queued " << i;
    queued_ids.insert((*queued)["id"].get<std::string>());
  }
  std::uint64_t last_seq = 0;
  for (int i = 0; i < kCount; ++i) {
    auto message = bob.wait_event("message", 20s);
    ASSERT_TRUE(message) << "message " << i;
    EXPECT_EQ((*message)["text"], "burst " + std::to_string(i));
    const auto seq = (*message)["seq"].get<std::uint64_t>();
    EXPECT_GT(seq, last_seq);
    last_seq = seq;
  }
  std::set<std::string> delivered_ids;
  for (int i = 0; i < kCount; ++i) {
    auto delivered = alice.wait_event("delivered", 20s);
    ASSERT_TRUE(delivered) << "delivered " << i;
    delivered_ids.insert((*delivered)["id"].get<std::string>());
  }
  EXPECT_EQ(delivered_ids, queued_ids);
  // In order per sender: once a later message is in, any repeat of the burst is in too.
  alice.command("/msg bob after the burst");
  ASSERT_TRUE(message_with_text(bob, "after the burst"));
  EXPECT_EQ(bob.count("message"), static_cast<std::size_t>(kCount) + 1);  // nothing twice
}

TEST(IntegrationChat, QuitTellsTheOtherSideWhy) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(connected_to(alice, bob));
  bob.command("/quit");
  EXPECT_EQ(bob.process().wait_exit(5s), std::optional<int>(0));
  auto gone = alice.wait_event("disconnected");
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["peer"], bob.id());
  EXPECT_EQ((*gone)["reason"], "quit");
  EXPECT_FALSE((*gone)["message"].get<std::string>().empty());

  Peer carol("carol", root, {"--connect", alice.address()});
  ASSERT_TRUE(connected_to(alice, carol));
  carol.process().signal(SIGTERM);
  EXPECT_EQ(carol.process().wait_exit(5s), std::optional<int>(0));
  auto terminated = alice.wait_event("disconnected");
  ASSERT_TRUE(terminated);
  EXPECT_EQ((*terminated)["peer"], carol.id());
  EXPECT_EQ((*terminated)["reason"], "shutdown");
}

TEST(IntegrationChat, CrossedDialsEndWithExactlyOneSession) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root);
  alice.command("/connect " + bob.address());
  bob.command("/connect " + alice.address());
  ASSERT_TRUE(connected_to(alice, bob));
  ASSERT_TRUE(connected_to(bob, alice));
  // Duplicate resolution closes one of the two crossed TCP connections.
  const auto deadline = Clock::now() + 10s;
  while (accepted_connections(alice, bob) != 1 && Clock::now() < deadline) alice.drain(20ms);
  ASSERT_EQ(accepted_connections(alice, bob), 1u);
  // A side whose connection was closed as a duplicate waits up to 3 s (kDuplicateGrace in
  // node.cpp) for the kept one before it reports a disconnect. Nothing marks the end of that
  // wait, so look past it; then /peers on each is a barrier for every event before it.
  alice.drain(4s);
  for (Peer* peer : {&alice, &bob}) {
    peer->command("/peers");
    auto peers = peer->wait_event("peers");
    ASSERT_TRUE(peers);
    EXPECT_EQ((*peers)["peers"].size(), 1u) << peer->name();
    EXPECT_EQ(peer->count("connected"), 1u) << peer->name();
    EXPECT_EQ(peer->count("disconnected"), 0u) << peer->name();
  }
  EXPECT_EQ(accepted_connections(alice, bob), 1u);  // still the one kept
  alice.command("/msg bob after crossing");
  bob.command("/msg alice after crossing too");
  ASSERT_TRUE(bob.wait_event("message"));
  ASSERT_TRUE(alice.wait_event("message"));
  ASSERT_TRUE(alice.wait_event("delivered"));
  ASSERT_TRUE(bob.wait_event("delivered"));
  EXPECT_EQ(alice.count("disconnected"), 0u);
  EXPECT_EQ(bob.count("disconnected"), 0u);
}

TEST(IntegrationChat, ConnectingToItselfIsRefused) {
  TempDir root;
  Peer alice("alice", root);
  alice.command("/connect " + alice.address());
  auto error = alice.wait_event("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "self_connection");
  Peer bob("bob", root, {"--connect", alice.address()});  // still serving
  ASSERT_TRUE(connected_to(alice, bob));
}

TEST(IntegrationChat, UnknownPeerAndBadCommandsAreErrors) {
  TempDir root;
  Peer alice("alice", root);
  alice.command("/msg nobody hello");
  auto unknown = alice.wait_event("error");
  ASSERT_TRUE(unknown);
  EXPECT_EQ((*unknown)["code"], "unknown_peer");
  alice.command("/frobnicate");
  auto bad = alice.wait_event("error");
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)["code"], "unknown_command");
  alice.command("/connect not-an-address");
  auto address = alice.wait_event("error");
  ASSERT_TRUE(address);
  EXPECT_EQ((*address)["code"], "bad_address");
  alice.command("/connect 127.0.0.1:1");
  auto refused = alice.wait_event("error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "connection_refused");
}

// Whether this machine has IPv6 loopback at all (a container may have it disabled).
bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

TEST(IntegrationChat, IPv6LoopbackWorks) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 on this machine (cannot bind ::1)";
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", "[::1]:" + std::to_string(alice.port())});
  auto connected = bob.wait_event("connected");
  ASSERT_TRUE(connected) << "no connection over ::1; stderr: " << bob.process().stderr_text();
  EXPECT_EQ((*connected)["address"], "[::1]:" + std::to_string(alice.port()));
}

}  // namespace
}  // namespace peerchat::testing
