#include "tls/peer_id.hpp"

#include <openssl/sha.h>

#include <cctype>

#include "tls/errors.hpp"

namespace peerchat::tls {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kEncodedSize = 52;  // ceil(256 / 5)
constexpr std::size_t kGroup = 4;

int decode_char(char c) {
  const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper >= 'A' && upper <= 'Z') return upper - 'A';
  if (upper >= '2' && upper <= '7') return upper - '2' + 26;
  return -1;
}

std::string normalise(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    clean.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return clean;
}

}  // namespace

PeerId PeerId::from_spki_der(std::span<const std::uint8_t> der) {
  Bytes digest{};
  SHA256(der.data(), der.size(), digest.data());
  return PeerId(digest);
}

PeerId PeerId::from_certificate(X509* certificate) {
  unsigned char* der = nullptr;
  const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &der);
  if (length <= 0) return PeerId{};
  PeerId id = from_spki_der({der, static_cast<std::size_t>(length)});
  OPENSSL_free(der);
  return id;
}

std::string PeerId::compact() const {
  std::string out;
  out.reserve(kEncodedSize);
  unsigned buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : bytes_) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

std::string PeerId::to_string() const {
  const std::string plain = compact();
  std::string grouped;
  for (std::size_t i = 0; i < plain.size(); i += kGroup) {
    if (i > 0) grouped.push_back('-');
    grouped.append(plain, i, kGroup);
  }
  return grouped;
}

std::string PeerId::fingerprint() const {
  return to_string().substr(0, 2 * kGroup + 1);
}

bool PeerId::matches_prefix(std::string_view prefix) const {
  const std::string clean = normalise(prefix);
  if (clean.empty()) return false;
  return compact().starts_with(clean);
}

Result<PeerId> PeerId::parse(std::string_view text) {
  const std::string clean = normalise(text);
  auto bad = [&](std::string_view why) {
    return make_error(Errc::bad_peer_id,
                      std::string("'") + std::string(text) + "' is not a peer ID (" +
                          std::string(why) +
                          "); a peer ID is 52 characters A-Z and 2-7, usually grouped as "
                          "ABCD-EFGH-...; `peerchat id` prints yours");
  };
  if (clean.size() != kEncodedSize) return bad("wrong length");
  Bytes bytes{};
  unsigned buffer = 0;
  int bits = 0;
  std::size_t out = 0;
  for (char c : clean) {
    const int value = decode_char(c);
    if (value < 0) return bad("invalid character");
    buffer = (buffer << 5) | static_cast<unsigned>(value);
    bits += 5;
    if (bits >= 8) {
      bytes[out++] = static_cast<std::uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  // 52 characters carry 260 bits; the 4 left over must be zero for the encoding to be unique.
  if ((buffer & ((1u << bits) - 1)) != 0) return bad("not a canonical encoding");
  return PeerId(bytes);
}

}  // namespace peerchat::tls
