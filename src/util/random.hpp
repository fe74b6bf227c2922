// util: randomness as a dependency (message IDs, nonces, backoff jitter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace peerchat {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// Cryptographically strong bytes from OpenSSL's DRBG.
class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Deterministic bytes for tests (a counter mixed with a seed; not secure).
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(std::uint64_t seed = 1) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

}  // namespace peerchat
