#include "net/tcp_transport.hpp"

#include <fmt/format.h>

#include "net/timer.hpp"

namespace peerchat::net {
namespace {

using asio::ip::tcp;

std::string source_of(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

// Chat is latency-sensitive; the session's writer already coalesces frames into large writes.
StreamSocket to_stream(tcp::socket socket) {
  std::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  return StreamSocket(std::move(socket));
}

}  // namespace

TcpTransport::TcpTransport(asio::any_io_executor executor, const Clock& clock)
    : executor_(executor), clock_(clock), acceptor_(executor) {}

Outcome<std::uint16_t> TcpTransport::listen(std::uint16_t port) {
  std::error_code ec;
  // Prefer one dual-stack socket; fall back to IPv4 where IPv6 is disabled.
  acceptor_.open(tcp::v6(), ec);
  if (!ec) acceptor_.set_option(asio::ip::v6_only(false), ec);
  tcp::endpoint endpoint(tcp::v6(), port);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    acceptor_.open(tcp::v4(), ec);
    endpoint = tcp::endpoint(tcp::v4(), port);
  }
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    if (ec == asio::error::address_in_use) {
      return Failure{Code::port_in_use,
                     fmt::format("port {} is already in use; pick another with --port", port)};
    }
    if (ec == asio::error::access_denied) {
      return Failure{
          Code::port_forbidden,
          fmt::format("no permission to listen on port {}; use a port above 1023", port)};
    }
    return Failure{Code::listen_failed,
                   fmt::format("cannot listen on port {}: {}", port, ec.message())};
  }
  listening_ = true;
  return acceptor_.local_endpoint().port();
}

asio::awaitable<Outcome<Accepted>> TcpTransport::accept() {
  if (!listening_) co_return Failure{Code::shutdown, "not listening"};
  auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
  if (ec == asio::error::operation_aborted || !listening_) {
    co_return Failure{Code::shutdown, "stopped listening"};
  }
  if (ec) co_return Failure{Code::listen_failed, ec.message()};
  std::error_code endpoint_error;
  const auto remote = socket.remote_endpoint(endpoint_error);
  const std::string source = endpoint_error ? "unknown" : source_of(remote);
  std::string address = endpoint_error ? source : to_string(remote);
  co_return Accepted{to_stream(std::move(socket)), source, std::move(address)};
}

void TcpTransport::stop_listening() {
  listening_ = false;
  std::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<Outcome<StreamSocket>> TcpTransport::dial(const DialTarget& target,
                                                          Clock::Duration timeout) {
  const std::string address = target.address();
  tcp::resolver resolver(executor_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(target.host, std::to_string(target.port), use_nothrow);
  if (resolve_error) {
    co_return Failure{Code::resolve_failed, fmt::format("cannot resolve host '{}': {}; check the "
                                                        "name",
                                                        target.host, resolve_error.message())};
  }
  tcp::socket socket(executor_);
  // The deadline closes the socket, which ends the connect with an error.
  auto deadline = std::make_shared<Timer>(executor_, clock_);
  auto timed_out = std::make_shared<bool>(false);
  auto connected = std::make_shared<bool>(false);  // `socket` may be gone once this is set
  deadline->expires_after(timeout);
  asio::co_spawn(
      executor_,
      [deadline, timed_out, connected, &socket]() -> asio::awaitable<void> {
        if (auto error = co_await deadline->wait(); error || *connected) co_return;
        *timed_out = true;
        std::error_code ignored;
        socket.close(ignored);
      },
      asio::detached);
  auto [connect_error, endpoint] = co_await asio::async_connect(socket, endpoints, use_nothrow);
  (void)endpoint;
  *connected = true;
  const bool expired = *timed_out;
  deadline->cancel();
  if (connect_error) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
    if (expired) {
      co_return Failure{Code::timeout, fmt::format("no answer from {} within {} s; check the "
                                                   "address and that no firewall is in the way",
                                                   address, seconds)};
    }
    if (connect_error == asio::error::connection_refused) {
      co_return Failure{Code::connection_refused,
                        fmt::format("nobody is listening at {} (connection refused); is the peer "
                                    "running on that port?",
                                    address)};
    }
    co_return Failure{Code::connect_failed,
                      fmt::format("cannot connect to {}: {}", address, connect_error.message())};
  }
  co_return to_stream(std::move(socket));
}

}  // namespace peerchat::net
