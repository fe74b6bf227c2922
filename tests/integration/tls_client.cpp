#include "tls_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "harness.hpp"
#include "tls/context.hpp"
#include "wire/frame.hpp"

namespace peerchat::testing {

TlsClient::TlsClient(int port, const std::filesystem::path& dir, const std::string& alpn) {
  std::filesystem::create_directories(dir);
  auto identity = tls::Identity::load_or_create(dir);
  if (!identity) {
    error_ = identity.error().message;
    return;
  }
  identity_.emplace(std::move(identity.value()));
  ctx_ = SSL_CTX_new(TLS_method());
  if (auto configured = tls::configure_context(ctx_, *identity_, tls::Role::client); !configured) {
    error_ = configured.error().message;
    return;
  }
  std::string wire_alpn(1, static_cast<char>(alpn.size()));
  wire_alpn += alpn;
  SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire_alpn.data()),
                          static_cast<unsigned>(wire_alpn.size()));

  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    error_ = std::strerror(errno);
    return;
  }
  timeval timeout{5, 0};  // bounds every blocking read and write below
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd_);
  if (SSL_connect(ssl) != 1) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    error_ = text;
    SSL_free(ssl);
    return;
  }
  ssl_ = ssl;
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

bool TlsClient::send(const wire::Bytes& bytes) {
  if (ssl_ == nullptr) return false;
  return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
         static_cast<int>(bytes.size());
}

bool TlsClient::send_hello(const std::string& name, std::uint16_t version) {
  wire::Bytes hello;
  wire::encode(hello, wire::Hello{version, 0, 0, name});
  return send(hello);
}

std::optional<wire::Bye> TlsClient::wait_for_bye(std::chrono::milliseconds timeout) {
  if (ssl_ == nullptr) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  wire::FrameDecoder decoder;
  while (Clock::now() < deadline) {
    if (SSL_pending(ssl_) == 0) {
      pollfd fd{fd_, POLLIN, 0};
      if (::poll(&fd, 1, remaining_ms(deadline)) <= 0) return std::nullopt;
    }
    auto room = decoder.prepare(16384);
    const int got = SSL_read(ssl_, room.data(), static_cast<int>(room.size()));
    if (got <= 0) return std::nullopt;
    decoder.commit(static_cast<std::size_t>(got));
    for (int guard = 0; guard < 1000; ++guard) {
      auto frame = decoder.next();
      if (!frame || !frame.value()) break;
      if ((*frame)->type == static_cast<std::uint8_t>(wire::FrameType::bye)) {
        auto bye = wire::decode_bye((*frame)->payload);
        if (bye) return bye.value();
      }
    }
  }
  return std::nullopt;
}

void TlsClient::reset() {
  if (fd_ < 0) return;
  linger abort{1, 0};  // close() then sends RST
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  ::close(fd_);
  fd_ = -1;
}

bool TlsClient::closed_by_peer(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;  // never connected (or reset by us): the victim closed nothing
  const auto deadline = Clock::now() + timeout;
  char chunk[4096];
  while (Clock::now() < deadline) {
    pollfd fd{fd_, POLLIN, 0};
    if (::poll(&fd, 1, remaining_ms(deadline)) <= 0) return false;
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return true;
  }
  return false;
}

}  // namespace peerchat::testing
