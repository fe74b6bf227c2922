#include "tls/identity.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "tls/errors.hpp"

namespace peerchat::tls {
namespace {

namespace fs = std::filesystem;

constexpr long kValidityDays = 36500;  // identity is the key; dates are not checked by peers

Error corrupt(const fs::path& file, std::string_view detail) {
  return make_error(Errc::identity_corrupt,
                    fmt::format("identity file {} is unusable ({}); restore it from a backup, or "
                                "move the data dir aside to create a new identity (this changes "
                                "your peer ID and peers will see a new key)",
                                file.string(), detail));
}

Error write_failed(const fs::path& file, int error) {
  return make_error(Errc::identity_write_failed,
                    fmt::format("cannot write identity file {}: {}; check the data dir's "
                                "permissions and free space",
                                file.string(), std::strerror(error)));
}

EVP_PKEY* read_key(const fs::path& file) {
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) return nullptr;
  EVP_PKEY* key = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
  std::fclose(in);
  return key;
}

X509* read_certificate(const fs::path& file) {
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) return nullptr;
  X509* certificate = PEM_read_X509(in, nullptr, nullptr, nullptr);
  std::fclose(in);
  return certificate;
}

// Writes through a file created with mode `mode` from the start (never briefly readable by
// others), flushed to disk, then renamed over `file`.
template <class Write>
Result<void> write_file(const fs::path& file, mode_t mode, Write write) {
  const fs::path temporary = file.string() + ".tmp";
  ::unlink(temporary.c_str());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return write_failed(file, errno);
  std::FILE* out = ::fdopen(fd, "wb");
  if (out == nullptr) {
    const int error = errno;
    ::close(fd);
    return write_failed(file, error);
  }
  const bool written = write(out) == 1 && std::fflush(out) == 0 && ::fsync(fd) == 0;
  const int error = errno;
  std::fclose(out);
  if (!written || ::rename(temporary.c_str(), file.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return write_failed(file, written ? errno : error);
  }
  return {};
}

X509* make_certificate(EVP_PKEY* key) {
  X509* certificate = X509_new();
  if (certificate == nullptr) return nullptr;
  bool ok = X509_set_version(certificate, 2) == 1;
  // A random serial, as RFC 5280 asks; nothing relies on it.
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7F;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  ok = ok && serial != nullptr &&
       BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate)) != nullptr;
  BN_free(serial);
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(certificate), -24L * 3600) != nullptr;
  ok =
      ok && X509_time_adj_ex(X509_getm_notAfter(certificate), kValidityDays, 0, nullptr) != nullptr;
  X509_NAME* name = X509_get_subject_name(certificate);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>("peerchat"), -1, -1,
                                        0) == 1;
  ok = ok && X509_set_issuer_name(certificate, name) == 1;
  ok = ok && X509_set_pubkey(certificate, key) == 1;
  // Ed25519 signs the whole message itself: no separate digest.
  ok = ok && X509_sign(certificate, key, nullptr) > 0;
  if (!ok) {
    X509_free(certificate);
    return nullptr;
  }
  return certificate;
}

}  // namespace

Result<Identity> Identity::generate() {
  Identity identity;
  identity.key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!identity.key_) return make_error(Errc::identity_write_failed, "cannot generate a key");
  identity.certificate_.reset(make_certificate(identity.key_.get()));
  if (!identity.certificate_) {
    return make_error(Errc::identity_write_failed, "cannot create a certificate");
  }
  identity.id_ = PeerId::from_certificate(identity.certificate_.get());
  return identity;
}

Result<Identity> Identity::load_or_create(const fs::path& dir) {
  const fs::path key_file = dir / "identity.key";
  const fs::path certificate_file = dir / "identity.crt";
  Identity identity;

  std::error_code exists_error;
  if (fs::exists(key_file, exists_error)) {
    struct stat info {};
    if (::stat(key_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      // Someone loosened the permissions; the key must stay private.
      ::chmod(key_file.c_str(), 0600);
    }
    identity.key_.reset(read_key(key_file));
    if (!identity.key_) {
      if (::access(key_file.c_str(), R_OK) != 0) {
        return make_error(Errc::identity_unreadable,
                          fmt::format("cannot read identity file {}: {}; check its owner and "
                                      "permissions",
                                      key_file.string(), std::strerror(errno)));
      }
      return corrupt(key_file, "not a PEM private key");
    }
    if (EVP_PKEY_get_id(identity.key_.get()) != EVP_PKEY_ED25519) {
      return corrupt(key_file, "not an Ed25519 key");
    }
  } else {
    identity.key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!identity.key_) {
      return make_error(Errc::identity_write_failed, "cannot generate an Ed25519 key");
    }
    EVP_PKEY* key = identity.key_.get();
    if (auto written = write_file(key_file, 0600,
                                  [key](std::FILE* out) {
                                    return PEM_write_PrivateKey(out, key, nullptr, nullptr, 0,
                                                                nullptr, nullptr);
                                  });
        !written) {
      return written.error();
    }
  }

  identity.certificate_.reset(read_certificate(certificate_file));
  if (identity.certificate_ &&
      EVP_PKEY_eq(X509_get0_pubkey(identity.certificate_.get()), identity.key_.get()) != 1) {
    identity.certificate_.reset();  // belongs to another key: make a fresh one for ours
  }
  if (!identity.certificate_) {
    identity.certificate_.reset(make_certificate(identity.key_.get()));
    if (!identity.certificate_) {
      return make_error(Errc::identity_write_failed, "cannot create the identity certificate");
    }
    X509* certificate = identity.certificate_.get();
    if (auto written =
            write_file(certificate_file, 0644,
                       [certificate](std::FILE* out) { return PEM_write_X509(out, certificate); });
        !written) {
      return written.error();
    }
  }
  identity.id_ = PeerId::from_certificate(identity.certificate_.get());
  return identity;
}

}  // namespace peerchat::tls
