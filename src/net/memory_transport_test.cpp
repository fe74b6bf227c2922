// The in-process network on its own, then two real sessions (TLS, HELLO, keepalive) over it
// with a fake clock: a stalled link is found dead after dead_after of fake time, in
// milliseconds of real time.
#include "net/memory_transport.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "net/net_test_support.hpp"
#include "net/timer.hpp"
#include "session/connection.hpp"
#include "tls/context.hpp"
#include "tls/identity.hpp"

namespace peerchat::net {
namespace {

using namespace std::chrono_literals;

constexpr auto kAlice = "10.0.0.1";
constexpr auto kBob = "10.0.0.2";

class MemoryTransportTest : public ::testing::Test {
 protected:
  // Starts `operation`; its result lands in the returned slot when it completes.
  template <class T>
  std::shared_ptr<std::optional<T>> start(asio::awaitable<T> operation) {
    auto result = testing::spawn_for_result(io, std::move(operation));
    run_until_idle(io);
    return result;
  }

  // Bob dials Alice's listener; both ends, accepted and dialed.
  std::pair<StreamSocket, StreamSocket> connect(std::uint16_t port = 7000) {
    EXPECT_TRUE(alice->listen(port));
    auto accepted = start(alice->accept());
    const DialTarget target{"", kAlice, port};
    auto dialed = start(bob->dial(target, 10s));
    EXPECT_TRUE(accepted->has_value() && **accepted);
    EXPECT_TRUE(dialed->has_value() && **dialed);
    // A read that finds nothing says would_block instead of hanging the test.
    (***accepted).socket.non_blocking(true);
    (***dialed).non_blocking(true);
    return {std::move((***accepted).socket), std::move(***dialed)};
  }

  void send(StreamSocket& socket, std::string_view text) {
    asio::write(socket, asio::buffer(text));
    run_until_idle(io);  // the relay carries it, unless stalled
  }
  std::string received(StreamSocket& socket) {
    run_until_idle(io);
    std::string text(socket.available(), '\0');
    if (!text.empty()) asio::read(socket, asio::buffer(text));
    return text;
  }

  FakeClock clock;  // before io: timers in coroutine frames die with io
  asio::io_context io;
  MemoryNetwork network{io.get_executor(), clock};
  std::unique_ptr<Transport> alice = network.transport(kAlice);
  std::unique_ptr<Transport> bob = network.transport(kBob);
};

TEST_F(MemoryTransportTest, DialReachesTheListenerAndBytesFlowBothWays) {
  ASSERT_EQ(*alice->listen(7000), 7000);
  auto accepted = start(alice->accept());
  EXPECT_FALSE(accepted->has_value());
  const DialTarget target{"", kAlice, 7000};
  auto dialed = start(bob->dial(target, 10s));
  ASSERT_TRUE(dialed->has_value() && **dialed) << (*dialed)->failure().message;
  ASSERT_TRUE(accepted->has_value() && **accepted);
  EXPECT_EQ((**accepted)->source, kBob);
  EXPECT_EQ((**accepted)->address, "10.0.0.2:40001");
  auto& at_alice = (***accepted).socket;
  auto& at_bob = ***dialed;
  EXPECT_FALSE(is_tcp(at_alice) || is_tcp(at_bob));  // no TCP options for the session to set

  send(at_bob, "hello alice");
  EXPECT_EQ(received(at_alice), "hello alice");
  send(at_alice, "hello bob");
  EXPECT_EQ(received(at_bob), "hello bob");

  const auto links = network.links_between(kBob, kAlice);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0]->dialer_address(), "10.0.0.2:40001");
  EXPECT_EQ(links[0]->listener_address(), "10.0.0.1:7000");
  EXPECT_EQ(links[0]->bytes_to_listener(), 11u);
  EXPECT_EQ(links[0]->bytes_to_dialer(), 9u);
}

