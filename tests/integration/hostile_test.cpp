// Bad input on the port: garbage, idle half-open sockets. The peer keeps serving honest peers.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

TEST(IntegrationHostile, GarbageAndIdleSocketsLeaveThePeerServing) {
  constexpr std::size_t kIdle = 50;
  constexpr std::size_t kPerAddressCap = 16;  // NodeConfig::max_unauthenticated_per_address
  TempDir root;
  Peer alice("alice", root, {"--handshake-timeout", "2"});
  // Attackers come from another loopback address, so the per-address cap on unauthenticated
  // connections applies to them and not to the honest peer on 127.0.0.1.
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (std::size_t i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<RawSocket>(alice.port(), "127.0.0.2"));
    ASSERT_TRUE(idle.back()->connected()) << "idle socket " << i;
  }
  RawSocket garbage_open(alice.port(), "127.0.0.3");
  ASSERT_TRUE(garbage_open.connected());
  ASSERT_TRUE(garbage_open.send(std::string(4096, '\xAB')));
  {
    RawSocket garbage_closed(alice.port(), "127.0.0.3");
    ASSERT_TRUE(garbage_closed.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  // Four bytes are less than a TLS record header, so nothing can judge them before the
  // handshake deadline: this one goes with the idle sockets.
  RawSocket huge_length(alice.port(), "127.0.0.3");
  ASSERT_TRUE(huge_length.send(std::string("\xFF\xFF\xFF\xFF", 4)));

  // Garbage is dropped at once, and the idle sockets beyond the cap as they are accepted:
  // while the idle sockets within the cap (opened first, so their deadline comes first) are
  // all still open, which shows both happened before the handshake deadline.
  EXPECT_TRUE(garbage_open.closed_by_peer(5s));
  EXPECT_EQ(RawSocket::count_closed_by_peer(idle, kIdle - kPerAddressCap, 5s),
            kIdle - kPerAddressCap);

  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(alice.wait_event("connected"));
  alice.command("/msg bob despite the noise");
  auto message = bob.wait_event("message");
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["text"], "despite the noise");
  bob.command("and back");
  ASSERT_TRUE(alice.wait_event("message"));

  // The idle sockets within the cap go at the handshake deadline (2 s here).
  EXPECT_EQ(RawSocket::count_closed_by_peer(idle, kIdle, 6s), kIdle);
  EXPECT_TRUE(huge_length.closed_by_peer(5s));
  EXPECT_FALSE(alice.process().wait_exit(0ms).has_value());  // still running
  expect_bounded_memory(alice, "garbage and idle sockets");

  // And still serving afterwards.
  Peer carol("carol", root, {"--connect", alice.address()});
  ASSERT_TRUE(carol.wait_event("connected"));
}

}  // namespace
}  // namespace peerchat::testing

namespace peerchat::testing {
namespace {

// A listener that accepts TCP (the kernel does, from its backlog) but never speaks TLS.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 8);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(IntegrationHostile, DialingSomethingThatNeverAnswersTimesOut) {
  TempDir root;
  Peer alice("alice", root, {"--handshake-timeout", "1"});
  SilentListener silent;
  alice.command("/connect 127.0.0.1:" + std::to_string(silent.port()));
  auto error = alice.wait_event("error", 5s);
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "timeout");
  EXPECT_NE((*error)["message"].get<std::string>().find("127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace peerchat::testing
