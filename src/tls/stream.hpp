// tls: one TLS 1.3 connection over a non-blocking stream socket (TCP, or an in-process socket
// pair in tests), driven by coroutines.
//
// OpenSSL reads and writes the socket itself (a socket BIO); we only wait for readiness with
// async_wait. Compared with asio::ssl::stream this copies nothing between OpenSSL and the
// socket and keeps no buffers of its own: an idle connection holds only OpenSSL's state, since
// the context releases record buffers while they are empty (SSL_MODE_RELEASE_BUFFERS). That is
// what lets one node hold 10,000 idle peers cheaply.
//
// Errors come back as std::error_code in Asio's categories: OpenSSL errors in
// asio::error::get_ssl_category() (what tls::explain_handshake_failure reads), a clean TLS close
// as asio::error::eof, a connection cut without close_notify as asio::ssl::error::stream_truncated.
// One reader and one writer may be active at the same time (the session's reader and writer
// coroutines); both run on the socket's executor, never concurrently.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <system_error>
#include <tuple>

#include "net/asio_util.hpp"
#include "net/transport.hpp"
#include "tls/context.hpp"

namespace peerchat::tls {

class Stream {
 public:
  Stream(net::StreamSocket socket, SSL_CTX* context);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  net::StreamSocket& socket() { return socket_; }
  asio::any_io_executor get_executor() { return socket_.get_executor(); }
  SSL* native_handle() { return ssl_; }

  asio::awaitable<std::error_code> handshake(Role role);
  // At least one byte of plaintext, or an error (eof after the peer's close_notify).
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(std::span<std::uint8_t> into);
  asio::awaitable<std::error_code> write_all(std::span<const std::uint8_t> data);
  // Sends our close_notify; the peer's arrives as eof on read_some.
  asio::awaitable<std::error_code> shutdown();

  // Bytes already inside OpenSSL (decrypted or not) that a read_some would return without
  // touching the socket, or bytes waiting in the socket.
  bool input_waiting();
  void close();

 private:
  enum class Step { done, wait_read, wait_write, failed };
  // Classifies an OpenSSL call's result; fills `error` when it failed.
  Step classify(int result, std::error_code& error, bool reading);
  asio::awaitable<std::error_code> wait(Step step);
  template <class Call>
  asio::awaitable<std::error_code> drive(Call call, bool reading);

  net::StreamSocket socket_;
  SSL* ssl_ = nullptr;
};

}  // namespace peerchat::tls
