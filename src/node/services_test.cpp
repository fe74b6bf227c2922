// Services plug into the node without touching it: a service of the "typing indicator" shape
// (docs/architecture.md) claims a capability bit and a frame type, and gets its frames from
// peers that offered the bit; peers without it are left alone. Also the typed command API.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "node/node.hpp"
#include "node/node_test_support.hpp"
#include "node/service.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"

namespace peerchat::node {
namespace {

using testing::RecordingSink;

constexpr std::uint32_t kTypingBit = 1u << 1;
constexpr std::uint8_t kTypingFrame = 0x80;

class TypingService final : public Service {
 public:
  std::string_view name() const override { return "typing"; }
  std::uint32_t capabilities() const override { return kTypingBit; }
  std::vector<std::uint8_t> frame_types() const override { return {kTypingFrame}; }

  void on_session_open(PeerEntry& peer, session::Connection& connection) override {
    sessions[peer.id] = connection.weak_from_this();
    ++opened;
  }
  void on_frame(PeerEntry& peer, session::Connection& /*connection*/, std::uint8_t type,
                std::span<const std::uint8_t> payload) override {
    ASSERT_EQ(type, kTypingFrame);
    if (payload.size() != 1) return;  // a malformed indicator is dropped
    received.emplace_back(peer.id, payload[0] == 1);
  }
  void on_batch_end(PeerEntry& /*peer*/, session::Connection& /*connection*/) override {
    ++batches;
  }
  void on_session_closed(PeerEntry& peer, session::Connection& /*connection*/,
                         const session::CloseReason& /*reason*/) override {
    sessions.erase(peer.id);
  }

  Result<void> typing(const tls::PeerId& peer, bool on) {
    auto it = sessions.find(peer);
    auto connection = it == sessions.end() ? nullptr : it->second.lock();
    if (!connection)
      return make_error(std::make_error_code(std::errc::not_connected), "no session");
    const std::uint8_t state = on ? 1 : 0;
    return connection->send_frame(kTypingFrame, {&state, 1});
  }

  std::map<tls::PeerId, std::weak_ptr<session::Connection>> sessions;
  std::vector<std::pair<tls::PeerId, bool>> received;
  int opened = 0;
  int batches = 0;
};

// A bulk service: sends one blob on a stream labelled "blob ...", and collects blobs sent to it.
constexpr std::uint32_t kBlobBit = 1u << 3;

class BlobService final : public Service {
 public:
  std::string_view name() const override { return "blob"; }
  std::uint32_t capabilities() const override { return kBlobBit; }
  std::vector<std::string> stream_prefixes() const override { return {"blob "}; }

  void on_session_open(PeerEntry& /*peer*/, session::Connection& connection) override {
    session = connection.weak_from_this();
  }
  void on_stream_open(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                      const wire::StreamOpen& open) override {
    labels.push_back(open.label);
  }
  void on_stream_data(PeerEntry& /*peer*/, session::Connection& connection,
                      std::uint32_t /*stream*/, std::span<const std::uint8_t> data) override {
    received.insert(received.end(), data.begin(), data.end());
    connection.consume_stream(data.size());
  }
  void on_stream_end(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                     const wire::StreamEnd& end) override {
    ended.push_back(end.status);
  }
  void on_stream_stopped(PeerEntry& /*peer*/, session::Connection& /*connection*/,
                         const wire::StreamStop& stop) override {
    if (stop.stream == sending) stopped.push_back(stop.message);
  }
  void on_stream_writable(PeerEntry& /*peer*/, session::Connection& connection) override {
    pump(connection);
  }

  void send(std::string label, std::vector<std::uint8_t> bytes) {
    auto connection = session.lock();
    ASSERT_TRUE(connection);
    auto opened = connection->open_stream(std::move(label), bytes.size());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sending = *opened;
    outgoing = std::move(bytes);
    written = 0;
    pump(*connection);
  }
  void pump(session::Connection& connection) {
    if (sending == 0 || written == outgoing.size()) return;
    written += connection.write_stream(sending, std::span(outgoing).subspan(written));
    if (written == outgoing.size()) connection.end_stream(sending);
  }