TEST_F(MemoryTransportTest, EachDialComesFromTheNextSourcePort) {
  ASSERT_TRUE(alice->listen(7000));
  const DialTarget target{"", kAlice, 7000};
  std::vector<StreamSocket> held;  // a closed end would take its link down with it
  for (const auto* expected : {"10.0.0.2:40001", "10.0.0.2:40002"}) {
    auto dialed = start(bob->dial(target, 10s));
    auto accepted = start(alice->accept());
    ASSERT_TRUE(dialed->has_value() && **dialed);
    ASSERT_TRUE(accepted->has_value() && **accepted);
    EXPECT_EQ((**accepted)->address, expected);
    held.push_back(std::move(***dialed));
    held.push_back(std::move((***accepted).socket));
  }
  EXPECT_EQ(network.links().size(), 2u);
}

TEST_F(MemoryTransportTest, PortZeroPicksAFreePortAndATakenPortIsInUse) {
  const auto first = alice->listen(0);
  ASSERT_TRUE(first);
  auto second_transport = network.transport(kAlice);
  const auto taken = second_transport->listen(*first);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.failure().code, Code::port_in_use);
  EXPECT_EQ(taken.failure().message,
            fmt::format("port {} is already in use; pick another with --port", *first));
  const auto other = second_transport->listen(0);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *first);
  // Another host's ports are its own.
  EXPECT_TRUE(bob->listen(*first));
}

TEST_F(MemoryTransportTest, APortNobodyListensOnRefusesAndAnUnknownHostDoesNotResolve) {
  const DialTarget closed{"", kAlice, 7000};
  auto refused = start(bob->dial(closed, 10s));
  ASSERT_TRUE(refused->has_value());
  ASSERT_FALSE(**refused);
  EXPECT_EQ((*refused)->failure().code, Code::connection_refused);
  EXPECT_EQ((*refused)->failure().message,
            "nobody is listening at 10.0.0.1:7000 (connection refused); is the peer running on "
            "that port?");

  const DialTarget unknown{"", "10.9.9.9", 7000};
  auto unresolved = start(bob->dial(unknown, 10s));
  ASSERT_TRUE(unresolved->has_value());
  ASSERT_FALSE(**unresolved);
  EXPECT_EQ((*unresolved)->failure().code, Code::resolve_failed);
}

TEST_F(MemoryTransportTest, DialToAnUnreachableHostTimesOutOnTheFakeClock) {
  ASSERT_TRUE(alice->listen(7000));
  network.set_reachable(kAlice, false);
  const DialTarget target{"", kAlice, 7000};
  auto dialed = start(bob->dial(target, 10s));
  clock.advance(9s);
  run_until_idle(io);
  EXPECT_FALSE(dialed->has_value()) << "gave up before its timeout";
  clock.advance(1s);
  run_until_idle(io);
  ASSERT_TRUE(dialed->has_value());
  ASSERT_FALSE(**dialed);
  EXPECT_EQ((*dialed)->failure().code, Code::timeout);
  EXPECT_EQ((*dialed)->failure().message,
            "no answer from 10.0.0.1:7000 within 10 s; check the address and that no firewall "
            "is in the way");

  network.set_reachable(kAlice, true);
  auto again = start(bob->dial(target, 10s));
  ASSERT_TRUE(again->has_value());
  EXPECT_TRUE(**again);
}

TEST_F(MemoryTransportTest, AStalledLinkCarriesNothingUntilResumed) {
  auto [at_alice, at_bob] = connect();
  ASSERT_EQ(network.stall(kAlice, kBob), 1u);
  send(at_bob, "one ");
  send(at_alice, "back");
  send(at_bob, "two");
  EXPECT_EQ(received(at_alice), "");
  EXPECT_EQ(received(at_bob), "");
  EXPECT_TRUE(at_alice.is_open() && at_bob.is_open());

  ASSERT_EQ(network.resume(kAlice, kBob), 1u);
  EXPECT_EQ(received(at_alice), "one two");
  EXPECT_EQ(received(at_bob), "back");
}

