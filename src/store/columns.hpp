// store: reading fixed-size keys (peer IDs, message and transfer IDs) out of BLOB columns.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace peerchat::store {

// The first N bytes of a column's blob, zero-padded: the schema's CHECKs keep them exact.
template <std::size_t N>
std::array<std::uint8_t, N> to_array(const std::vector<std::uint8_t>& bytes) {
  std::array<std::uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), N), out.begin());
  return out;
}

}  // namespace peerchat::store
