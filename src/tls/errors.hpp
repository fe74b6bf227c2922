// tls: typed errors of the identity and TLS layer.
#pragma once

#include <system_error>

namespace peerchat::tls {

enum class Errc {
  identity_unreadable = 1,
  identity_corrupt,
  identity_write_failed,
  bad_peer_id,
  handshake_failed,
  no_peer_certificate,
  bad_peer_certificate,
  protocol_version_mismatch,
  not_peerchat,
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace peerchat::tls

template <>
struct std::is_error_code_enum<peerchat::tls::Errc> : std::true_type {};
