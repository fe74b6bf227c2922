#include "tls/errors.hpp"

#include "util/error_category.hpp"

namespace peerchat::tls {
namespace {

const char* describe(Errc value) {
  switch (value) {
    case Errc::identity_unreadable:
      return "identity files cannot be read";
    case Errc::identity_corrupt:
      return "identity files are corrupt";
    case Errc::identity_write_failed:
      return "identity files cannot be written";
    case Errc::bad_peer_id:
      return "not a valid peer ID";
    case Errc::handshake_failed:
      return "TLS handshake failed";
    case Errc::no_peer_certificate:
      return "the peer presented no certificate";
    case Errc::bad_peer_certificate:
      return "the peer's certificate is not acceptable";
    case Errc::protocol_version_mismatch:
      return "the peer speaks another protocol version";
    case Errc::not_peerchat:
      return "the remote end is not a peerchat peer";
  }
  return "unknown TLS error";
}

}  // namespace

const std::error_category& error_category() {
  static const EnumCategory<Errc> category("peerchat.tls", describe);
  return category;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), error_category()};
}

}  // namespace peerchat::tls
