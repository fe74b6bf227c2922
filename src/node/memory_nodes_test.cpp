// Several nodes in one process over net::MemoryNetwork, with a FakeClock driving every timer
// (dial deadlines, redial backoff, keepalive, duplicate grace, close grace) and the store
// worker inline: crossed dials, redial backoff, duplicate resolution, dead-peer detection and
// fan-in run deterministically, minutes of protocol time in milliseconds of real time. Stores
// live on tmpfs, where a commit's fsync costs nothing.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "net/memory_transport.hpp"
#include "net/timer.hpp"
#include "node/node.hpp"
#include "node/node_test_support.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"

namespace peerchat::node {
namespace {

using namespace std::chrono_literals;
using testing::RecordingSink;

constexpr std::uint16_t kPort = 7000;

// Counts a transport's dials, with the fake time of each.
class CountingTransport final : public net::Transport {
 public:
  CountingTransport(std::unique_ptr<net::Transport> inner, const Clock& clock)
      : inner_(std::move(inner)), clock_(clock) {}
  Outcome<std::uint16_t> listen(std::uint16_t port) override { return inner_->listen(port); }
  asio::awaitable<Outcome<net::Accepted>> accept() override { return inner_->accept(); }
  void stop_listening() override { inner_->stop_listening(); }
  asio::awaitable<Outcome<net::StreamSocket>> dial(net::DialTarget target,
                                                   Clock::Duration timeout) override {
    dials.push_back(clock_.now());
    return inner_->dial(std::move(target), timeout);
  }
  std::vector<Clock::TimePoint> dials;

 private:
  std::unique_ptr<net::Transport> inner_;
  const Clock& clock_;
};

struct MemoryNode {
  std::string name;
  std::string host;
  std::filesystem::path dir;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<RecordingSink> sink;
  std::unique_ptr<CountingTransport> transport;
  std::unique_ptr<Node> node;

  std::string address() const { return host + ":" + std::to_string(kPort); }
  const tls::PeerId& id() const { return identity->id(); }
};

class MemoryNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/dev/shm/peerchat-memory-nodes-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    for (auto& [name, peer] : peers_) stop(*peer);
    peers_.clear();
    std::filesystem::remove_all(root_);
  }

  // A node called `name` on host `host`, listening on kPort; started again with the same
  // identity and store if it ran before.
  MemoryNode& start(const std::string& name, const std::string& host) {
    auto& slot = peers_[name];
    if (!slot) {
      slot = std::make_unique<MemoryNode>();
      slot->name = name;
      slot->dir = root_ / name;
      std::filesystem::create_directories(slot->dir);
      slot->identity.emplace(std::move(tls::Identity::load_or_create(slot->dir).value()));
    }
    MemoryNode& peer = *slot;
    peer.host = host;
    peer.store = std::move(store::Store::open(peer.dir / "peerchat.db").value());
    peer.sink = std::make_unique<RecordingSink>();
    peer.transport = std::make_unique<CountingTransport>(network_.transport(host), clock_);
    NodeConfig config;
    config.name = name;
    config.port = kPort;
    config.store_thread = false;  // deterministic: store work inline, completions posted
    config.redial_initial = 1s;
    config.redial_max = 60s;
    peer.node = std::make_unique<Node>(io_, config, *peer.identity, *peer.store, clock_, random_,
                                       *peer.sink, *peer.transport);
    EXPECT_TRUE(peer.node->restore().ok());
    EXPECT_TRUE(peer.node->listen().ok());
    return peer;
  }
  // Ends a node as a crash would: no BYE, its links cut.
  void stop(MemoryNode& peer) {
    if (!peer.node) return;
    for (const auto& link : network_.links()) {
      if (link->dialer_host() == peer.host || link->listener_host() == peer.host) link->cut();
    }
    peer.node.reset();
    peer.transport.reset();
    peer.store.reset();
    settle();
  }

  void settle() { net::run_until_idle(io_); }
  // Alice (10.0.0.1) and bob (10.0.0.2), alice having dialed bob.
  std::pair<MemoryNode&, MemoryNode&> alice_dials_bob() {
    auto& alice = start("alice", "10.0.0.1");
    auto& bob = start("bob", "10.0.0.2");
    alice.node->connect(bob.address());
    settle();
    return {alice, bob};
  }
  void advance(Clock::Duration by) { net::advance_and_run(io_, clock_, by); }

