#include "tls/stream.hpp"

#include <openssl/err.h>

#include <sys/socket.h>

#include <asio/ssl/error.hpp>
#include <cerrno>

namespace peerchat::tls {
namespace {

// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own uses write(), which raises SIGPIPE
// when the peer has gone, and a library must not depend on its host ignoring that signal.
int socket_of(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  const ssize_t sent = ::send(socket_of(bio), data, size, MSG_NOSIGNAL);
  if (sent >= 0) {
    *written = static_cast<std::size_t>(sent);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return 0;
}

int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  const ssize_t got = ::recv(socket_of(bio), data, size, 0);
  if (got > 0) {
    *read = static_cast<std::size_t>(got);
    return 1;
  }
  if (got == 0) {
    BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // lets OpenSSL tell a cut from a clean close
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_read(bio);
  }
  return 0;
}

long bio_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  // Built once, never freed: it lives as long as the process, like OpenSSL's own methods.
  static BIO_METHOD* method = [] {
    BIO_METHOD* built = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peerchat");
    BIO_meth_set_write_ex(built, bio_write);
    BIO_meth_set_read_ex(built, bio_read);
    BIO_meth_set_ctrl(built, bio_ctrl);
    BIO_meth_set_create(built, bio_create);
    return built;
  }();
  return method;
}

// Once the socket is closed its descriptor number may already belong to another connection,
// so OpenSSL must not be called on it again.
std::error_code closed_error() {
  return asio::error::operation_aborted;
}

}  // namespace

Stream::Stream(net::StreamSocket socket, SSL_CTX* context)
    : socket_(std::move(socket)), ssl_(SSL_new(context)) {
  std::error_code ignored;
  socket_.non_blocking(true, ignored);
  BIO* bio = ssl_ != nullptr ? BIO_new(socket_method()) : nullptr;
  if (bio == nullptr) {  // handshake() reports it
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns it now
  // Read whole socket buffers at once rather than a record header, then its body: half the
  // read syscalls. Writes may return after each record, from a buffer that may move.
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

Stream::~Stream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void Stream::close() {
  std::error_code ignored;
  socket_.shutdown(net::StreamSocket::shutdown_both, ignored);
  socket_.close(ignored);
}

bool Stream::input_waiting() {
  if (ssl_ != nullptr && SSL_has_pending(ssl_) == 1) return true;
  std::error_code error;
  return socket_.is_open() && socket_.available(error) > 0;
}

Stream::Step Stream::classify(int result, std::error_code& error, bool reading) {
  const int code = SSL_get_error(ssl_, result);
  switch (code) {
    case SSL_ERROR_NONE:
      return Step::done;
    case SSL_ERROR_WANT_READ:
      return Step::wait_read;
    case SSL_ERROR_WANT_WRITE:
      return Step::wait_write;
    case SSL_ERROR_ZERO_RETURN:
      error = asio::error::eof;  // the peer's close_notify
      return Step::failed;
    case SSL_ERROR_SYSCALL:
      if (const unsigned long queued = ERR_get_error(); queued != 0) {
        error = std::error_code(static_cast<int>(queued), asio::error::get_ssl_category());
      } else if (errno != 0 && errno != EAGAIN) {
        error = std::error_code(errno, std::system_category());
      } else {
        error = asio::ssl::error::stream_truncated;
      }
      return Step::failed;
    default: {
      const unsigned long queued = ERR_get_error();
      if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        error = asio::ssl::error::stream_truncated;
      } else if (queued == 0) {
        error = reading ? asio::ssl::error::stream_truncated
                        : std::error_code(asio::error::broken_pipe);
      } else {
        error = std::error_code(static_cast<int>(queued), asio::error::get_ssl_category());
      }
      return Step::failed;
    }
  }
}

asio::awaitable<std::error_code> Stream::wait(Step step) {
  const auto type =
      step == Step::wait_read ? net::StreamSocket::wait_read : net::StreamSocket::wait_write;
  auto [error] = co_await socket_.async_wait(type, net::use_nothrow);
  co_return error;
}

// Repeats one OpenSSL call until it succeeds or fails, waiting for the socket in between.
template <class Call>
asio::awaitable<std::error_code> Stream::drive(Call call, bool reading) {
  while (true) {
    if (!socket_.is_open()) co_return closed_error();
    ERR_clear_error();
    errno = 0;
    std::error_code error;
    const Step step = classify(call(), error, reading);
    if (step == Step::done) co_return std::error_code{};
    if (step == Step::failed) co_return error;
    if (auto waited = co_await wait(step)) co_return waited;
  }
}

asio::awaitable<std::error_code> Stream::handshake(Role role) {
  if (ssl_ == nullptr) co_return std::error_code(asio::error::no_memory);
  if (role == Role::client) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
  co_return co_await drive([this] { return SSL_do_handshake(ssl_); }, true);
}

asio::awaitable<std::tuple<std::error_code, std::size_t>> Stream::read_some(
    std::span<std::uint8_t> into) {
  std::size_t got = 0;
  auto read = [&] { return SSL_read_ex(ssl_, into.data(), into.size(), &got); };
  if (auto error = co_await drive(read, true)) co_return std::tuple{error, std::size_t{0}};
  // SSL_read returns one record at a time; take the rest of what is already buffered too, so
  // that bulk data costs one pass of the session's reader per socket read, not per record. A
  // failure here is left for the next call, which will meet it again.
  for (std::size_t more = 0; got < into.size() && SSL_has_pending(ssl_) == 1; got += more) {
    ERR_clear_error();
    if (SSL_read_ex(ssl_, into.data() + got, into.size() - got, &more) != 1) break;
  }
  co_return std::tuple{std::error_code{}, got};
}

asio::awaitable<std::error_code> Stream::write_all(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    std::size_t wrote = 0;
    auto write = [&] { return SSL_write_ex(ssl_, data.data(), data.size(), &wrote); };
    if (auto error = co_await drive(write, false)) co_return error;
    data = data.subspan(wrote);
  }
  co_return std::error_code{};
}

asio::awaitable<std::error_code> Stream::shutdown() {
  // Bounded: each pass either finishes or waits for the socket, and the session's watchdog
  // closes the socket after its grace period, which ends any wait. SSL_shutdown's 0 means
  // ours is sent; the peer's close_notify then comes as eof on read_some.
  co_return co_await drive([this] { return SSL_shutdown(ssl_) >= 0 ? 1 : -1; }, false);
}

}  // namespace peerchat::tls