  std::weak_ptr<session::Connection> session;
  std::vector<std::string> labels;
  std::vector<std::uint8_t> received;
  std::vector<wire::StreamStatus> ended;
  std::vector<std::string> stopped;
  std::uint32_t sending = 0;
  std::vector<std::uint8_t> outgoing;
  std::size_t written = 0;
};

struct ServicePeer {
  ServicePeer(asio::io_context& io, const std::string& name, const std::filesystem::path& root,
              bool with_typing)
      : dir(root / name) {
    std::filesystem::create_directories(dir);
    identity.emplace(std::move(tls::Identity::load_or_create(dir).value()));
    store = std::move(store::Store::open(dir / "peerchat.db").value());
    NodeConfig config;
    config.name = name;
    config.port = 0;
    config.files = false;  // the test services use bits and types file transfer has
    node = std::make_unique<Node>(io, config, *identity, *store, clock, random, sink);
    if (with_typing) {
      EXPECT_TRUE(node->add_service(typing).ok());
      EXPECT_TRUE(node->add_service(blob).ok());
    }
    EXPECT_TRUE(node->restore().ok());
    EXPECT_TRUE(node->listen().ok());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(node->port()); }

  std::filesystem::path dir;
  SystemClock clock;
  SystemRandom random;
  RecordingSink sink;
  TypingService typing;
  BlobService blob;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Node> node;
};

class ServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-services-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    peers_.clear();
    std::filesystem::remove_all(root_);
  }
  ServicePeer& add(const std::string& name, bool with_typing) {
    peers_.push_back(std::make_unique<ServicePeer>(io_, name, root_, with_typing));
    return *peers_.back();
  }
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(5));
      if (io_.stopped()) io_.restart();
    }
    return done();
  }

  asio::io_context io_;
  std::filesystem::path root_;
  std::vector<std::unique_ptr<ServicePeer>> peers_;
};

TEST_F(ServicesTest, AServiceGetsItsOwnFramesFromPeersThatOfferIt) {
  auto& alice = add("alice", true);
  auto& bob = add("bob", true);
  bob.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] { return alice.typing.opened == 1 && bob.typing.opened == 1; }));
  ASSERT_TRUE(bob.typing.typing(alice.node->id(), true).ok());
  ASSERT_TRUE(bob.typing.typing(alice.node->id(), false).ok());
  ASSERT_TRUE(run_until([&] { return alice.typing.received.size() == 2; }));
  EXPECT_EQ(alice.typing.received[0], std::make_pair(bob.node->id(), true));
  EXPECT_EQ(alice.typing.received[1], std::make_pair(bob.node->id(), false));
  EXPECT_GE(alice.typing.batches, 1);
  // Chat is untouched by it.
  bob.node->send_message("alice", "hello");
  ASSERT_TRUE(run_until([&] { return bob.sink.all<event::Delivered>().size() == 1; }));
  EXPECT_EQ(alice.sink.all<event::Message>().at(0).text, "hello");
}

TEST_F(ServicesTest, APeerWithoutTheServiceIsLeftAloneAndChatStillWorks) {
  auto& alice = add("alice", true);
  auto& carol = add("carol", false);
  carol.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] {
    return alice.node->connected_peers().size() == 1 && carol.node->connected_peers().size() == 1;
  }));
  // Carol's HELLO has no typing bit: alice's service never hears of the session.
  EXPECT_EQ(alice.typing.opened, 0);
  carol.node->send_message("alice", "no typing here");
  ASSERT_TRUE(run_until([&] { return carol.sink.all<event::Delivered>().size() == 1; }));
  EXPECT_TRUE(alice.typing.received.empty());
}

TEST_F(ServicesTest, AServiceGetsTheStreamsLabelledForItAndNoOthers) {
  auto& alice = add("alice", true);
  auto& bob = add("bob", true);
  bob.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] { return alice.typing.opened == 1 && bob.typing.opened == 1; }));
  // 3 MiB: several times the stream window, so credit must come back as bob consumes.
  std::vector<std::uint8_t> bytes(3u << 20);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 131);
  alice.blob.send("blob photos", bytes);
  ASSERT_TRUE(run_until([&] { return !bob.blob.ended.empty(); }));
  EXPECT_EQ(bob.blob.labels, std::vector<std::string>{"blob photos"});
  EXPECT_EQ(bob.blob.ended, std::vector<wire::StreamStatus>{wire::StreamStatus::complete});
  EXPECT_TRUE(bob.blob.received == bytes);
  // A label no service takes is stopped; the sender's service hears why (while it is still
  // sending: a stop after the end is moot and not reported, so more than a window of it).
  alice.blob.send("nobody's", std::vector<std::uint8_t>(8u << 20, 7));
  ASSERT_TRUE(run_until([&] { return !alice.blob.stopped.empty(); }));
  EXPECT_NE(alice.blob.stopped[0].find("no service"), std::string::npos);
  EXPECT_EQ(bob.blob.labels.size(), 1u);
  // Chat still flows.
  bob.node->send_message("alice", "after the blob");
  ASSERT_TRUE(run_until([&] { return bob.sink.all<event::Delivered>().size() == 1; }));
}

