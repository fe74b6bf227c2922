// net: the real network. TCP over IPv6 and IPv4 (one dual-stack socket where the system has
// IPv6), as the node has always listened and dialed.
#pragma once

#include "net/transport.hpp"

namespace peerchat::net {

// TCP_NODELAY is not set here: session::Connection sets it on every TCP socket it runs on,
// since it is the session's write pattern that wants it.
class TcpTransport final : public Transport {
 public:
  // `clock` times the dial deadline; it and the executor's context must outlive the transport,
  // which must outlive any accept() or dial() in progress.
  TcpTransport(asio::any_io_executor executor, const Clock& clock);
  ~TcpTransport() override;

  Outcome<std::uint16_t> listen(std::uint16_t port) override;
  asio::awaitable<Outcome<Accepted>> accept() override;
  void stop_listening() override;
  // Resolves first (not bounded by `timeout`: getaddrinfo cannot be interrupted), then
  // connects to each resolved address in turn within `timeout`.
  asio::awaitable<Outcome<StreamSocket>> dial(DialTarget target, Clock::Duration timeout) override;

 private:
  asio::any_io_executor executor_;
  const Clock& clock_;
  asio::ip::tcp::acceptor acceptor_;
};

}  // namespace peerchat::net
