// tls: this peer's identity: an Ed25519 key and a self-signed certificate in the data dir.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>

#include "tls/peer_id.hpp"
#include "util/result.hpp"

namespace peerchat::tls {

class Identity {
 public:
  // Loads dir/identity.key (PKCS#8 PEM, mode 0600) and dir/identity.crt, creating either when
  // missing. The key is the identity; the certificate is re-made from it when absent or stale.
  static Result<Identity> load_or_create(const std::filesystem::path& dir);
  // A fresh identity kept only in memory (benchmarks and tests that need many peers).
  static Result<Identity> generate();

  const PeerId& id() const { return id_; }
  EVP_PKEY* key() const { return key_.get(); }
  X509* certificate() const { return certificate_.get(); }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  };
  struct CertificateFree {
    void operator()(X509* certificate) const { X509_free(certificate); }
  };

  std::unique_ptr<EVP_PKEY, KeyFree> key_;
  std::unique_ptr<X509, CertificateFree> certificate_;
  PeerId id_;
};

}  // namespace peerchat::tls
