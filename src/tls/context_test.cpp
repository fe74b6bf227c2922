// Real TLS 1.3 handshakes between two identities, entirely in memory (a BIO pair).
#include "tls/context.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <memory>

namespace peerchat::tls {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using Ctx = std::unique_ptr<SSL_CTX, CtxFree>;
using Ssl = std::unique_ptr<SSL, SslFree>;

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "client");
    std::filesystem::create_directories(dir_ / "server");
    client_identity_.emplace(std::move(Identity::load_or_create(dir_ / "client").value()));
    server_identity_.emplace(std::move(Identity::load_or_create(dir_ / "server").value()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Ctx make(const Identity& identity, Role role) {
    Ctx ctx(SSL_CTX_new(TLS_method()));
    auto configured = configure_context(ctx.get(), identity, role);
    EXPECT_TRUE(configured.ok()) << (configured.ok() ? "" : configured.error().message);
    return ctx;
  }

  // Runs the handshake to completion or failure; true when both sides finished.
  bool handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
    client_.reset(SSL_new(client_ctx));
    server_.reset(SSL_new(server_ctx));
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client_.get(), client_bio, client_bio);
    SSL_set_bio(server_.get(), server_bio, server_bio);
    SSL_set_connect_state(client_.get());
    SSL_set_accept_state(server_.get());
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
      if (!client_done) {
        const int r = SSL_do_handshake(client_.get());
        if (r == 1)
          client_done = true;
        else if (SSL_get_error(client_.get(), r) != SSL_ERROR_WANT_READ)
          return false;
      }
      if (!server_done) {
        const int r = SSL_do_handshake(server_.get());
        if (r == 1)
          server_done = true;
        else if (SSL_get_error(server_.get(), r) != SSL_ERROR_WANT_READ)
          return false;
      }
    }
    // TLS 1.3: the client may finish before the server has seen its certificate; one read
    // lets the server's verdict reach the client.
    char byte;
    SSL_read(client_.get(), &byte, 0);
    return client_done && server_done;
  }

  std::filesystem::path dir_;
  std::optional<Identity> client_identity_;
  std::optional<Identity> server_identity_;
  Ssl client_;
  Ssl server_;
};

TEST_F(TlsContextTest, MutualHandshakeAuthenticatesBothPeerIds) {
  auto client_ctx = make(*client_identity_, Role::client);
  auto server_ctx = make(*server_identity_, Role::server);
  ASSERT_TRUE(handshake(client_ctx.get(), server_ctx.get()));
  EXPECT_EQ(SSL_version(client_.get()), TLS1_3_VERSION);
  auto seen_by_client = authenticated_peer(client_.get());
  auto seen_by_server = authenticated_peer(server_.get());
  ASSERT_TRUE(seen_by_client.ok()) << seen_by_client.error().message;
  ASSERT_TRUE(seen_by_server.ok()) << seen_by_server.error().message;
  EXPECT_EQ(*seen_by_client, server_identity_->id());
  EXPECT_EQ(*seen_by_server, client_identity_->id());
  EXPECT_EQ(SSL_session_reused(client_.get()), 0);
}

TEST_F(TlsContextTest, AnotherProtocolVersionFailsWithAClearExplanation) {
  auto client_ctx = make(*client_identity_, Role::client);
  const unsigned char v2[] = "\x0apeerchat/2";
  SSL_CTX_set_alpn_protos(client_ctx.get(), v2, sizeof v2 - 1);
  auto server_ctx = make(*server_identity_, Role::server);
  ERR_clear_error();
  EXPECT_FALSE(handshake(client_ctx.get(), server_ctx.get()));
  const unsigned long error = ERR_peek_last_error();
  const std::error_code code(static_cast<int>(error), std::system_category());
  // Asio's category is what the connection hands over; emulate its name check directly.
  const int reason = ERR_GET_REASON(error);
  EXPECT_TRUE(reason == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL ||
              reason == SSL_R_NO_APPLICATION_PROTOCOL)
      << ERR_reason_error_string(error);
  (void)code;
}

TEST_F(TlsContextTest, ClientWithoutCertificateIsRejected) {
  Ctx client_ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_3_VERSION);
  const unsigned char v1[] = "\x0apeerchat/1";
  SSL_CTX_set_alpn_protos(client_ctx.get(), v1, sizeof v1 - 1);
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
  auto server_ctx = make(*server_identity_, Role::server);
  const bool completed = handshake(client_ctx.get(), server_ctx.get());
  EXPECT_FALSE(completed && authenticated_peer(server_.get()).ok());
}

TEST_F(TlsContextTest, Tls12ClientIsRejected) {
  auto client_ctx = make(*client_identity_, Role::client);
  SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION);
  auto server_ctx = make(*server_identity_, Role::server);
  EXPECT_FALSE(handshake(client_ctx.get(), server_ctx.get()));
}

TEST_F(TlsContextTest, NonEd25519CertificateIsRejected) {
  // A self-signed P-256 certificate: valid X.509, but not what peerchat accepts.
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  Ctx client_ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_3_VERSION);
  SSL_CTX_use_certificate(client_ctx.get(), cert);
  SSL_CTX_use_PrivateKey(client_ctx.get(), key);
  const unsigned char v1[] = "\x0apeerchat/1";
  SSL_CTX_set_alpn_protos(client_ctx.get(), v1, sizeof v1 - 1);
  SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
  auto server_ctx = make(*server_identity_, Role::server);
  const bool completed = handshake(client_ctx.get(), server_ctx.get());
  EXPECT_FALSE(completed && authenticated_peer(server_.get()).ok());
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST(TlsExplain, NonTlsBytesAreNamed) {
  class FakeSsl final : public std::error_category {
   public:
    const char* name() const noexcept override { return "asio.ssl"; }
    std::string message(int) const override { return "fake"; }
  } category;
  const auto packed = static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER));
  EXPECT_NE(explain_handshake_failure(std::error_code(packed, category)).find("did not speak TLS"),
            std::string::npos);
  const auto alpn =
      static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL));
  EXPECT_NE(explain_handshake_failure(std::error_code(alpn, category)).find("protocol version"),
            std::string::npos);
}

}  // namespace
}  // namespace peerchat::tls
