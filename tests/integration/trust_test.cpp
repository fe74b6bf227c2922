// Trust on first use and expected identities.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

// What the dialed side logs when the dialer refuses it (the dialer's BYE, before any HELLO).
constexpr const char* kRefusedLog = "dropped incoming connection";

// Every event `peer` emitted before it answers this /peers has been read; returns the peers.
std::optional<json> peers_after_barrier(Peer& peer) {
  peer.command("/peers");
  auto peers = peer.wait_event("peers");
  if (!peers) return std::nullopt;
  return (*peers)["peers"];
}

TEST(IntegrationTrust, PinnedAddressPresentingANewKeyIsRefused) {
  TempDir root;
  Peer alice("alice", root);
  int bob_port = 0;
  {
    Peer bob("bob", root);
    bob_port = bob.port();
    alice.command("/connect " + bob.address());
    ASSERT_TRUE(alice.wait_event("connected"));
    bob.command("/quit");
    ASSERT_EQ(bob.process().wait_exit(5s), std::optional<int>(0));
    ASSERT_TRUE(alice.wait_event("disconnected"));
  }
  // Someone else (a new identity) now answers on bob's address.
  Peer impostor("mallory", root, {"--port", std::to_string(bob_port)});
  alice.command("/connect 127.0.0.1:" + std::to_string(bob_port));
  auto error = alice.wait_event("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "identity_mismatch");
  EXPECT_NE((*error)["message"].get<std::string>().find("WARNING"), std::string::npos);
  // The refusal reached the impostor: its side of the session ended before it opened. After
  // that, nobody can announce this session any more, so a /peers barrier on each settles it.
  ASSERT_TRUE(impostor.process().wait_stderr(kRefusedLog, 10s)) << impostor.process().stderr_text();
  for (Peer* peer : {&alice, &impostor}) {
    auto peers = peers_after_barrier(*peer);
    ASSERT_TRUE(peers) << peer->name();
    EXPECT_TRUE(peers->empty()) << peer->name();
  }
  EXPECT_EQ(alice.count("connected"), 1u);  // only the original bob, never the impostor
  EXPECT_EQ(impostor.count("connected"), 0u);

  // Alice keeps serving others.
  Peer carol("carol", root, {"--connect", alice.address()});
  ASSERT_TRUE(carol.wait_event("connected"));
  carol.command("still here?");
  ASSERT_TRUE(alice.wait_for([](const json& e) { return e["event"] == "message"; }));

  // Explicitly vouching for the new ID connects and re-pins.
  alice.command("/connect " + impostor.id() + "@127.0.0.1:" + std::to_string(bob_port));
  ASSERT_TRUE(alice.wait_for(
      [&](const json& e) { return e["event"] == "connected" && e["peer"] == impostor.id(); }));
  ASSERT_TRUE(impostor.wait_for(
      [&](const json& e) { return e["event"] == "connected" && e["peer"] == alice.id(); }));
  EXPECT_EQ(impostor.count("connected"), 1u);  // this one, and none before it
}

TEST(IntegrationTrust, ConnectWithAnExpectedIdRefusesAnyoneElse) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root);
  Peer carol("carol", root);
  alice.command("/connect " + carol.id() + "@" + bob.address());
  auto error = alice.wait_event("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "identity_mismatch");
  ASSERT_TRUE(bob.process().wait_stderr(kRefusedLog, 10s)) << bob.process().stderr_text();
  for (Peer* peer : {&alice, &bob}) {
    auto peers = peers_after_barrier(*peer);
    ASSERT_TRUE(peers) << peer->name();
    EXPECT_TRUE(peers->empty()) << peer->name();
    EXPECT_EQ(peer->count("connected"), 0u) << peer->name();
  }

  alice.command("/connect " + bob.id() + "@" + bob.address());
  auto connected = alice.wait_event("connected");
  ASSERT_TRUE(connected);
  EXPECT_EQ((*connected)["peer"], bob.id());
  ASSERT_TRUE(bob.wait_event("connected"));
  EXPECT_EQ(bob.count("connected"), 1u);
}

}  // namespace
}  // namespace peerchat::testing
