// bench: /history's query (the last 100 messages with one peer) in a store holding a million
// messages across many conversations. Baseline: the same query on a store with 1,000.
#include <fmt/format.h>

#include "bench.hpp"
#include "store/store.hpp"

namespace peerchat::bench {
namespace {

// Fills `store` with `total` incoming messages spread evenly over `peers` conversations,
// interleaved in batches as a busy peer would see them arrive.
void fill(store::Store& store, std::size_t total, std::size_t peers) {
  const std::string text(100, 'h');
  constexpr std::size_t kBatch = 500;
  const std::size_t per_peer = total / peers;
  std::size_t serial = 0;
  for (std::size_t first = 0; first < per_peer; first += kBatch) {
    for (std::size_t peer = 0; peer < peers; ++peer) {
      store::PeerKey key{};
      key[0] = static_cast<std::uint8_t>(peer);
      key[1] = static_cast<std::uint8_t>(peer >> 8);
      std::vector<store::IncomingMessage> batch;
      for (std::size_t seq = first + 1; seq <= std::min(per_peer, first + kBatch); ++seq) {
        store::IncomingMessage message;
        ++serial;
        for (std::size_t byte = 0; byte < 8; ++byte) {
          message.id[byte] = static_cast<std::uint8_t>(serial >> (8 * byte));
        }
        message.seq = seq;
        message.text = text;
        batch.push_back(std::move(message));
      }
      (void)store.store_incoming(key, batch, 0);
    }
  }
}

double last_100_micros(store::Store& store, int repeats) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    store::PeerKey key{};
    key[0] = static_cast<std::uint8_t>(i % 50);
    const auto start = std::chrono::steady_clock::now();
    auto history = store.history(key, 100);
    times.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    if (!history || history->size() != 100) fmt::print(stderr, "bench: short history\n");
  }
  return median(times);
}

}  // namespace

std::vector<Figure> run_history(const Options& options, const Baselines& /*baselines*/) {
  const std::size_t total = options.quick ? 50'000 : 1'000'000;
  TempDir dir;
  auto small = std::move(store::Store::open(dir.path() / "small.db").value());
  fill(*small, 5'000, 50);
  auto large = std::move(store::Store::open(dir.path() / "large.db").value());
  fill(*large, total, 200);
  const double small_us = last_100_micros(*small, 200);
  const double large_us = last_100_micros(*large, 200);
  return {
      {"history_last100_small_store", small_us, "us", "5,000 messages in 50 conversations"},
      {"history_last100_large_store", large_us, "us",
       fmt::format("{} messages in 200 conversations", total)},
      {"history_large_vs_small", large_us / small_us, "ratio", "index keeps this near 1"},
  };
}

}  // namespace peerchat::bench
