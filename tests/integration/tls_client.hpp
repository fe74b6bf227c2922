// A scripted peer for hostile tests: a real TLS 1.3 identity that completes the handshake and
// then sends whatever bytes the test wants, to check that the victim drops it cleanly.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "tls/identity.hpp"
#include "wire/bytes.hpp"
#include "wire/messages.hpp"

namespace peerchat::testing {

class TlsClient {
 public:
  // Connects to 127.0.0.1:port with the identity in `dir` (created if missing), offering
  // `alpn`. handshake_ok() says whether TLS completed.
  TlsClient(int port, const std::filesystem::path& dir, const std::string& alpn = "peerchat/1");
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool handshake_ok() const { return ssl_ != nullptr; }
  const std::string& handshake_error() const { return error_; }
  std::string id() const { return identity_ ? identity_->id().to_string() : ""; }

  bool send(const wire::Bytes& bytes);
  bool send_hello(const std::string& name, std::uint16_t version = wire::kProtocolVersion);
  // Reads frames until a BYE arrives or the connection ends, within `timeout`.
  std::optional<wire::Bye> wait_for_bye(std::chrono::milliseconds timeout);
  // True if the victim closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  // Ends the TCP connection abruptly (RST) instead of with FIN.
  void reset();

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::optional<tls::Identity> identity_;
  std::string error_;
};

}  // namespace peerchat::testing
