// bench: shared pieces of peerchat-bench: figures, timing, temp dirs.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace peerchat::bench {

struct Figure {
  std::string name;
  double value = 0;
  std::string unit;
  std::string note;
};

struct Options {
  bool quick = false;
  int runs = 5;
  std::string peerchat_binary;  // for start-up and idle figures; skipped when empty
  int idle_peers = 10'000;
  std::size_t cli_messages = 0;  // per sender in the CLI part; 0: its default
  bool baselines = true;
  bool tox = false;  // also run the Tox comparison (part `tox`)
  std::string part;  // one figure group of a part (e.g. chat, bulk, memory); empty: all
};

// The machine's limits, measured in the same run (baseline_bench.cpp).
struct Baselines {
  double tcp_rtt_p50_us = 0;
  double tcp_rtt_p99_us = 0;
  double tcp_batched_msgs = 0;
  double tls_bulk_bytes = 0;
  double tls_batched_msgs = 0;
  double tls_handshakes = 0;
  double fsync_p50_us = 0;  // the floor of one durable commit
};
Baselines measure_baselines(const Options& options);
std::vector<Figure> baseline_figures(const Baselines& baselines);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

double median(std::vector<double> values);
double percentile(std::vector<double> values, double p);  // p in [0, 1]

// A `peerchat --json --name bench --port 0 --data-dir DIR` child; stdout is `out`.
struct Child {
  int pid = -1;
  int out = -1;
};
Child spawn_peerchat(const std::string& binary, const std::filesystem::path& data_dir);

// Message throughput A->B (in-memory and durable stores), latency, handshake rate.
std::vector<Figure> run_messages(const Options& options, const Baselines& baselines);
// One session on two threads: chat throughput and latency, bulk stream, chat under load.
std::vector<Figure> run_session(const Options& options, const Baselines& baselines);
// Opening the last 100 messages of a conversation in a large store.
std::vector<Figure> run_history(const Options& options, const Baselines& baselines);
// The message store's write path (incoming, outgoing) against raw SQLite's durable row rate
// (store_bench.cpp).
std::vector<Figure> run_store(const Options& options, const Baselines& baselines);
// Many idle authenticated peers on one node: RSS per connection.
std::vector<Figure> run_idle(const Options& options, const Baselines& baselines);
// CLI to CLI: /msg lines into senders' stdin to message events on the receiver's stdout, one
// sender and four senders into one receiver (cli_bench.cpp).
std::vector<Figure> run_cli(const Options& options, const Baselines& baselines);
// File transfer (issue 11): the sender's manifest against sha256sum; with --peerchat, two real
// processes moving one large file, many small ones (against cp -r), with chat meanwhile, and
// after a kill -9 of the sender (transfer_bench.cpp, transfer_run.cpp).
std::vector<Figure> run_transfer(const Options& options, const Baselines& baselines);
// Process start to `ready` with an existing identity.
std::vector<Figure> run_startup(const Options& options, const Baselines& baselines);
// Tox (c-toxcore) on loopback: friend connection time, a burst of messages (best of the runs)
// and one file transfer (tox_bench.cpp, built only when toxcore is found: PEERCHAT_HAVE_TOX).
std::vector<Figure> run_tox(const Options& options, const Baselines& baselines);
// Ratios of figures of different parts, when both were measured: peerchat to Tox, and file
// transfer to the session's stream and to Tox's file transfer.
void add_tox_comparisons(std::vector<Figure>& figures);

}  // namespace peerchat::bench
