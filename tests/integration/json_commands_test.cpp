// JSON commands on --json stdin: each request ID gets exactly one `result`, with the same codes
// as the error events; slash lines keep working beside them.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

std::optional<json> result_for(Peer& peer, const std::string& id) {
  return peer.wait_for([&](const json& e) { return e["event"] == "result" && e["id"] == id; });
}

std::size_t results_for(const Peer& peer, const std::string& id) {
  std::size_t count = 0;
  for (const auto& event : peer.log()) {
    if (event["event"] == "result" && event.value("id", "") == id) ++count;
  }
  return count;
}

TEST(IntegrationJsonCommands, EveryRequestGetsExactlyOneResultUnderItsId) {
  TempDir root;
  Peer bob("bob", root);
  Peer alice("alice", root, {"--connect", bob.address()});
  ASSERT_TRUE(both_connected(alice, bob));

  alice.command(R"({"id":"7","cmd":"send","peer":"bob","text":"hi bob"})");
  auto sent = result_for(alice, "7");
  ASSERT_TRUE(sent);
  EXPECT_EQ((*sent)["ok"], true);
  EXPECT_EQ((*sent)["cmd"], "send");
  EXPECT_EQ((*sent)["peer"], bob.id());
  auto message = bob.wait_event("message");
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["text"], "hi bob");
  EXPECT_EQ((*message)["id"], (*sent)["message_id"]);

  alice.command(R"({"id":8,"cmd":"send","peer":"nobody","text":"x"})");
  auto unknown = result_for(alice, "8");
  ASSERT_TRUE(unknown);
  EXPECT_EQ((*unknown)["ok"], false);
  EXPECT_EQ((*unknown)["code"], "unknown_peer");
  EXPECT_FALSE((*unknown)["message"].get<std::string>().empty());

  alice.command(R"({"id":"9","cmd":"peers"})");
  auto peers = result_for(alice, "9");
  ASSERT_TRUE(peers);
  ASSERT_EQ((*peers)["peers"].size(), 1u);
  EXPECT_EQ((*peers)["peers"][0]["peer"], bob.id());

  ASSERT_TRUE(alice.wait_event("delivered"));
  alice.command(R"({"id":"10","cmd":"history","peer":"bob","count":5})");
  auto history = result_for(alice, "10");
  ASSERT_TRUE(history);
  ASSERT_EQ((*history)["messages"].size(), 1u);
  EXPECT_EQ((*history)["messages"][0]["text"], "hi bob");
  EXPECT_EQ((*history)["messages"][0]["state"], "delivered");

  alice.command(R"({"id":"11","cmd":"teleport"})");
  auto bad = result_for(alice, "11");
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)["code"], "unknown_command");
  alice.command(R"({"id":"12","cmd":"send","peer":"bob"})");
  auto usage = result_for(alice, "12");
  ASSERT_TRUE(usage);
  EXPECT_EQ((*usage)["code"], "usage");

  // No ID to answer under: an error event instead; a slash line still works after it all.
  alice.command(R"({"cmd":"peers"})");
  auto no_id = alice.wait_for([](const json& e) { return e["event"] == "error"; });
  ASSERT_TRUE(no_id);
  EXPECT_EQ((*no_id)["code"], "usage");
  alice.command("/msg bob plain slash line");
  auto plain = bob.wait_for(
      [](const json& e) { return e["event"] == "message" && e["text"] == "plain slash line"; });
  EXPECT_TRUE(plain);

  // Exactly one result per request, seen after everything above.
  alice.command(R"({"id":"13","cmd":"peers"})");
  ASSERT_TRUE(result_for(alice, "13"));
  for (const char* id : {"7", "8", "9", "10", "11", "12", "13"}) {
    EXPECT_EQ(results_for(alice, id), 1u) << id;
  }
}

TEST(IntegrationJsonCommands, ConnectIsAnsweredWhenOpenAndQuerySetsThePlainLinePeer) {
  TempDir root;
  Peer bob("bob", root);
  Peer carol("carol", root);
  Peer alice("alice", root, {"--connect", carol.address()});
  ASSERT_TRUE(both_connected(alice, carol));
  alice.command(R"({"id":"c1","cmd":"connect","target":")" + bob.address() + R"("})");
  auto opened = result_for(alice, "c1");
  ASSERT_TRUE(opened);
  EXPECT_EQ((*opened)["ok"], true);
  EXPECT_EQ((*opened)["status"], "connected");
  EXPECT_EQ((*opened)["peer"]["peer"], bob.id());
  EXPECT_EQ((*opened)["peer"]["name"], "bob");

  // Nobody listens on port 1: the reason is in the result, not also in an error event.
  alice.command(R"({"id":"c2","cmd":"connect","target":"127.0.0.1:1"})");
  auto refused = result_for(alice, "c2");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["ok"], false);
  EXPECT_EQ((*refused)["code"], "connection_refused");

  alice.command(R"({"id":"q1","cmd":"query","peer":"bob"})");
  auto query = result_for(alice, "q1");
  ASSERT_TRUE(query);
  EXPECT_EQ((*query)["ok"], true);
  EXPECT_EQ((*query)["peer"], bob.id());
  // Two peers are connected: without the query a plain line would be a usage error.
  alice.command("a plain line, to the query peer");
  ASSERT_TRUE(bob.wait_for([](const json& e) {
    return e["event"] == "message" && e["text"] == "a plain line, to the query peer";
  }));
  alice.command(R"({"id":"q2","cmd":"query","peer":"nobody"})");
  auto unknown = result_for(alice, "q2");
  ASSERT_TRUE(unknown);
  EXPECT_EQ((*unknown)["code"], "unknown_peer");
  // A barrier: every event before it is in the log.
  alice.command(R"({"id":"b","cmd":"peers"})");
  ASSERT_TRUE(result_for(alice, "b"));
  for (const auto& event : alice.log()) {
    EXPECT_NE(event["event"], "error") << event.dump();
  }
}

TEST(IntegrationJsonCommands, JsonSendsWaitForAFullQueueLikeSlashLines) {
  TempDir root;
  Peer bob("bob", root);
  Peer alice("alice", root, {"--connect", bob.address(), "--send-queue", "8"});
  ASSERT_TRUE(both_connected(alice, bob));
  constexpr int kCount = 300;
  std::string burst;
  for (int i = 0; i < kCount; ++i) {
    if (!burst.empty()) burst += '\n';
    burst += R"({"id":")" + std::to_string(i) + R"(","cmd":"send","peer":"bob","text":"j)" +
             std::to_string(i) + "\"}";
  }
  alice.command(burst);
  ASSERT_TRUE(result_for(alice, std::to_string(kCount - 1)));
  const auto deadline = Clock::now() + 60s;
  while (bob.count("message") < kCount && Clock::now() < deadline) bob.drain(50ms);
  EXPECT_EQ(bob.count("message"), static_cast<std::size_t>(kCount));
  // One successful result per request, in request order (none refused as queue_full).
  int next = 0;
  for (const auto& event : alice.log()) {
    if (event["event"] != "result") continue;
    EXPECT_EQ(event["id"], std::to_string(next)) << event.dump();
    EXPECT_EQ(event["ok"], true) << event.dump();
    ++next;
  }
  EXPECT_EQ(next, kCount);
}

}  // namespace
}  // namespace peerchat::testing
