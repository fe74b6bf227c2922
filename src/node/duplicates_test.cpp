// Duplicate sessions with one peer (crossed dials, quick reconnects): closing the ones a node
// replaces must never take the one it keeps with them, and traffic goes on over the survivor.
#include <gtest/gtest.h>

#include "node/node_test_support.hpp"

namespace peerchat::node {
namespace {

class DuplicatesTest : public testing::ScriptedPeersTest {
 protected:
  // An identity that sorts below the node's, so that the node keeps up to two sessions with it
  // and closes the oldest when a third opens (the side with the smaller ID replaces them all).
  std::shared_ptr<const tls::Identity> identity_below_node() {
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto identity =
          std::make_shared<const tls::Identity>(std::move(tls::Identity::generate().value()));
      if (identity->id() < node_->id()) return identity;
    }
    ADD_FAILURE() << "no identity below the node's in 200 tries";
    return nullptr;
  }
};

TEST_F(DuplicatesTest, AThirdSessionClosesOnlyTheOldestAndTheSurvivorCarriesTraffic) {
  auto identity = identity_below_node();
  ASSERT_TRUE(identity);
  auto first = join("carol", identity);
  auto second = join("carol", identity);
  auto third = join("carol", identity);
  ASSERT_TRUE(run_until([&] { return first->got_bye(); }));  // the oldest goes as a duplicate

  // The newest vanishes: the second is still open, so carol is still connected and a message
  // to her goes out on it rather than waiting for a redial.
  const auto carol = first->id();
  third->reset();
  ASSERT_TRUE(node_->send_message(carol.to_string(), "still here?").has_value());
  ASSERT_TRUE(run_until([&] { return !second->chats().empty(); }));
  EXPECT_EQ(second->chats(), std::vector<std::string>{"still here?"});
  EXPECT_FALSE(second->got_bye());
  EXPECT_FALSE(sink_.disconnected(carol));
  EXPECT_EQ(node_->connected_peers(), std::vector<tls::PeerId>{carol});
}

TEST_F(DuplicatesTest, ReplacingSessionsWithMessagesInFlightLosesNothing) {
  auto identity = identity_below_node();
  ASSERT_TRUE(identity);
  const auto carol = identity->id();
  std::vector<std::unique_ptr<testing::ScriptedPeer>> sessions;
  sessions.push_back(join("carol", identity));
  // Messages queued before and while sessions come and go, none acknowledged: each must reach
  // carol on the session that is current, in order, with nothing skipped.
  constexpr int kMessages = 30;
  int queued = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kMessages / 3; ++i) {
      ASSERT_TRUE(node_->send_message(carol.to_string(), "m" + std::to_string(queued++)));
    }
    sessions.push_back(join("carol", identity));
  }
  auto& last = *sessions.back();
  ASSERT_TRUE(run_until([&] { return last.chats().size() >= static_cast<std::size_t>(queued); }));
  std::vector<std::string> expected;
  for (int i = 0; i < queued; ++i) expected.push_back("m" + std::to_string(i));
  // Resends start from the oldest unacknowledged message, so the newest session sees all.
  EXPECT_EQ(last.chats(), expected);
}

}  // namespace
}  // namespace peerchat::node
