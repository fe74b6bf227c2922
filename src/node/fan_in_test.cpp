// Fan-in: several authenticated peers writing to one node at once. Scripted peers control
// where their TLS records are cut, so a node's reader can be made to stop in the middle of a
// batch (a record only half arrived) while another connection ends and commits its own batch:
// the interleaving that once filed one sender's messages under another and lost the rest.
#include <gtest/gtest.h>
#include "node/node_test_support.hpp"

namespace peerchat::node {
namespace {

using namespace std::chrono_literals;

class FanInTest : public testing::ScriptedPeersTest {};

TEST_F(FanInTest, ABatchCutMidRecordIsNeverCommittedUnderAnotherConnection) {
  auto alice = join("alice");
  auto bob = join("bob");

  // Alice's first record arrives whole, her second only in part: the node's reader takes the
  // first, sees more input waiting and keeps its batch open, then waits for the rest.
  const std::string first = alice->seal_chats({"alice 1", "alice 2"});
  const std::string second = alice->seal_chats({"alice 3"});
  alice->write_raw(first + second.substr(0, 10));
  ASSERT_TRUE(node_has_read(*alice));

  // Bob's whole batch arrives and is committed while Alice's is still open.
  bob->write_raw(bob->seal_chats({"bob 1"}));
  ASSERT_TRUE(run_until([&] { return sink_.count_messages() >= 1 && bob->acknowledged() >= 1; }));
  alice->write_raw(second.substr(10));
  ASSERT_TRUE(run_until([&] { return alice->acknowledged() >= 3; }));

  EXPECT_EQ(texts_from(bob->id()), std::vector<std::string>{"bob 1"});
  EXPECT_EQ(texts_from(alice->id()), (std::vector<std::string>{"alice 1", "alice 2", "alice 3"}));
  EXPECT_EQ(stored_from(bob->id()), std::vector<std::string>{"bob 1"});
  EXPECT_EQ(stored_from(alice->id()), (std::vector<std::string>{"alice 1", "alice 2", "alice 3"}));
  // Each is acknowledged exactly what it sent: an ACK beyond that would make a sender drop
  // messages the node never stored.
  EXPECT_EQ(bob->acknowledged(), 1u);
  EXPECT_EQ(alice->acknowledged(), 3u);
}

TEST_F(FanInTest, AReadErrorMidBatchLeavesNothingForAnotherConnection) {
  auto alice = join("alice");
  auto bob = join("bob");

  const std::string first = alice->seal_chats({"alice 1", "alice 2"});
  const std::string second = alice->seal_chats({"alice 3"});
  alice->write_raw(first + second.substr(0, 10));
  ASSERT_TRUE(node_has_read(*alice));
  const auto alice_id = alice->id();
  alice->reset();  // the read fails with Alice's batch half collected
  ASSERT_TRUE(run_until([&] { return sink_.disconnected(alice_id); }));

  bob->write_raw(bob->seal_chats({"bob 1"}));
  ASSERT_TRUE(run_until([&] { return bob->acknowledged() >= 1; }));

  EXPECT_EQ(texts_from(bob->id()), std::vector<std::string>{"bob 1"});
  EXPECT_EQ(stored_from(bob->id()), std::vector<std::string>{"bob 1"});
  EXPECT_EQ(bob->acknowledged(), 1u);
  // What Alice sent whole before the cut is hers: stored under her, or not at all (she was
  // never acknowledged, so she resends it).
  for (const auto& text : stored_from(bob->id()))
    EXPECT_EQ(text.rfind("alice", 0), std::string::npos);
  EXPECT_EQ(stored_from(alice_id), (std::vector<std::string>{"alice 1", "alice 2"}));
}

}  // namespace
}  // namespace peerchat::node