TEST_F(ServicesTest, ClaimsOnTakenOrCoreFrameTypesAreRefused) {
  auto& alice = add("alice", true);
  TypingService again;
  auto refused = alice.node->add_service(again);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure().code, Code::usage);

  struct CoreGrabber final : Service {
    std::string_view name() const override { return "grabber"; }
    std::vector<std::uint8_t> frame_types() const override { return {0x03}; }  // CHAT
  } grabber;
  EXPECT_FALSE(alice.node->add_service(grabber).ok());

  struct StreamGrabber final : Service {
    explicit StreamGrabber(std::string prefix) : prefix_(std::move(prefix)) {}
    std::string_view name() const override { return "streams"; }
    std::vector<std::string> stream_prefixes() const override { return {prefix_}; }
    std::string prefix_;
  };
  StreamGrabber overlapping("blob"), everything(""), other("other ");
  EXPECT_FALSE(alice.node->add_service(overlapping).ok());  // "blob " is taken
  EXPECT_FALSE(alice.node->add_service(everything).ok());
  EXPECT_TRUE(alice.node->add_service(other).ok());
}

TEST_F(ServicesTest, ConnectIsAnsweredOnceWhenTheSessionIsOpenOrWithWhyNot) {
  auto& alice = add("alice", false);
  auto& bob = add("bob", false);
  std::vector<event::Result> results;
  bob.node->execute("c1", command::Connect{alice.address()},
                    [&](event::Result result) { results.push_back(std::move(result)); });
  ASSERT_TRUE(run_until([&] { return !results.empty(); }));
  ASSERT_TRUE(results[0].ok) << results[0].message;
  EXPECT_EQ(results[0].request_id, "c1");
  EXPECT_EQ((*results[0].data)["status"], "connected");
  EXPECT_EQ((*results[0].data)["peer"]["peer"], alice.node->id().to_string());
  EXPECT_EQ(bob.node->connected_peers().size(), 1u);

  // A port nobody listens on: a typed failure in the result, and no error event besides.
  const std::size_t problems_before = bob.sink.all<event::Problem>().size();
  bob.node->execute("c2", command::Connect{"127.0.0.1:1"},
                    [&](event::Result result) { results.push_back(std::move(result)); });
  ASSERT_TRUE(run_until([&] { return results.size() == 2; }));
  EXPECT_FALSE(results[1].ok);
  EXPECT_EQ(results[1].request_id, "c2");
  EXPECT_EQ(results[1].code, Code::connection_refused);
  EXPECT_EQ(bob.sink.all<event::Problem>().size(), problems_before);

  // A bad address fails at once.
  bob.node->execute("c3", command::Connect{"no port here"},
                    [&](event::Result result) { results.push_back(std::move(result)); });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2].code, Code::bad_address);
}

TEST_F(ServicesTest, HistoryIsReadOffTheIoThreadAndAnsweredUnderItsId) {
  auto& alice = add("alice", false);
  auto& bob = add("bob", false);
  bob.node->connect(alice.address());
  ASSERT_TRUE(run_until([&] { return bob.node->connected_peers().size() == 1; }));
  for (int i = 0; i < 5; ++i) bob.node->send_message("alice", "m" + std::to_string(i));
  ASSERT_TRUE(run_until([&] { return bob.sink.all<event::Delivered>().size() == 5; }));
  std::optional<event::Result> answer;
  bob.node->execute("h1", command::History{"alice", 3},
                    [&](event::Result result) { answer = std::move(result); });
  ASSERT_TRUE(run_until([&] { return answer.has_value(); }));
  ASSERT_TRUE(answer->ok);
  const auto& messages = (*answer->data)["messages"];
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[2]["text"], "m4");
  EXPECT_EQ(messages[2]["state"], "delivered");

  std::optional<event::Result> unknown;
  bob.node->execute("h2", command::History{"nobody", 3},
                    [&](event::Result result) { unknown = std::move(result); });
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->code, Code::unknown_peer);
}

}  // namespace
}  // namespace peerchat::node
