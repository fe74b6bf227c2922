// TcpTransport on loopback only: 127.0.0.1, and ::1 where the system has IPv6.
#include "net/tcp_transport.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>

#include "net/net_test_support.hpp"
#include "net/timer.hpp"

namespace peerchat::net {
namespace {

using namespace std::chrono_literals;

// The transport hands out generic stream sockets; read the TCP port from the address bytes.
std::uint16_t local_port(StreamSocket& socket) {
  const auto generic = socket.local_endpoint();
  asio::ip::tcp::endpoint endpoint;
  endpoint.resize(generic.size());
  std::memcpy(endpoint.data(), generic.data(), generic.size());
  return endpoint.port();
}

class TcpTransportTest : public ::testing::Test {
 protected:
  // Starts `operation`; finish() runs the loop until it completes (false after 10 s).
  template <class T>
  std::shared_ptr<std::optional<T>> start(asio::awaitable<T> operation) {
    return testing::spawn_for_result(io, std::move(operation));
  }
  template <class T>
  bool finish(const std::shared_ptr<std::optional<T>>& result) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!result->has_value() && std::chrono::steady_clock::now() < give_up) io.run_for(1ms);
    return result->has_value();
  }

  // Dials `host` on a fresh listener; checks what accept() reports about the dialer.
  void dial_and_accept(const std::string& host, const std::string& address_prefix) {
    TcpTransport server(io.get_executor(), clock);
    TcpTransport client(io.get_executor(), clock);
    const auto port = server.listen(0);
    ASSERT_TRUE(port) << port.failure().message;
    auto accepted = start(server.accept());
    const DialTarget target{"", host, *port};
    auto dialed = start(client.dial(target, 5s));
    ASSERT_TRUE(finish(dialed));
    ASSERT_TRUE(**dialed) << (*dialed)->failure().message;
    ASSERT_TRUE(finish(accepted));
    ASSERT_TRUE(**accepted) << (*accepted)->failure().message;

    const std::string dialer_port = std::to_string(local_port(***dialed));
    EXPECT_TRUE(is_tcp(***dialed));  // so the session sets TCP_NODELAY on it
    EXPECT_TRUE(is_tcp((***accepted).socket));
    EXPECT_EQ((**accepted)->source, host);
    EXPECT_EQ((**accepted)->address, address_prefix + ":" + dialer_port);

    const std::string text = "over tcp";
    asio::write(***dialed, asio::buffer(text));
    std::string got(text.size(), '\0');
    asio::read((***accepted).socket, asio::buffer(got));
    EXPECT_EQ(got, text);
  }

  SystemClock clock;
  asio::io_context io;
};

TEST_F(TcpTransportTest, ListenOnZeroDialAndAcceptOverIpv4Loopback) {
  dial_and_accept("127.0.0.1", "127.0.0.1");
}

TEST_F(TcpTransportTest, ListenOnZeroDialAndAcceptOverIpv6Loopback) {
  asio::ip::tcp::acceptor probe(io);
  std::error_code error;
  probe.open(asio::ip::tcp::v6(), error);
  if (!error) probe.bind({asio::ip::make_address("::1"), 0}, error);
  if (error) GTEST_SKIP() << "no IPv6 loopback here: " << error.message();
  probe.close();
  dial_and_accept("::1", "[::1]");
}

TEST_F(TcpTransportTest, APortNobodyListensOnIsRefused) {
  std::uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor taken(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = taken.local_endpoint().port();
  }
  TcpTransport client(io.get_executor(), clock);
  const DialTarget target{"", "127.0.0.1", closed_port};
  auto dialed = start(client.dial(target, 5s));
  ASSERT_TRUE(finish(dialed));
  ASSERT_FALSE(**dialed);
  EXPECT_EQ((*dialed)->failure().code, Code::connection_refused);
  EXPECT_EQ((*dialed)->failure().message,
            fmt::format("nobody is listening at 127.0.0.1:{} (connection refused); is the peer "
                        "running on that port?",
                        closed_port));
}

TEST_F(TcpTransportTest, APortInUseIsReportedAsSuch) {
  TcpTransport first(io.get_executor(), clock);
  const auto port = first.listen(0);
  ASSERT_TRUE(port);
  TcpTransport second(io.get_executor(), clock);
  const auto taken = second.listen(*port);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.failure().code, Code::port_in_use);
  EXPECT_EQ(taken.failure().message,
            fmt::format("port {} is already in use; pick another with --port", *port));
}

TEST_F(TcpTransportTest, StopListeningEndsAcceptWithShutdown) {
  TcpTransport server(io.get_executor(), clock);
  ASSERT_TRUE(server.listen(0));
  auto accepted = start(server.accept());
  io.poll();
  server.stop_listening();
  ASSERT_TRUE(finish(accepted));
  ASSERT_FALSE(**accepted);
  EXPECT_EQ((*accepted)->failure().code, Code::shutdown);
}

// A listener whose accept queue is full drops new SYNs, so the dial hangs on loopback, and the
// deadline on the fake clock is what ends it.
TEST(TcpTransportDeadlineTest, ADialNobodyAnswersTimesOutOnTheClock) {
  FakeClock clock;
  asio::io_context io;
  asio::ip::tcp::acceptor full(io, {asio::ip::make_address("127.0.0.1"), 0});
  full.listen(0);  // room for one connection nobody accepts
  asio::ip::tcp::socket queued(io);
  queued.connect(full.local_endpoint());

  TcpTransport client(io.get_executor(), clock);
  const DialTarget target{"", "127.0.0.1", full.local_endpoint().port()};
  std::optional<Outcome<StreamSocket>> dialed;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { dialed.emplace(co_await client.dial(target, 10s)); },
      asio::detached);
  // Real time passes; the fake deadline does not.
  for (int round = 0; round < 20 && !dialed; ++round) io.run_for(1ms);
  if (dialed && *dialed) GTEST_SKIP() << "this kernel accepted beyond the listen backlog";
  ASSERT_FALSE(dialed.has_value()) << dialed->failure().message;
  clock.advance(10s);
  for (int round = 0; round < 1000 && !dialed; ++round) io.run_for(1ms);
  ASSERT_TRUE(dialed.has_value());
  ASSERT_FALSE(*dialed);
  EXPECT_EQ(dialed->failure().code, Code::timeout);
  EXPECT_EQ(dialed->failure().message,
            fmt::format("no answer from 127.0.0.1:{} within 10 s; check the address and that no "
                        "firewall is in the way",
                        full.local_endpoint().port()));
}

}  // namespace
}  // namespace peerchat::net
