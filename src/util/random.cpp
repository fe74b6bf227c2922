#include "util/random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <cstdlib>
#include <stdexcept>

namespace peerchat {

namespace {

// RAND_bytes costs about a microsecond a call (locking, DRBG bookkeeping) whatever its size,
// which made it a tenth of a sender's time at one message ID per call. Small requests are
// served from a per-thread block of its output instead; every byte handed out is wiped from
// the block, so what stays in memory is only what nobody has been given yet.
constexpr std::size_t kBlock = 4096;
constexpr std::size_t kDirectFrom = 256;  // larger requests go straight to RAND_bytes

void draw(std::uint8_t* out, std::size_t size) {
  // RAND_bytes only fails when the OS entropy source is broken; nothing sane can continue.
  if (RAND_bytes(out, static_cast<int>(size)) != 1) std::abort();
}

struct Block {
  std::array<std::uint8_t, kBlock> bytes{};
  std::size_t used = kBlock;
  ~Block() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void SystemRandom::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (out.size() >= kDirectFrom) {
    draw(out.data(), out.size());
    return;
  }
  thread_local Block block;
  std::size_t done = 0;
  while (done < out.size()) {
    if (block.used == kBlock) {
      draw(block.bytes.data(), kBlock);
      block.used = 0;
    }
    const std::size_t take = std::min(out.size() - done, kBlock - block.used);
    std::memcpy(out.data() + done, block.bytes.data() + block.used, take);
    OPENSSL_cleanse(block.bytes.data() + block.used, take);
    block.used += take;
    done += take;
  }
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
