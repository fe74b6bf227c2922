#include "net/tcp_transport.hpp"

#include <fmt/format.h>

#include <memory>

#include "net/failures.hpp"
#include "net/timer.hpp"

namespace peerchat::net {
namespace {

using asio::ip::tcp;

// The remote IP alone, IPv4 clients of the dual-stack socket in their familiar form: the key
// of the node's per-source limits.
std::string source_of(const tcp::endpoint& remote) {
  auto address = remote.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

}  // namespace

TcpTransport::TcpTransport(asio::any_io_executor executor, const Clock& clock)
    : executor_(executor), clock_(clock), acceptor_(executor) {}

TcpTransport::~TcpTransport() = default;

Outcome<std::uint16_t> TcpTransport::listen(std::uint16_t port) {
  if (acceptor_.is_open()) {
    return listen_failure(Code::listen_failed, port,
                          fmt::format("this transport already listens on port {}",
                                      acceptor_.local_endpoint().port()));
  }
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
    acceptor_.close(ignored);  // so that accept() says shutdown and listen() may be retried
    const Code code = ec == asio::error::address_in_use  ? Code::port_in_use
                      : ec == asio::error::access_denied ? Code::port_forbidden
                                                         : Code::listen_failed;
    return listen_failure(code, port, ec.message());
  }
  return acceptor_.local_endpoint().port();
}

void TcpTransport::stop_listening() {
  std::error_code ignored;
  acceptor_.close(ignored);  // a pending accept() ends with operation_aborted
}

asio::awaitable<Outcome<Accepted>> TcpTransport::accept() {
  if (!acceptor_.is_open()) co_return Failure{Code::shutdown, "not listening"};
  auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
    co_return Failure{Code::shutdown, "stopped listening"};
  }
  if (ec) {
    // Out of file descriptors (EMFILE/ENFILE) or similar: the caller pauses and tries again.
    co_return Failure{Code::listen_failed,
                      fmt::format("accepting a connection failed: {}", ec.message())};
  }
  std::error_code endpoint_error;
  const auto remote = socket.remote_endpoint(endpoint_error);
  // A peer that has already gone still gets accepted; its session fails at once.
  std::string source = endpoint_error ? "unknown" : source_of(remote);
  std::string address = endpoint_error ? source : to_string(remote);
  co_return Accepted{StreamSocket(std::move(socket)), std::move(source), std::move(address)};
}

asio::awaitable<Outcome<StreamSocket>> TcpTransport::dial(DialTarget target,
                                                          Clock::Duration timeout) {
  const std::string& host = target.host;
  const std::uint16_t port = target.port;
  const std::string address = target.address();

  tcp::resolver resolver(executor_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
  if (resolve_error) co_return resolve_failure(host, resolve_error.message());

  // Shared with the deadline's coroutine, which may resume after this one has returned.
  struct Attempt {
    Attempt(const asio::any_io_executor& executor, const Clock& clock)
        : socket(executor), deadline(executor, clock) {}
    tcp::socket socket;
    Timer deadline;
    bool timed_out = false;
  };
  auto attempt = std::make_shared<Attempt>(executor_, clock_);
  attempt->deadline.expires_after(timeout);
  asio::co_spawn(
      executor_,
      [attempt]() -> asio::awaitable<void> {
        if (co_await attempt->deadline.wait()) co_return;  // cancelled: the connect ended first
        attempt->timed_out = true;
        std::error_code ignored;
        attempt->socket.close(ignored);  // ends the connect, and async_connect tries no more
      },
      asio::detached);
  auto [connect_error, endpoint] =
      co_await asio::async_connect(attempt->socket, endpoints, use_nothrow);
  attempt->deadline.cancel();
  (void)endpoint;
  if (attempt->timed_out) co_return timeout_failure(address, timeout);
  if (connect_error == asio::error::connection_refused) co_return refused_failure(address);
  if (connect_error) co_return connect_failure(address, connect_error.message());
  co_return StreamSocket(std::move(attempt->socket));
}

}  // namespace peerchat::net
