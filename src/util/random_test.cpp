#include "util/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

namespace peerchat {
namespace {

using Id = std::array<std::uint8_t, 10>;

// SystemRandom serves small requests from a per-thread block of OpenSSL's output: no byte may
// be handed out twice, across refills or across threads.
std::vector<Id> draw_ids(std::size_t count) {
  SystemRandom random;
  std::vector<Id> ids(count);
  for (auto& id : ids) random.fill(id);
  return ids;
}

TEST(SystemRandom, SmallDrawsNeverRepeatAcrossBlocksOrThreads) {
  constexpr std::size_t kPerThread = 5'000;  // 50 KB each: a dozen refills of the block
  std::vector<Id> first;
  std::vector<Id> second;
  std::thread other([&] { second = draw_ids(kPerThread); });
  first = draw_ids(kPerThread);
  other.join();
  std::set<Id> seen(first.begin(), first.end());
  seen.insert(second.begin(), second.end());
  EXPECT_EQ(seen.size(), 2 * kPerThread);
}

TEST(SystemRandom, DrawsStraddlingABlockAndLargeDrawsAreFilled) {
  SystemRandom random;
  // 4093 + 7 crosses the 4096-byte block; a fill must not leave the tail of a request zero.
  std::vector<std::uint8_t> start(4093);
  random.fill(start);
  for (const std::size_t size : {7u, 256u, 10'000u}) {
    std::vector<std::uint8_t> bytes(size, 0);
    random.fill(bytes);
    // Seven zero bytes in a row at the end of a random fill: once in 2^56.
    const bool zero_tail = std::all_of(bytes.end() - 7, bytes.end(), [](auto b) { return b == 0; });
    EXPECT_FALSE(zero_tail) << size;
  }
}

}  // namespace
}  // namespace peerchat
