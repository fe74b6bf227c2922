// net: an in-process network for tests, after toxcore's simulated network and wireguard-go's
// conn/bindtest. Several nodes in one process and one io_context dial each other by host name;
// every connection is a real pair of non-blocking sockets (so tls::Stream runs on it unchanged)
// with a relay in between that a test can stall, resume or cut, and unreachable hosts time
// out on the injected clock, so with a FakeClock every scenario runs in milliseconds.
//
//   FakeClock clock;  // declared before the io_context, which outlives every timer on it
//   asio::io_context io;
//   net::MemoryNetwork network(io.get_executor(), clock);
//   auto alice = network.transport("10.0.0.1");
//   auto bob = network.transport("10.0.0.2");
//   alice->listen(7000);                               // or 0: a free port
//   co_await bob->dial({"", "10.0.0.1", 7000}, 10s);  // alice's accept() has the other end,
//                                                      // from "10.0.0.2:40001"
//   network.links_between("10.0.0.1", "10.0.0.2")[0]->stall();  // dead peer; resume(), cut()
//   network.set_reachable("10.0.0.1", false);         // dials time out when the clock passes
//   net::advance_and_run(io, clock, 2min);             // (net/timer.hpp)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/transport.hpp"

namespace peerchat::net {

// One connection of the network: two socket pairs with a relay between their inner ends.
// Held by its relay while it is open, so a test may keep or drop its handle freely.
class MemoryLink : public std::enable_shared_from_this<MemoryLink> {
 public:
  struct Ends {
    std::string dialer_host, dialer_address, listener_host, listener_address;
  };
  // Made by MemoryNetwork: `dialer_side` and `listener_side` are the relay's own ends.
  MemoryLink(StreamSocket dialer_side, StreamSocket listener_side, Ends ends);

  const std::string& dialer_address() const { return ends_.dialer_address; }  // "10.0.0.2:40001"
  const std::string& listener_address() const { return ends_.listener_address; }
  const std::string& dialer_host() const { return ends_.dialer_host; }
  const std::string& listener_host() const { return ends_.listener_host; }

  // Bytes stop flowing both ways while the sockets stay open, as on a path that has started
  // dropping every packet: keepalive and dead-peer detection are what notice. What the relay
  // has already read is held, and delivered in order on resume().
  void stall();
  void resume();
  // Both ends see the connection drop (eof, or a reset if they had unread data in flight),
  // and their writes fail from then on.
  void cut();
  bool stalled() const { return stalled_; }
  bool open() const { return open_; }
  // Bytes the relay has delivered, dialer to listener and back.
  std::uint64_t bytes_to_listener() const { return relayed_[0]; }
  std::uint64_t bytes_to_dialer() const { return relayed_[1]; }

  void start();  // by the network, once the link is held by a shared_ptr

 private:
  asio::awaitable<void> relay(int direction);
  void relay_done();

  StreamSocket sides_[2];  // [0] towards the dialer, [1] towards the listener
  // An event, not a deadline: never expires; cancelled to wake the relays on resume and cut.
  asio::steady_timer gate_;
  Ends ends_;
  std::uint64_t relayed_[2] = {0, 0};
  int relays_running_ = 0;
  bool stalled_ = false;
  bool open_ = true;
};

// Hosts, their listening ports and the links between them. Copies of its state are held by
// the transports and dials in progress, so the network, its transports and the test's link
// handles may be destroyed in any order; only the clock and the io_context must outlive them.
class MemoryNetwork {
 public:
  MemoryNetwork(asio::any_io_executor executor, const Clock& clock);
  ~MemoryNetwork();  // cuts every link still open
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;

  // A transport of its own for `host` (created if new), owned by the caller. Any name will
  // do ("10.0.0.1", "alice"); a DialTarget's host must match it literally (no DNS). Several
  // transports of one host share its ports.
  std::unique_ptr<Transport> transport(const std::string& host);
  // A dial to an unreachable host gets no answer: it fails with Code::timeout once its
  // timeout has passed on the clock. Links already open are not affected (see stall()).
  // A dial to a host never named at all fails at once with Code::resolve_failed, like an
  // unknown DNS name; to a known host's port nobody listens on, with connection_refused.
  void set_reachable(const std::string& host, bool reachable);

  // The links still open, oldest first: all of them, or those between two hosts (dialed
  // either way).
  std::vector<std::shared_ptr<MemoryLink>> links() const;
  std::vector<std::shared_ptr<MemoryLink>> links_between(std::string_view host_a,
                                                         std::string_view host_b) const;
  // Each applies to every link open between the two hosts; the number of links affected.
  std::size_t stall(std::string_view host_a, std::string_view host_b);
  std::size_t resume(std::string_view host_a, std::string_view host_b);
  std::size_t cut(std::string_view host_a, std::string_view host_b);

  struct State;  // opaque: named here only for the transports in memory_transport.cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace peerchat::net
