// bench: message throughput A->B through TLS, credit and ACK-after-commit, with both stores on
// disk (durable: synchronous=FULL, WAL) and with both stores in memory (the same code path,
// nothing reaches the disk). The ratio shows what durability costs.
#include <fmt/format.h>

#include "bench.hpp"
#include "node/node.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"

namespace peerchat::bench {
namespace {

class CountingSink final : public node::EventSink {
 public:
  void emit(const node::Event& event) override {
    if (std::holds_alternative<node::event::Delivered>(event)) ++delivered;
    if (std::holds_alternative<node::event::Message>(event)) ++received;
    if (std::holds_alternative<node::event::Connected>(event)) connected = true;
    if (const auto* problem = std::get_if<node::event::Problem>(&event)) {
      if (!problem->warning) fmt::print(stderr, "bench: {}\n", problem->message);
    }
  }
  std::size_t delivered = 0;
  std::size_t received = 0;
  bool connected = false;
};

struct BenchPeer {
  BenchPeer(asio::io_context& io, const std::string& name, const std::filesystem::path& dir,
            bool durable, std::size_t queue) {
    std::filesystem::create_directories(dir);
    identity.emplace(std::move(tls::Identity::load_or_create(dir).value()));
    store = std::move(store::Store::open(durable ? dir / "peerchat.db" : ":memory:").value());
    node::NodeConfig config;
    config.name = name;
    config.port = 0;
    config.redial = false;
    config.max_queue_per_peer = queue;
    node = std::make_unique<node::Node>(io, config, *identity, *store, clock, random, sink);
    (void)node->listen();
  }
  SystemClock clock;
  SystemRandom random;
  CountingSink sink;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<node::Node> node;
};

// Messages per second for `count` 100-byte messages, sender keeping its queue full.
double throughput(bool durable, std::size_t count) {
  TempDir dir;
  asio::io_context io;
  BenchPeer alice(io, "alice", dir.path() / "alice", durable, count + 1);
  BenchPeer bob(io, "bob", dir.path() / "bob", durable, count + 1);
  bob.node->connect("127.0.0.1:" + std::to_string(alice.node->port()));
  for (int i = 0; i < 1000 && !(alice.sink.connected && bob.sink.connected); ++i) {
    io.run_for(std::chrono::milliseconds(5));
  }
  const std::string text(100, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < count; ++i) bob.node->send_message("alice", text);
  const auto give_up = start + std::chrono::seconds(120);
  while (bob.sink.delivered < count && std::chrono::steady_clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(5));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (bob.sink.delivered < count)
    fmt::print(stderr, "bench: only {} delivered\n", bob.sink.delivered);
  return static_cast<double>(bob.sink.delivered) / seconds;
}

}  // namespace

std::vector<Figure> run_durable(const Options& options) {
  const std::size_t count = options.quick ? 2'000 : 50'000;
  std::vector<double> durable;
  std::vector<double> memory;
  for (int run = 0; run < options.runs; ++run) {
    memory.push_back(throughput(false, count));
    durable.push_back(throughput(true, count));
  }
  const double durable_rate = median(durable);
  const double memory_rate = median(memory);
  return {
      {"messages_in_memory_store", memory_rate, "msg/s",
       fmt::format("{} x 100 B, one process, median of {}", count, options.runs)},
      {"messages_durable_store", durable_rate, "msg/s",
       "SQLite WAL, synchronous=FULL, ACK after commit"},
      {"durable_vs_memory", durable_rate / memory_rate, "ratio", "target >= 0.5 (within 2x)"},
  };
}

}  // namespace peerchat::bench