  bool connected(const MemoryNode& a, const MemoryNode& b) {
    auto peers = a.node->connected_peers();
    return std::find(peers.begin(), peers.end(), b.id()) != peers.end();
  }

  // Declared in this order: the io_context outlives every timer and the network; the clock
  // outlives the io_context.
  FakeClock clock_;
  asio::io_context io_;
  net::MemoryNetwork network_{io_.get_executor(), clock_};
  SystemRandom random_;
  std::filesystem::path root_;
  std::map<std::string, std::unique_ptr<MemoryNode>> peers_;
};

TEST_F(MemoryNodes, CrossedDialsEndWithOneSessionAndNoDisconnect) {
  auto& alice = start("alice", "10.0.0.1");
  auto& bob = start("bob", "10.0.0.2");
  alice.node->connect(bob.address());
  bob.node->connect(alice.address());
  settle();
  advance(5s);  // past the duplicate grace period
  EXPECT_TRUE(connected(alice, bob));
  EXPECT_TRUE(connected(bob, alice));
  EXPECT_EQ(network_.links_between("10.0.0.1", "10.0.0.2").size(), 1u);
  EXPECT_EQ(alice.sink->all<event::Connected>().size(), 1u);
  EXPECT_EQ(bob.sink->all<event::Connected>().size(), 1u);
  EXPECT_TRUE(alice.sink->all<event::Disconnected>().empty());
  EXPECT_TRUE(bob.sink->all<event::Disconnected>().empty());
  alice.node->send_message("bob", "after the crossing");
  bob.node->send_message("alice", "and back");
  settle();
  ASSERT_EQ(bob.sink->all<event::Message>().size(), 1u);
  ASSERT_EQ(alice.sink->all<event::Message>().size(), 1u);
  EXPECT_EQ(alice.sink->all<event::Delivered>().size(), 1u);
  EXPECT_EQ(bob.sink->all<event::Delivered>().size(), 1u);
}

TEST_F(MemoryNodes, RedialBacksOffExponentiallyToTheCapThenFindsThePeerAgain) {
  auto [alice, bob] = alice_dials_bob();
  ASSERT_TRUE(connected(alice, bob));
  stop(bob);  // a crash: bob's port now refuses
  ASSERT_FALSE(connected(alice, bob));
  ASSERT_TRUE(alice.node->send_message("bob", "while you were away"));
  settle();
  const std::size_t before = alice.transport->dials.size();
  advance(10min);
  std::vector<Clock::TimePoint> dials(
      alice.transport->dials.begin() + static_cast<std::ptrdiff_t>(before),
      alice.transport->dials.end());
  // Without backoff the 250 ms redial tick would dial 2,400 times in 10 minutes; with it,
  // 1 s doubling to a 60 s cap (+-20% jitter): about 6 to reach the cap, then one a minute.
  ASSERT_GE(dials.size(), 10u);
  ASSERT_LE(dials.size(), 20u);
  std::vector<double> gaps;
  for (std::size_t i = 1; i < dials.size(); ++i) {
    gaps.push_back(std::chrono::duration<double>(dials[i] - dials[i - 1]).count());
  }
  EXPECT_LE(gaps.front(), 3.0);
  for (double gap : gaps) {
    EXPECT_GE(gap, 0.75);
    EXPECT_LE(gap, 60 * 1.2 + 0.5);  // the cap, its jitter, and one tick
  }
  EXPECT_GE(gaps.back(), 60 * 0.8 - 0.5);
  for (std::size_t i = 1; i < 4; ++i) EXPECT_GT(gaps[i], gaps[i - 1] * 1.2) << i;

  // Bob is back on the same address: the next redial finds him, and the queue goes out.
  auto& again = start("bob", "10.0.0.2");
  advance(75s);
  EXPECT_TRUE(connected(alice, again));
  ASSERT_EQ(again.sink->all<event::Message>().size(), 1u);
  EXPECT_EQ(again.sink->all<event::Message>()[0].text, "while you were away");
  EXPECT_EQ(alice.sink->all<event::Delivered>().size(), 1u);
}

