// tls: TLS 1.3 contexts for peerchat: mutual authentication with self-signed Ed25519
// certificates, identity by key hash (pinned by the node), ALPN naming the protocol version.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <system_error>

#include "tls/identity.hpp"
#include "tls/peer_id.hpp"
#include "util/result.hpp"

namespace peerchat::tls {

inline constexpr std::string_view kAlpn = "peerchat/1";

enum class Role { client, server };

Result<void> configure_context(SSL_CTX* context, const Identity& identity, Role role);

// After a completed handshake: the peer's ID, once TLS 1.3 and ALPN are confirmed.
Result<PeerId> authenticated_peer(SSL* ssl);

// A sentence a user can act on for a failed handshake (Asio hands over OpenSSL's error).
std::string explain_handshake_failure(const std::error_code& error);

}  // namespace peerchat::tls
