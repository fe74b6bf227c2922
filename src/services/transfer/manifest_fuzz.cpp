// Fuzz target: the manifest decoder, on what a hostile sender offers. A decoded manifest is
// encoded again and must give back exactly the bytes it came from (the encoding is the one its
// hash names, so two encodings of one manifest would let a sender swap a file under a hash).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "services/transfer/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto manifest = peerchat::transfer::decode(bytes);
  if (!manifest) return 0;
  const auto again = peerchat::transfer::encode(*manifest);
  if (again.size() != size || !std::equal(again.begin(), again.end(), bytes.begin())) std::abort();
  return 0;
}