TEST_F(MemoryNodes, AReconnectOverAStalledSessionReplacesItAndLosesNothing) {
  auto [alice, bob] = alice_dials_bob();
  ASSERT_TRUE(connected(alice, bob));
  // The path goes quiet: what alice sends now is stuck in the old session.
  ASSERT_EQ(network_.stall("10.0.0.1", "10.0.0.2"), 1u);
  for (int i = 0; i < 5; ++i) alice.node->send_message("bob", "stuck " + std::to_string(i));
  settle();
  EXPECT_TRUE(bob.sink->all<event::Message>().empty());
  // Bob reconnects (a new path) before either side has noticed the old one is dead.
  bob.node->connect(alice.address());
  settle();
  advance(3min);  // long enough for keepalive to end the stalled session on both sides
  EXPECT_TRUE(connected(alice, bob));
  EXPECT_TRUE(connected(bob, alice));
  const auto received = bob.sink->all<event::Message>();
  ASSERT_EQ(received.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(received[static_cast<std::size_t>(i)].text, "stuck " + std::to_string(i));
  }
  EXPECT_EQ(alice.sink->all<event::Delivered>().size(), 5u);
  // The peer never appeared to leave: one `connected` each and no `disconnected`.
  EXPECT_EQ(alice.sink->all<event::Connected>().size(), 1u);
  EXPECT_EQ(bob.sink->all<event::Connected>().size(), 1u);
  EXPECT_TRUE(alice.sink->all<event::Disconnected>().empty());
  EXPECT_TRUE(bob.sink->all<event::Disconnected>().empty());
}

TEST_F(MemoryNodes, KeepaliveDeclaresAStalledPeerDeadAndTheRedialRecovers) {
  auto [alice, bob] = alice_dials_bob();
  ASSERT_TRUE(connected(alice, bob));
  ASSERT_EQ(network_.stall("10.0.0.1", "10.0.0.2"), 1u);
  advance(60s);  // keepalive pings go unanswered, but the peer is not dead yet
  EXPECT_TRUE(connected(alice, bob));
  EXPECT_TRUE(alice.sink->all<event::Disconnected>().empty());
  // Messages queued meanwhile wait for the next session.
  alice.node->send_message("bob", "during the outage");
  advance(40s);  // past dead_after (90 s) since the last bytes
  const auto gone = alice.sink->all<event::Disconnected>();
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].reason, Code::timeout);
  ASSERT_EQ(bob.sink->all<event::Disconnected>().size(), 1u);
  EXPECT_EQ(bob.sink->all<event::Disconnected>()[0].reason, Code::timeout);
  // The path heals: a redial makes a new session and the queued message arrives once.
  network_.resume("10.0.0.1", "10.0.0.2");
  advance(5s);
  EXPECT_TRUE(connected(alice, bob));
  const auto received = bob.sink->all<event::Message>();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].text, "during the outage");
}

TEST_F(MemoryNodes, FanInFromFourSendersKeepsEveryMessageOnceUnderItsAuthor) {
  auto& hub = start("hub", "10.0.0.1");
  std::vector<MemoryNode*> senders;
  for (int i = 0; i < 4; ++i) {
    senders.push_back(&start("sender" + std::to_string(i), "10.0.1." + std::to_string(i)));
    senders.back()->node->connect(hub.address());
  }
  settle();
  for (auto* sender : senders) ASSERT_TRUE(connected(*sender, hub));
  constexpr int kEach = 300;  // more than one credit window's worth of batches, interleaved
  for (int n = 0; n < kEach; ++n) {
    for (auto* sender : senders)
      sender->node->send_message("hub", sender->name + " " + std::to_string(n));
    if (n % 50 == 0) settle();
  }
  settle();
  for (auto* sender : senders) {
    const auto got = hub.sink->messages_from(sender->id());
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kEach)) << sender->name;
    for (int n = 0; n < kEach; ++n) {
      EXPECT_EQ(got[static_cast<std::size_t>(n)].text, sender->name + " " + std::to_string(n));
    }
    EXPECT_EQ(sender->sink->all<event::Delivered>().size(), static_cast<std::size_t>(kEach));
  }
  EXPECT_EQ(hub.sink->count_messages(), static_cast<std::size_t>(4 * kEach));
}

}  // namespace
}  // namespace peerchat::node
