// Trust on first use and expected identities.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

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
  alice.drain(500ms);
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
  alice.drain(300ms);
  EXPECT_EQ(alice.count("connected"), 0u);

  alice.command("/connect " + bob.id() + "@" + bob.address());
  auto connected = alice.wait_event("connected");
  ASSERT_TRUE(connected);
  EXPECT_EQ((*connected)["peer"], bob.id());
}

}  // namespace
}  // namespace peerchat::testing