TEST_F(MemoryTransportTest, ACutDropsTheConnectionAtBothEnds) {
  auto [at_alice, at_bob] = connect();
  ASSERT_EQ(network.cut(kBob, kAlice), 1u);
  EXPECT_TRUE(network.links().empty());
  for (auto* end : {&at_alice, &at_bob}) {
    std::array<char, 16> buffer;
    std::error_code error;
    end->read_some(asio::buffer(buffer), error);
    EXPECT_EQ(error, asio::error::eof);
    const std::string text = "anyone there?";
    asio::write(*end, asio::buffer(text), error);
    EXPECT_EQ(error, asio::error::broken_pipe);
  }
}

TEST_F(MemoryTransportTest, AClosedEndIsSeenAsEofByTheOther) {
  auto [at_alice, at_bob] = connect();
  send(at_bob, "last words");
  at_bob.shutdown(StreamSocket::shutdown_send);
  run_until_idle(io);
  std::string text(64, '\0');
  std::error_code error;
  const auto size = asio::read(at_alice, asio::buffer(text), error);
  EXPECT_EQ(error, asio::error::eof);
  EXPECT_EQ(text.substr(0, size), "last words");
  // The other direction still works: a half-close, as with TCP.
  send(at_alice, "heard");
  EXPECT_EQ(received(at_bob), "heard");
}

TEST_F(MemoryTransportTest, StopListeningEndsAcceptAndRefusesDials) {
  ASSERT_TRUE(alice->listen(7000));
  auto accepted = start(alice->accept());
  alice->stop_listening();
  run_until_idle(io);
  ASSERT_TRUE(accepted->has_value());
  ASSERT_FALSE(**accepted);
  EXPECT_EQ((*accepted)->failure().code, Code::shutdown);

  const DialTarget target{"", kAlice, 7000};
  auto dialed = start(bob->dial(target, 10s));
  ASSERT_TRUE(dialed->has_value());
  ASSERT_FALSE(**dialed);
  EXPECT_EQ((*dialed)->failure().code, Code::connection_refused);
  EXPECT_TRUE(alice->listen(7000)) << "the port is free again";
}

// One end of a session: a real identity and TLS context, a Connection on a memory socket.
class SessionEnd final : public session::ConnectionObserver {
 public:
  SessionEnd(tls::Role role, const Clock& clock) : role_(role), clock_(clock) {
    identity_.emplace(std::move(tls::Identity::generate().value()));
    context_ = SSL_CTX_new(TLS_method());
    EXPECT_TRUE(tls::configure_context(context_, *identity_, role).ok());
  }
  ~SessionEnd() override { SSL_CTX_free(context_); }
  SessionEnd(const SessionEnd&) = delete;
  SessionEnd& operator=(const SessionEnd&) = delete;

  void start(StreamSocket socket, std::string address, session::ProtocolConfig config) {
    config.name = role_ == tls::Role::client ? "bob" : "alice";
    connection = std::make_shared<session::Connection>(
        1, std::move(socket), context_,
        role_ == tls::Role::client ? session::Direction::outbound : session::Direction::inbound,
        std::move(address), config, clock_, random_, *this);
    connection->start();
  }

  std::optional<session::Rejection> on_authenticated(session::Connection&) override { return {}; }
  void on_open(session::Connection&) override { open = true; }
  void on_chats(session::Connection& from, session::InboundBatch&& batch) override {
    for (const auto& chat : batch.chats()) chats.push_back(chat.text);
    from.acknowledge(batch);
  }
  void on_ack(session::Connection&, std::uint64_t seq) override { acked = seq; }
  void on_credit(session::Connection&) override {}
  void on_closed(session::Connection&, const session::CloseReason& reason) override {
    closed = reason;
  }

  std::shared_ptr<session::Connection> connection;
  bool open = false;
  std::vector<std::string> chats;
  std::uint64_t acked = 0;
  std::optional<session::CloseReason> closed;

