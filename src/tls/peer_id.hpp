// tls: peer IDs, the hash of a peer's public key: the only identity peerchat trusts.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/result.hpp"

struct x509_st;

namespace peerchat::tls {

// SHA-256 of the certificate's SubjectPublicKeyInfo (DER), shown as grouped base32.
class PeerId {
 public:
  static constexpr std::size_t kSize = 32;
  using Bytes = std::array<std::uint8_t, kSize>;

  PeerId() = default;
  explicit PeerId(const Bytes& bytes) : bytes_(bytes) {}

  static PeerId from_spki_der(std::span<const std::uint8_t> der);
  // `certificate` is an OpenSSL X509 (struct x509_st), named so that this header, which front
  // ends include through node events, needs no OpenSSL header.
  static PeerId from_certificate(x509_st* certificate);
  // Accepts grouped or compact form, any case; dashes and spaces are ignored.
  static Result<PeerId> parse(std::string_view text);

  std::string to_string() const;    // "ABCD-EFGH-...-WXYZ": 13 groups of 4
  std::string compact() const;      // 52 characters, no dashes
  std::string fingerprint() const;  // the first two groups: "ABCD-EFGH"
  // True if `prefix` (dashes ignored, any case, non-empty) starts the compact form.
  bool matches_prefix(std::string_view prefix) const;

  const Bytes& bytes() const { return bytes_; }
  bool is_zero() const { return bytes_ == Bytes{}; }
  auto operator<=>(const PeerId&) const = default;

 private:
  Bytes bytes_{};
};

struct PeerIdHash {
  std::size_t operator()(const PeerId& id) const {
    // The ID is a cryptographic hash: any 8 bytes of it are already uniformly spread.
    std::size_t value = 0;
    for (std::size_t i = 0; i < sizeof value; ++i) value = (value << 8) | id.bytes()[i];
    return value;
  }
};

}  // namespace peerchat::tls
