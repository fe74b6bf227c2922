// Two and three real nodes in one process, over loopback TLS, driven through the node's
// command interface and observed through its events.
#include "node/node.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/node_test_support.hpp"
#include "store/store.hpp"
#include "tcp_table.hpp"
#include "tls/identity.hpp"

namespace peerchat::node {
namespace {

using testing::RecordingSink;

// ESTABLISHED TCP connections accepted on any of `ports`, each counted once, at its accepting
// end: the sessions the nodes listening there hold.
// Connections between the nodes of this process, accepted on one of `ports`.
std::size_t accepted_connections(const std::vector<std::uint16_t>& ports) {
  return peerchat::testing::connections_between({::getpid()}, ports);
}

struct TestPeer {
  TestPeer(asio::io_context& io, const std::string& name, const std::filesystem::path& root)
      : dir(root / name) {
    std::filesystem::create_directories(dir);
    auto loaded = tls::Identity::load_or_create(dir);
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
    identity.emplace(std::move(loaded.value()));
    auto opened = store::Store::open(dir / "peerchat.db");
    EXPECT_TRUE(opened.ok());
    store = std::move(opened.value());
    NodeConfig config;
    config.name = name;
    config.port = 0;
    node = std::make_unique<Node>(io, config, *identity, *store, clock, random, sink);
    auto port = node->listen();
    EXPECT_TRUE(port.ok());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(node->port()); }

  std::filesystem::path dir;
  SystemClock clock;
  SystemRandom random;
  RecordingSink sink;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Node> node;
};

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-node-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    peers_.clear();
    std::filesystem::remove_all(root_);
  }
  TestPeer& add(const std::string& name) {
    peers_.push_back(std::make_unique<TestPeer>(io_, name, root_));
    return *peers_.back();
  }
  // Runs the loop until `done` holds or 10 s pass; true if it was seen to hold (not asked
  // again: a condition on the kernel's TCP table may hold and then, as sockets settle, not).
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      io_.run_for(std::chrono::milliseconds(10));
      if (io_.stopped()) io_.restart();
    }
    return done();
  }

  void settle(std::chrono::milliseconds how_long) {
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) {
      io_.run_for(std::chrono::milliseconds(10));
      if (io_.stopped()) io_.restart();
    }
  }

  asio::io_context io_;
  std::filesystem::path root_;
  std::vector<std::unique_ptr<TestPeer>> peers_;
};

TEST_F(NodeTest, TwoPeersChatWithDeliveryAndOrder) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  bob.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] {
    return alice.sink.all<event::Connected>().size() == 1 &&
           bob.sink.all<event::Connected>().size() == 1;
  }));
  EXPECT_EQ(alice.sink.all<event::Connected>()[0].peer.id, bob.node->id());
  EXPECT_EQ(bob.sink.all<event::Connected>()[0].peer.name, "alice");

  constexpr int kCount = 300;  // more than fits in one window's worth of frames per batch
  for (int i = 0; i < kCount; ++i) bob.node->send_message("alice", "msg " + std::to_string(i));
  ASSERT_TRUE(run_until([&] { return bob.sink.all<event::Delivered>().size() == kCount; }));
  const auto received = alice.sink.all<event::Message>();
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(received[static_cast<std::size_t>(i)].text, "msg " + std::to_string(i));
    EXPECT_EQ(received[static_cast<std::size_t>(i)].peer, bob.node->id());
    if (i > 0) {
      EXPECT_EQ(received[static_cast<std::size_t>(i)].seq,
                received[static_cast<std::size_t>(i) - 1].seq + 1);
    }
  }
}

TEST_F(NodeTest, CrossedDialsEndWithOneSessionEachWay) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  alice.node->connect(bob.address());
  bob.node->connect(alice.address());
  const std::vector<std::uint16_t> ports = {alice.node->port(), bob.node->port()};
  // Duplicate resolution leaves exactly one of the two crossed TCP connections.
  ASSERT_TRUE(run_until([&] {
    return alice.node->connected_peers().size() == 1 && bob.node->connected_peers().size() == 1 &&
           accepted_connections(ports) == 1;
  }));
  // A node whose connection was closed as a duplicate waits kDuplicateGrace (3 s, node.cpp)
  // for the kept one before it reports a disconnect. Nothing marks the end of that wait, so
  // run past it.
  settle(std::chrono::milliseconds(3500));
  EXPECT_EQ(alice.node->connected_peers().size(), 1u);
  EXPECT_EQ(bob.node->connected_peers().size(), 1u);
  EXPECT_EQ(accepted_connections(ports), 1u);
  EXPECT_EQ(alice.sink.all<event::Connected>().size(), 1u);
  EXPECT_EQ(bob.sink.all<event::Connected>().size(), 1u);
  EXPECT_TRUE(alice.sink.all<event::Disconnected>().empty());
  EXPECT_TRUE(bob.sink.all<event::Disconnected>().empty());
  alice.node->send_message("bob", "after the crossing");
  ASSERT_TRUE(run_until([&] { return bob.sink.all<event::Message>().size() == 1; }));
  ASSERT_TRUE(run_until([&] { return alice.sink.all<event::Delivered>().size() == 1; }));
  EXPECT_TRUE(alice.sink.all<event::Disconnected>().empty());
  EXPECT_TRUE(bob.sink.all<event::Disconnected>().empty());
}

TEST_F(NodeTest, FullQueueIsAConsistentErrorNotMemory) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  bob.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] { return alice.node->connected_peers().size() == 1; }));
  bob.node->shutdown(wire::ByeReason::quit, "gone", [] {});  // alice keeps queueing for him
  ASSERT_TRUE(run_until([&] { return alice.node->connected_peers().empty(); }));
  // max_queue_per_peer is 10,000: one more is refused, every time, with the same error.
  int refused = 0;
  for (int i = 0; i < 10'003; ++i) {
    if (!alice.node->send_message("bob", "queued " + std::to_string(i))) ++refused;
  }
  EXPECT_EQ(refused, 3);
  int queue_full = 0;
  for (const auto& problem : alice.sink.all<event::Problem>()) {
    if (problem.code == Code::queue_full) ++queue_full;
  }
  EXPECT_EQ(queue_full, 3);
}

TEST_F(NodeTest, SelfConnectionIsRefused) {
  auto& alice = add("alice");
  alice.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] {
    for (const auto& problem : alice.sink.all<event::Problem>()) {
      if (problem.code == Code::self_connection) return true;
    }
    return false;
  }));
  EXPECT_TRUE(alice.node->connected_peers().empty());
}

}  // namespace
}  // namespace peerchat::node
