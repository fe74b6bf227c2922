// Redialing: a peer that only ever dialed in is dialed back at the port its HELLO announced,
// and every address a peer was reached at is kept and tried, not just the last one.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "node/node_test_support.hpp"

namespace peerchat::node {
namespace {

using namespace std::chrono_literals;
using testing::RecordingSink;

// A real node with its own data dir and its own io_context, so that it can crash (node and
// loop gone at once, sessions cut) and start again with the same identity and store on a
// chosen port.
class RestartableNode {
 public:
  RestartableNode(std::string name, const std::filesystem::path& dir)
      : name_(std::move(name)), dir_(dir) {
    std::filesystem::create_directories(dir_);
    identity_.emplace(std::move(tls::Identity::load_or_create(dir_).value()));
  }
  ~RestartableNode() { stop(); }
  RestartableNode(const RestartableNode&) = delete;
  RestartableNode& operator=(const RestartableNode&) = delete;
  // Starts listening on `port` (0: any) and restores known peers and the outbox; with
  // `redial` off it dials nobody by itself.
  void start(std::uint16_t port, bool redial = true) {
    io_ = std::make_unique<asio::io_context>();
    store_ = std::move(store::Store::open(dir_ / "peerchat.db").value());
    NodeConfig config;
    config.name = name_;
    config.port = port;
    config.redial = redial;
    config.redial_initial = 20ms;
    config.redial_max = 200ms;
    sink = std::make_unique<RecordingSink>();
    node = std::make_unique<Node>(*io_, config, *identity_, *store_, clock_, random_, *sink);
    ASSERT_TRUE(node->listen().ok());
    ASSERT_TRUE(node->restore().ok());
  }
  // Ends the node abruptly (its sessions are cut, as in a crash).
  void stop() {
    node.reset();
    io_.reset();
    store_.reset();
  }
  void run_for(std::chrono::milliseconds slice) {
    if (!io_) return;
    io_->run_for(slice);
    if (io_->stopped()) io_->restart();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(node->port()); }
  const tls::PeerId& id() const { return identity_->id(); }

  std::unique_ptr<RecordingSink> sink;
  std::unique_ptr<Node> node;

 private:
  std::unique_ptr<asio::io_context> io_;
  std::string name_;
  std::filesystem::path dir_;
  SystemClock clock_;
  SystemRandom random_;
  std::optional<tls::Identity> identity_;
  std::unique_ptr<store::Store> store_;
};

// A port nobody listens on now (bound, read, released).
std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();
}

class RedialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-redial-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    alice.reset();
    bob.reset();
    std::filesystem::remove_all(root_);
  }
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      for (auto* node : {alice.get(), bob.get()}) {
        if (node != nullptr) node->run_for(2ms);
      }
    }
    return done();
  }
  bool connected(RestartableNode& a, RestartableNode& b) {
    return run_until([&] {
      return a.node->connected_peers() == std::vector<tls::PeerId>{b.id()} &&
             b.node->connected_peers() == std::vector<tls::PeerId>{a.id()};
    });
  }

  std::filesystem::path root_;
  std::unique_ptr<RestartableNode> alice;
  std::unique_ptr<RestartableNode> bob;
};

TEST_F(RedialTest, APeerThatOnlyDialedInIsDialedBackAtItsAnnouncedPort) {
  alice = std::make_unique<RestartableNode>("alice", root_ / "alice");
  bob = std::make_unique<RestartableNode>("bob", root_ / "bob");
  alice->start(0);
  bob->start(0);
  const auto bob_port = bob->node->port();
  bob->node->connect(alice->address());
  ASSERT_TRUE(connected(*alice, *bob));

  // Bob crashes and comes back on his port, dialing nobody: Alice must find him.
  bob->stop();
  ASSERT_TRUE(run_until([&] { return alice->node->connected_peers().empty(); }));
  ASSERT_TRUE(alice->node->send_message("bob", "while you were away").has_value());
  bob->start(bob_port, /*redial=*/false);
  ASSERT_TRUE(run_until([&] { return !bob->sink->messages_from(alice->id()).empty(); }));
  EXPECT_EQ(bob->sink->messages_from(alice->id())[0].text, "while you were away");
}

TEST_F(RedialTest, EveryAddressAPeerWasReachedAtIsTriedNotJustTheLast) {
  alice = std::make_unique<RestartableNode>("alice", root_ / "alice");
  bob = std::make_unique<RestartableNode>("bob", root_ / "bob");
  alice->start(0);
  const auto first_port = free_port();
  bob->start(first_port);
  alice->node->connect(bob->address());  // Alice reaches Bob at his first port
  ASSERT_TRUE(connected(*alice, *bob));

  // Bob moves to another port and dials in from there: that address is now the newest.
  bob->stop();
  ASSERT_TRUE(run_until([&] { return alice->node->connected_peers().empty(); }));
  bob->start(free_port());
  bob->node->connect(alice->address());
  ASSERT_TRUE(connected(*alice, *bob));

  // Bob comes back on his first port: the newest address is dead, the older one works.
  bob->stop();
  ASSERT_TRUE(run_until([&] { return alice->node->connected_peers().empty(); }));
  bob->start(first_port);
  ASSERT_TRUE(connected(*alice, *bob));

  // Alice restarted knows both too (they are in her store, not only in memory).
  alice->stop();
  ASSERT_TRUE(run_until([&] { return bob->node->connected_peers().empty(); }));
  bob->stop();
  bob->start(first_port);
  alice->start(0);
  ASSERT_TRUE(connected(*alice, *bob));
}

}  // namespace
}  // namespace peerchat::node
