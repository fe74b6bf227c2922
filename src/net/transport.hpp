// net: how a node reaches other peers and is reached. The node sees only byte-stream sockets
// and typed failures, so the same node code runs over TCP (net/tcp_transport.hpp) and over an
// in-process network for deterministic multi-peer tests (net/memory_transport.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "net/address.hpp"
#include "net/asio_util.hpp"
#include "util/clock.hpp"
#include "util/outcome.hpp"

namespace peerchat::net {

// TCP sockets and in-process socket pairs alike; tls::Stream runs on top.
using StreamSocket = asio::generic::stream_protocol::socket;

// An IPv4 or IPv6 stream socket: the only kind that TCP options (TCP_NODELAY) apply to.
bool is_tcp(const StreamSocket& socket);

struct Accepted {
  StreamSocket socket;
  std::string source;   // the remote host alone (IP, no port): the unit of per-source caps
  std::string address;  // the remote end as HOST:PORT, [brackets] around IPv6
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Starts listening on `port` (0: any free one) and returns the port bound. Failure codes:
  // port_in_use, port_forbidden, listen_failed; messages name the port and the next step.
  virtual Outcome<std::uint16_t> listen(std::uint16_t port) = 0;
  // The next inbound connection. Code::shutdown once stop_listening() has run (or if listen()
  // never did); Code::listen_failed for a transient accept error (e.g. out of file
  // descriptors), after which the caller pauses briefly and accepts again.
  virtual asio::awaitable<Outcome<Accepted>> accept() = 0;
  virtual void stop_listening() = 0;

  // Resolves `target` and connects within `timeout`, measured on the transport's clock.
  // `target` is taken by value: a coroutine outlives the caller's arguments.
  // Failure codes: resolve_failed, timeout, connection_refused, connect_failed.
  virtual asio::awaitable<Outcome<StreamSocket>> dial(DialTarget target,
                                                      Clock::Duration timeout) = 0;
};

}  // namespace peerchat::net
