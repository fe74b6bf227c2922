// bench: the message store's write path on a durable store (WAL, synchronous=FULL), against
// the ceiling of SQLite itself on the same connection settings: minimal rows inserted in
// batched durable transactions. The ratios say how much of that ceiling a message costs.
#include <fmt/format.h>

#include "bench.hpp"
#include "store/sqlite.hpp"
#include "store/store.hpp"

namespace peerchat::bench {
namespace {

// The node's batch sizes: one read batch on the receiver, one burst of commands on the sender.
constexpr std::size_t kBatch = 1000;
constexpr std::size_t kPeers = 4;  // conversations the batches rotate over

using Clock = std::chrono::steady_clock;

double per_second(std::size_t rows, Clock::time_point start) {
  return static_cast<double>(rows) / std::chrono::duration<double>(Clock::now() - start).count();
}

store::PeerKey peer_key(std::size_t index) {
  store::PeerKey key{};
  key.fill(0xA5);
  key[0] = static_cast<std::uint8_t>(index);
  return key;
}

// Time first, like the node's IDs (messaging.cpp), so the ID index is appended to.
store::MessageKey message_key(std::uint64_t serial) {
  store::MessageKey id{};
  for (std::size_t byte = 0; byte < 8; ++byte) {
    id[byte] = static_cast<std::uint8_t>(serial >> (56 - 8 * byte));
  }
  return id;
}

// Raw SQLite: `rows` two-column rows in durable transactions of kBatch.
double sqlite_ceiling(const std::filesystem::path& file, std::size_t rows) {
  auto db = store::Database::open(file.string());
  if (!db || !store::configure_connection(*db, file.string())) return 0;
  if (!db->exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)", "bench")) {
    return 0;
  }
  auto insert = db->prepare("INSERT INTO rows (value) VALUES (?1)");
  if (!insert) return 0;
  const auto start = Clock::now();
  for (std::size_t first = 0; first < rows; first += kBatch) {
    auto transaction = store::Transaction::begin(*db);
    if (!transaction) return 0;
    for (std::size_t row = first; row < std::min(rows, first + kBatch); ++row) {
      insert->bind(1, static_cast<std::int64_t>(row));
      if (!insert->run("bench insert")) return 0;
    }
    if (!transaction->commit()) return 0;
  }
  return per_second(rows, start);
}

double incoming(store::Store& store, std::size_t rows) {
  const std::string text(100, 'x');
  std::vector<std::uint64_t> last_seq(kPeers, 0);
  std::uint64_t serial = 0;
  const auto start = Clock::now();
  for (std::size_t first = 0, turn = 0; first < rows; first += kBatch, ++turn) {
    const std::size_t peer = turn % kPeers;
    std::vector<store::IncomingMessage> batch;
    for (std::size_t row = first; row < std::min(rows, first + kBatch); ++row) {
      batch.push_back(store::IncomingMessage{message_key(++serial), ++last_seq[peer], 0, text});
    }
    auto fresh = store.store_incoming(peer_key(peer), batch, 0);
    if (!fresh) {
      fmt::print(stderr, "bench: {}\n", fresh.error().message);
      return 0;
    }
  }
  return per_second(rows, start);
}

// Queued in one commit each, delivered by cumulative ACKs that lag half a batch behind (the
// sender queues more while the receiver is still storing), as the sender's node sees it.
double outgoing(store::Store& store, std::size_t rows) {
  const std::string text(100, 'x');
  std::uint64_t serial = 0;
  std::vector<std::uint64_t> last_seq(kPeers, 0);
  const auto deliver = [&](std::size_t peer, std::uint64_t up_to) {
    auto delivered = store.mark_delivered(peer_key(peer), up_to);
    if (!delivered) fmt::print(stderr, "bench: {}\n", delivered.error().message);
    return delivered.ok();
  };
  const auto start = Clock::now();
  for (std::size_t first = 0, turn = 0; first < rows; first += kBatch, ++turn) {
    const std::size_t peer = turn % kPeers;
    std::vector<store::OutgoingDraft> drafts;
    for (std::size_t row = first; row < std::min(rows, first + kBatch); ++row) {
      drafts.push_back(store::OutgoingDraft{peer_key(peer), message_key(++serial), 0, text});
    }
    auto queued = store.queue_outgoing(drafts, 0);
    if (!queued) {
      fmt::print(stderr, "bench: {}\n", queued.error().message);
      return 0;
    }
    last_seq[peer] = queued->back().seq;
    if (!deliver(peer, last_seq[peer] - drafts.size() / 2)) return 0;
  }
  for (std::size_t peer = 0; peer < kPeers; ++peer) {
    if (!deliver(peer, last_seq[peer])) return 0;
  }
  return per_second(rows, start);
}

}  // namespace

std::vector<Figure> run_store(const Options& options, const Baselines& /*baselines*/) {
  const std::size_t rows = options.quick ? 20'000 : 200'000;
  std::vector<double> ceiling;
  std::vector<double> in;
  std::vector<double> out;
  for (int run = 0; run < options.runs; ++run) {
    TempDir dir;
    ceiling.push_back(sqlite_ceiling(dir.path() / "ceiling.db", rows));
    auto opened = store::Store::open(dir.path() / "peerchat.db");
    if (!opened) {
      fmt::print(stderr, "bench: {}\n", opened.error().message);
      return {};
    }
    in.push_back(incoming(**opened, rows));
    out.push_back(outgoing(**opened, rows));
  }
  const double ceiling_rate = median(ceiling);
  const double in_rate = median(in);
  const double out_rate = median(out);
  const auto ratio = [&](double rate) { return ceiling_rate > 0 ? rate / ceiling_rate : 0; };
  return {
      {"sqlite_row_ceiling", ceiling_rate, "rows/s",
       fmt::format("2-column rows, durable transactions of {}, the store's settings", kBatch)},
      {"store_incoming_rows_per_s", in_rate, "rows/s",
       fmt::format("store_incoming, batches of {} 100-byte messages over {} authors", kBatch,
                   kPeers)},
      {"store_outgoing_rows_per_s", out_rate, "rows/s",
       fmt::format("queue_outgoing in batches of {}, mark_delivered half a batch behind", kBatch)},
      {"store_incoming_vs_ceiling", ratio(in_rate), "ratio", "of sqlite_row_ceiling"},
      {"store_outgoing_vs_ceiling", ratio(out_rate), "ratio", "of sqlite_row_ceiling"},
  };
}

}  // namespace peerchat::bench
