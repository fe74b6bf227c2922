// bench: the message store's write path on a durable store (WAL, synchronous=FULL), against
// the ceiling of SQLite itself on the same connection settings: minimal rows inserted in
// batched durable transactions. The ratios say how much of that ceiling a message costs.
#include <fmt/format.h>

#include <ctime>

#include "bench.hpp"
#include "store/sqlite.hpp"
#include "store/store.hpp"

namespace peerchat::bench {
namespace {

// The node's batch sizes: one read batch on the receiver, one burst of commands on the sender.
constexpr std::size_t kBatch = 1000;
constexpr std::size_t kPeers = 4;  // conversations the batches rotate over

using Clock = std::chrono::steady_clock;

// Wall rate, and CPU time per row: the second moves much less when other work shares the
// disk (each commit waits for an fsync).
struct Rate {
  double rows_per_s = 0;
  double cpu_us_per_row = 0;
};

class Timer {
 public:
  Rate stop(std::size_t rows) const {
    const double wall = std::chrono::duration<double>(Clock::now() - wall_start_).count();
    const double cpu = static_cast<double>(std::clock() - cpu_start_) / CLOCKS_PER_SEC;
    const auto count = static_cast<double>(rows);
    return Rate{count / wall, 1e6 * cpu / count};
  }

 private:
  Clock::time_point wall_start_ = Clock::now();
  std::clock_t cpu_start_ = std::clock();
};

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
Rate sqlite_ceiling(const std::filesystem::path& file, std::size_t rows) {
  auto db = store::Database::open(file.string());
  if (!db || !store::configure_connection(*db, file.string())) return {};
  if (!db->exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)", "bench")) {
    return {};
  }
  auto insert = db->prepare("INSERT INTO rows (value) VALUES (?1)");
  if (!insert) return {};
  const Timer timer;
  for (std::size_t first = 0; first < rows; first += kBatch) {
    auto transaction = store::Transaction::begin(*db);
    if (!transaction) return {};
    for (std::size_t row = first; row < std::min(rows, first + kBatch); ++row) {
      insert->bind(1, static_cast<std::int64_t>(row));
      if (!insert->run("bench insert")) return {};
    }
    if (!transaction->commit()) return {};
  }
  return timer.stop(rows);
}

Rate incoming(store::Store& store, std::size_t rows) {
  const std::string text(100, 'x');
  std::vector<std::uint64_t> last_seq(kPeers, 0);
  std::uint64_t serial = 0;
  const Timer timer;
  for (std::size_t first = 0, turn = 0; first < rows; first += kBatch, ++turn) {
    const std::size_t peer = turn % kPeers;
    std::vector<store::IncomingMessage> batch;
    for (std::size_t row = first; row < std::min(rows, first + kBatch); ++row) {
      batch.push_back(store::IncomingMessage{message_key(++serial), ++last_seq[peer], 0, text});
    }
    auto fresh = store.store_incoming(peer_key(peer), batch, 0);
    if (!fresh) {
      fmt::print(stderr, "bench: {}\n", fresh.error().message);
      return {};
    }
  }
  return timer.stop(rows);
}

// Queued in one commit each, delivered by cumulative ACKs that lag half a batch behind (the
// sender queues more while the receiver is still storing), as the sender's node sees it.
Rate outgoing(store::Store& store, std::size_t rows) {
  const std::string text(100, 'x');
  std::uint64_t serial = 0;
  std::vector<std::uint64_t> last_seq(kPeers, 0);
  const auto deliver = [&](std::size_t peer, std::uint64_t up_to) {
    auto delivered = store.mark_delivered(peer_key(peer), up_to);
    if (!delivered) fmt::print(stderr, "bench: {}\n", delivered.error().message);
    return delivered.ok();
  };
  const Timer timer;
  for (std::size_t first = 0, turn = 0; first < rows; first += kBatch, ++turn) {
    const std::size_t peer = turn % kPeers;
    std::vector<store::OutgoingDraft> drafts;
    for (std::size_t row = first; row < std::min(rows, first + kBatch); ++row) {
      drafts.push_back(store::OutgoingDraft{peer_key(peer), message_key(++serial), 0, text});
    }
    auto queued = store.queue_outgoing(drafts, 0);
    if (!queued) {
      fmt::print(stderr, "bench: {}\n", queued.error().message);
      return {};
    }
    last_seq[peer] = queued->back().seq;
    if (!deliver(peer, last_seq[peer] - drafts.size() / 2)) return {};
  }
  for (std::size_t peer = 0; peer < kPeers; ++peer) {
    if (!deliver(peer, last_seq[peer])) return {};
  }
  return timer.stop(rows);
}

}  // namespace

std::vector<Figure> run_store(const Options& options, const Baselines& /*baselines*/) {
  const std::size_t rows = options.quick ? 20'000 : 200'000;
  std::vector<Rate> ceiling;
  std::vector<Rate> in;
  std::vector<Rate> out;
  std::vector<double> in_ratio;
  std::vector<double> out_ratio;
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
    // Per run, so that a slow spell of the disk moves both sides of a ratio together.
    const double ceiling_rate = ceiling.back().rows_per_s;
    in_ratio.push_back(ceiling_rate > 0 ? in.back().rows_per_s / ceiling_rate : 0);
    out_ratio.push_back(ceiling_rate > 0 ? out.back().rows_per_s / ceiling_rate : 0);
  }
  const auto rate = [](const std::vector<Rate>& rates) {
    std::vector<double> values;
    for (const auto& one : rates) values.push_back(one.rows_per_s);
    return median(values);
  };
  const auto cpu = [](const std::vector<Rate>& rates) {
    std::vector<double> values;
    for (const auto& one : rates) values.push_back(one.cpu_us_per_row);
    return median(values);
  };
  return {
      {"sqlite_row_ceiling", rate(ceiling), "rows/s",
       fmt::format("2-column rows, durable transactions of {}, the store's settings", kBatch)},
      {"store_incoming_rows_per_s", rate(in), "rows/s",
       fmt::format("store_incoming, batches of {} 100-byte messages over {} authors", kBatch,
                   kPeers)},
      {"store_outgoing_rows_per_s", rate(out), "rows/s",
       fmt::format("queue_outgoing in batches of {}, mark_delivered half a batch behind", kBatch)},
      {"store_incoming_vs_ceiling", median(in_ratio), "ratio", "of sqlite_row_ceiling, per run"},
      {"store_outgoing_vs_ceiling", median(out_ratio), "ratio", "of sqlite_row_ceiling, per run"},
      {"sqlite_row_ceiling_cpu", cpu(ceiling), "us/row", "CPU time"},
      {"store_incoming_cpu", cpu(in), "us/row", "CPU time"},
      {"store_outgoing_cpu", cpu(out), "us/row", "CPU time"},
  };
}

}  // namespace peerchat::bench
