#include "tls/context.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <cstring>

#include "tls/errors.hpp"

namespace peerchat::tls {
namespace {

// Replaces chain building: a peer proves who it is by its key (the peer ID), so a self-signed
// Ed25519 certificate is all we accept. Dates and names are deliberately not checked.
int verify_peer_certificate(X509_STORE_CTX* store, void* /*unused*/) {
  X509* certificate = X509_STORE_CTX_get0_cert(store);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(store);
  const bool single = chain == nullptr || sk_X509_num(chain) <= 1;
  EVP_PKEY* key = certificate != nullptr ? X509_get0_pubkey(certificate) : nullptr;
  const bool ed25519 = key != nullptr && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
  if (single && ed25519 && X509_verify(certificate, key) == 1) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                const unsigned char* in, unsigned int in_length, void* /*unused*/) {
  // `in` is a list of length-prefixed protocol names.
  for (unsigned int i = 0; i < in_length;) {
    const unsigned int length = in[i];
    if (i + 1 + length > in_length) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), length) == kAlpn) {
      *out = in + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  // Another version (or not peerchat): fail with no_application_protocol so the dialer can
  // tell the user about a version mismatch.
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

std::string openssl_errors() {
  std::string text;
  for (unsigned long code; (code = ERR_get_error()) != 0;) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

}  // namespace

Result<void> configure_context(SSL_CTX* context, const Identity& identity, Role role) {
  bool ok = SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) == 1 &&
            SSL_CTX_use_certificate(context, identity.certificate()) == 1 &&
            SSL_CTX_use_PrivateKey(context, identity.key()) == 1 &&
            SSL_CTX_check_private_key(context) == 1 &&
            SSL_CTX_set1_sigalgs_list(context, "ed25519") == 1 &&
            SSL_CTX_set1_groups_list(context, "X25519:P-256") == 1;
  // Every connection is a full handshake: no tickets, no resumption, no 0-RTT.
  SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
  ok = ok && SSL_CTX_set_num_tickets(context, 0) == 1;
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  // Idle connections hand their record buffers back; thousands of peers stay affordable.
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
  ok = ok && SSL_CTX_set_max_early_data(context, 0) == 1;
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(context, verify_peer_certificate, nullptr);
  if (role == Role::client) {
    unsigned char protocols[1 + kAlpn.size()];
    protocols[0] = static_cast<unsigned char>(kAlpn.size());
    std::memcpy(protocols + 1, kAlpn.data(), kAlpn.size());
    ok = ok && SSL_CTX_set_alpn_protos(context, protocols, sizeof protocols) == 0;  // 0 is success
  } else {
    SSL_CTX_set_alpn_select_cb(context, select_alpn, nullptr);
  }
  if (!ok) {
    return make_error(Errc::handshake_failed,
                      fmt::format("cannot set up TLS: {}", openssl_errors()));
  }
  return {};
}

Result<PeerId> authenticated_peer(SSL* ssl) {
  if (SSL_version(ssl) != TLS1_3_VERSION) {
    return make_error(Errc::handshake_failed, "the connection is not TLS 1.3");
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  if (std::string_view(reinterpret_cast<const char*>(alpn), alpn == nullptr ? 0 : alpn_length) !=
      kAlpn) {
    return make_error(Errc::not_peerchat,
                      "the peer did not agree on the peerchat/1 protocol (ALPN); it is not a "
                      "peerchat peer, or speaks another version");
  }
  X509* certificate = SSL_get1_peer_certificate(ssl);
  if (certificate == nullptr) {
    return make_error(Errc::no_peer_certificate, "the peer presented no certificate");
  }
  PeerId id = PeerId::from_certificate(certificate);
  X509_free(certificate);
  if (id.is_zero()) {
    return make_error(Errc::bad_peer_certificate, "the peer's public key cannot be read");
  }
  return id;
}

std::string explain_handshake_failure(const std::error_code& error) {
  const std::string_view category = error.category().name();
  if (category == "asio.ssl") {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(error.value()));
    switch (reason) {
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
        return "the remote end did not speak TLS; is it a peerchat peer? check the port";
      case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
      case SSL_R_NO_APPLICATION_PROTOCOL:
        return fmt::format(
            "the peer speaks another peerchat protocol version (we speak {}); "
            "upgrade the older side",
            kAlpn);
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return "the peer does not support TLS 1.3; it is not a current peerchat peer";
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "the peer's certificate was rejected (peerchat needs one self-signed Ed25519 "
               "certificate)";
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "the peer rejected our certificate, or we sent none it accepts";
      case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        return "no common TLS settings with the peer (it needs TLS 1.3 with Ed25519); it is "
               "probably not a peerchat peer";
      default: {
        const char* text = ERR_reason_error_string(static_cast<unsigned long>(error.value()));
        return fmt::format("TLS handshake failed: {}", text != nullptr ? text : error.message());
      }
    }
  }
  if (category == "asio.ssl.stream" || category == "asio.misc") {
    return "the connection closed during the TLS handshake (the peer refused us, or it is not a "
           "peerchat peer)";
  }
  return fmt::format("TLS handshake failed: {}", error.message());
}

}  // namespace peerchat::tls
