#include "util/random.hpp"

#include <openssl/rand.h>

#include <cstdlib>
#include <stdexcept>

namespace peerchat {

void SystemRandom::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  // RAND_bytes only fails when the OS entropy source is broken; nothing sane can continue.
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

void FakeRandom::fill(std::span<std::uint8_t> out) {
  for (auto& byte : out) {
    // splitmix64: good enough spread for distinct test IDs.
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    byte = static_cast<std::uint8_t>(z ^ (z >> 31));
  }
}

}  // namespace peerchat
