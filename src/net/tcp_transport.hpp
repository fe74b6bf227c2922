// net: the Transport peers use between machines: TCP, one dual-stack listening socket (IPv6
// with IPv4-mapped addresses, else IPv4 alone).
#pragma once

#include <optional>

#include "net/transport.hpp"

namespace peerchat::net {

class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::any_io_executor executor, const Clock& clock);

  Outcome<std::uint16_t> listen(std::uint16_t port) override;
  asio::awaitable<Outcome<Accepted>> accept() override;
  void stop_listening() override;
  asio::awaitable<Outcome<StreamSocket>> dial(const DialTarget& target,
                                              Clock::Duration timeout) override;

 private:
  asio::any_io_executor executor_;
  const Clock& clock_;
  asio::ip::tcp::acceptor acceptor_;
  bool listening_ = false;
};

}  // namespace peerchat::net
