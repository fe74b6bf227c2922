// Two real Connections over TLS on 127.0.0.1, one io_context: the TLS stream, the reader and
// writer coroutines and the stream transport together, including chat interleaved with bulk
// data and a clean BYE at the end.
#include "session/connection.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "tls/context.hpp"
#include "tls/identity.hpp"

namespace peerchat::session {
namespace {

using namespace std::chrono_literals;

class End final : public ConnectionObserver {
 public:
  End(tls::Role role, bool offer_streams) : role_(role), offer_streams_(offer_streams) {
    identity_.emplace(std::move(tls::Identity::generate().value()));
    context_ = SSL_CTX_new(TLS_method());
    EXPECT_TRUE(tls::configure_context(context_, *identity_, role).ok());
  }
  ~End() override { SSL_CTX_free(context_); }
  End(const End&) = delete;
  End& operator=(const End&) = delete;

  void start(asio::ip::tcp::socket socket) {
    ProtocolConfig config;
    config.name = role_ == tls::Role::client ? "client" : "server";
    config.offer_streams = offer_streams_;
    config.streams.receive_window = 256 * 1024;  // small: flow control is exercised
    connection = std::make_shared<Connection>(
        1, std::move(socket), context_,
        role_ == tls::Role::client ? Direction::outbound : Direction::inbound, "127.0.0.1", config,
        clock_, random_, *this);
    connection->start();
  }

  std::optional<Rejection> on_authenticated(Connection&) override { return {}; }
  void on_open(Connection&) override { open = true; }
  void on_chats(Connection& connection_, InboundBatch&& batch) override {
    for (const auto& chat : batch.chats()) chats.push_back(chat.text);
    EXPECT_EQ(batch.author(), connection_.peer_id());
    connection_.acknowledge(batch);
  }
  void on_ack(Connection&, std::uint64_t seq) override { acked = seq; }
  void on_credit(Connection&) override {}
  void on_closed(Connection&, const CloseReason& reason) override { closed = reason; }
  void on_stream_open(Connection&, const wire::StreamOpen& open_) override {
    labels.push_back(open_.label);
  }
  void on_stream_data(Connection& connection_, std::uint32_t,
                      std::span<const std::uint8_t> data) override {
    received.insert(received.end(), data.begin(), data.end());
    connection_.consume_stream(data.size());
  }
  void on_stream_end(Connection&, const wire::StreamEnd& end) override { ended = end; }
  void on_stream_writable(Connection&) override {
    if (writable) writable();
  }

  std::shared_ptr<Connection> connection;
  bool open = false;
  std::uint64_t acked = 0;
  std::vector<std::string> chats;
  std::vector<std::string> labels;
  std::vector<std::uint8_t> received;
  std::optional<wire::StreamEnd> ended;
  std::optional<CloseReason> closed;
  std::function<void()> writable;

 private:
  tls::Role role_;
  bool offer_streams_;
  std::optional<tls::Identity> identity_;
  SSL_CTX* context_ = nullptr;
  SystemClock clock_;
  SystemRandom random_;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void connect(bool client_streams, bool server_streams) {
    client.emplace(tls::Role::client, client_streams);
    server.emplace(tls::Role::server, server_streams);
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket dialed(io);
    dialed.connect(acceptor.local_endpoint());
    server->start(acceptor.accept());
    client->start(std::move(dialed));
    ASSERT_TRUE(run_until([&] { return client->open && server->open; }));
  }

  // Runs the loop until `done` holds; false after 20 s.
  bool run_until(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < give_up) io.run_for(5ms);
    return done();
  }

  void TearDown() override {
    for (auto* end : {&client, &server}) {
      if (*end && (*end)->connection) (*end)->connection->abort({Code::quit, "test over", false});
    }
    io.run_for(50ms);
  }

  asio::io_context io;
  std::optional<End> client;
  std::optional<End> server;
};

TEST_F(ConnectionTest, StreamArrivesByteExactWithChatInterleavedAndClosesCleanly) {
  connect(true, true);
  ASSERT_TRUE(client->connection->streams_enabled());
  std::vector<std::uint8_t> data(3 * 1024 * 1024 + 123);
  std::mt19937 random(7);
  for (auto& byte : data) byte = static_cast<std::uint8_t>(random());

  const auto stream = client->connection->open_stream("photo.jpg", data.size());
  ASSERT_TRUE(stream.ok());
  std::size_t sent = 0;
  std::uint64_t seq = 0;
  client->writable = [&] {
    while (sent < data.size()) {
      const auto wrote = client->connection->write_stream(
          *stream,
          std::span(data).subspan(sent, std::min<std::size_t>(50'000, data.size() - sent)));
      if (wrote == 0) break;
      sent += wrote;
      // A chat between chunks of the stream: it must arrive, in order, and be ACKed.
      if (seq < 20 && client->connection->can_send_chat()) {
        wire::Chat chat;
        chat.seq = ++seq;
        chat.text = "chat " + std::to_string(seq);
        client->connection->send_chat(chat);
      }
    }
    if (sent == data.size()) client->connection->end_stream(*stream);
  };
  client->writable();
  ASSERT_TRUE(run_until([&] { return server->ended.has_value() && client->acked == seq; }));

  EXPECT_EQ(server->labels, std::vector<std::string>{"photo.jpg"});
  EXPECT_EQ(server->ended->status, wire::StreamStatus::complete);
  ASSERT_EQ(server->received.size(), data.size());
  EXPECT_TRUE(server->received == data);
  ASSERT_EQ(server->chats.size(), 20u);
  EXPECT_EQ(server->chats.front(), "chat 1");
  EXPECT_EQ(server->chats.back(), "chat 20");

  client->connection->close(wire::ByeReason::quit, "done");
  ASSERT_TRUE(
      run_until([&] { return server->closed.has_value() && client->connection->finished(); }));
  EXPECT_EQ(server->closed->code, Code::quit);
  EXPECT_EQ(server->closed->message, "done");
}

TEST_F(ConnectionTest, StreamsNeedBothSidesToOfferThem) {
  connect(true, false);
  EXPECT_FALSE(client->connection->streams_enabled());
  EXPECT_FALSE(server->connection->streams_enabled());
  EXPECT_FALSE(client->connection->open_stream("x", 1).ok());
  // Chat still works.
  wire::Chat chat;
  chat.seq = 1;
  chat.text = "still here";
  client->connection->send_chat(chat);
  ASSERT_TRUE(run_until([&] { return client->acked == 1; }));
  EXPECT_EQ(server->chats, std::vector<std::string>{"still here"});
}

TEST_F(ConnectionTest, PeerVanishingMidStreamIsAConnectionErrorNotASignal) {
  // This binary does not ignore SIGPIPE: a send() without MSG_NOSIGNAL to a closed peer would
  // kill it here.
  connect(true, true);
  const auto stream = client->connection->open_stream("big", wire::kUnknownStreamSize);
  ASSERT_TRUE(stream.ok());
  const std::vector<std::uint8_t> block(64 * 1024, 0x77);
  client->writable = [&] {
    while (client->connection->write_stream(*stream, block) > 0) {
    }
  };
  client->writable();
  ASSERT_TRUE(run_until([&] { return server->received.size() >= 512 * 1024; }));
  server->connection->abort({Code::quit, "vanished", false});
  ASSERT_TRUE(run_until([&] { return client->closed.has_value(); }));
  EXPECT_EQ(client->closed->code, Code::connection_lost);
  EXPECT_TRUE(client->closed->by_peer);
}

}  // namespace
}  // namespace peerchat::session