 private:
  tls::Role role_;
  const Clock& clock_;
  std::optional<tls::Identity> identity_;
  SSL_CTX* context_ = nullptr;
  SystemRandom random_;
};

class MemorySessionTest : public MemoryTransportTest {
 protected:
  void open_sessions() {
    auto [at_alice, at_bob] = connect();
    server.start(std::move(at_alice), "10.0.0.2:40001", config);
    client.start(std::move(at_bob), "10.0.0.1:7000", config);
    ASSERT_TRUE(settle([&] { return client.open && server.open; }))
        << (client.closed ? client.closed->message : "") << " / "
        << (server.closed ? server.closed->message : "");
  }

  // In-process sockets deliver at once, so a few rounds of running until idle settle any
  // exchange; bounded in rounds and in real time.
  bool settle(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    for (int round = 0; round < 100 && !done() && std::chrono::steady_clock::now() < give_up;
         ++round) {
      run_until_idle(io);
      if (!done()) io.run_for(1ms);
    }
    return done();
  }

  void TearDown() override {
    for (auto* end : {&client, &server}) {
      if (end->connection) end->connection->abort({Code::quit, "test over", false});
    }
    run_until_idle(io);
  }

  session::ProtocolConfig config;  // keepalive 30 s, dead after 90 s
  SessionEnd server{tls::Role::server, clock};
  SessionEnd client{tls::Role::client, clock};
};

TEST_F(MemorySessionTest, SessionsOpenThenFindAStalledLinkDeadOnTheFakeClock) {
  const auto real_start = std::chrono::steady_clock::now();
  open_sessions();
  wire::Chat chat;
  chat.seq = 1;
  chat.text = "over the memory network";
  client.connection->send_chat(chat);
  ASSERT_TRUE(settle([&] { return client.acked == 1; }));
  EXPECT_EQ(server.chats, std::vector<std::string>{"over the memory network"});

  ASSERT_EQ(network.stall(kAlice, kBob), 1u);
  advance_and_run(io, clock, config.dead_after - 1s);
  EXPECT_FALSE(client.closed.has_value()) << client.closed->message;
  EXPECT_FALSE(server.closed.has_value()) << server.closed->message;

  advance_and_run(io, clock, config.keepalive_interval + 1s);
  ASSERT_TRUE(client.closed.has_value());
  ASSERT_TRUE(server.closed.has_value());
  EXPECT_EQ(client.closed->code, Code::timeout);
  EXPECT_EQ(server.closed->code, Code::timeout);
  EXPECT_EQ(client.closed->message, "nothing heard for 90 s; the peer is presumed dead");

  // The BYE cannot get through either: the close grace period ends both connections.
  advance_and_run(io, clock, 5s);
  EXPECT_TRUE(client.connection->finished());
  EXPECT_TRUE(server.connection->finished());
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 2s);
}

TEST_F(MemorySessionTest, KeepaliveCarriesASessionThroughAStallShorterThanDeadAfter) {
  open_sessions();
  ASSERT_EQ(network.stall(kAlice, kBob), 1u);
  advance_and_run(io, clock, config.dead_after - 10s);
  ASSERT_EQ(network.resume(kAlice, kBob), 1u);
  // The PINGs held in the stall arrive, the PONGs answer them, and the sessions live on
  // through several more keepalive intervals.
  advance_and_run(io, clock, 4 * config.dead_after);
  EXPECT_FALSE(client.closed.has_value()) << client.closed->message;
  EXPECT_FALSE(server.closed.has_value()) << server.closed->message;
  EXPECT_EQ(client.connection->state(), session::State::open);
}

TEST_F(MemorySessionTest, ACutLinkClosesBothSessionsAsLost) {
  open_sessions();
  ASSERT_EQ(network.cut(kAlice, kBob), 1u);
  ASSERT_TRUE(settle([&] { return client.closed && server.closed; }));
  EXPECT_EQ(client.closed->code, Code::connection_lost);
  EXPECT_EQ(server.closed->code, Code::connection_lost);
}

}  // namespace
}  // namespace peerchat::net
