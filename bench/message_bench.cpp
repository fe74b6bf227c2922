// bench: message throughput A->B through TLS, credit and ACK-after-commit, with both stores on
// disk (durable: synchronous=FULL, WAL) and with both stores in memory (the same code path,
// nothing reaches the disk). The ratio shows what durability costs.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <thread>

#include "bench.hpp"
#include "node/node.hpp"
#include "store/store.hpp"
#include "tls/context.hpp"
#include "tls/identity.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace peerchat::bench {
namespace {

// Counts what a node reports; read from other threads in the two-thread latency bench.
class CountingSink final : public node::EventSink {
 public:
  void emit(const node::Event& event) override {
    if (std::holds_alternative<node::event::Delivered>(event)) {
      ++delivered;
      if (on_delivered) on_delivered();
    }
    if (std::holds_alternative<node::event::Message>(event)) ++received;
    if (std::holds_alternative<node::event::Connected>(event)) connected = true;
    if (const auto* problem = std::get_if<node::event::Problem>(&event)) {
      if (!problem->warning) fmt::print(stderr, "bench: {}\n", problem->message);
    }
  }
  std::atomic<std::size_t> delivered{0};
  std::atomic<std::size_t> received{0};
  std::atomic<bool> connected{false};
  std::function<void()> on_delivered;  // runs on the node's thread
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

// /msg-to-delivered round trips with one message in flight; microseconds per message. Each
// node runs on its own thread, as two peers would (and as the TCP ping-pong baseline does).
std::vector<double> latency(bool durable, int rounds) {
  TempDir dir;
  asio::io_context alice_io;
  asio::io_context bob_io;
  BenchPeer alice(alice_io, "alice", dir.path() / "alice", durable, 10);
  BenchPeer bob(bob_io, "bob", dir.path() / "bob", durable, 10);
  auto alice_work = asio::make_work_guard(alice_io);
  auto bob_work = asio::make_work_guard(bob_io);
  std::thread alice_thread([&] { alice_io.run(); });
  std::thread bob_thread([&] { bob_io.run(); });
  const std::string address = "127.0.0.1:" + std::to_string(alice.node->port());
  asio::post(bob_io, [&] { bob.node->connect(address); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(alice.sink.connected && bob.sink.connected) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Rounds chain on bob's thread: each `delivered` sends the next message.
  std::vector<double> samples;
  const std::string text(100, 'l');
  std::promise<void> finished;
  auto start = std::chrono::steady_clock::now();
  bob.sink.on_delivered = [&] {
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    if (static_cast<int>(samples.size()) == rounds) return finished.set_value();
    start = std::chrono::steady_clock::now();
    bob.node->send_message("alice", text);
  };
  if (alice.sink.connected && bob.sink.connected) {
    asio::post(bob_io, [&] {
      start = std::chrono::steady_clock::now();
      bob.node->send_message("alice", text);
    });
    if (finished.get_future().wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
      fmt::print(stderr, "bench: latency rounds did not finish\n");
    }
  }
  asio::post(bob_io, [&] { bob.sink.on_delivered = nullptr; });
  alice_work.reset();
  bob_work.reset();
  alice_io.stop();
  bob_io.stop();
  alice_thread.join();
  bob_thread.join();
  return samples;
}

// New authenticated sessions (TCP + TLS + HELLO both ways) per second against one node that
// runs on its own thread, dialed one after another by a plain OpenSSL client.
double handshake_rate(int count) {
  TempDir dir;
  asio::io_context io;
  BenchPeer node(io, "node", dir.path() / "node", false, 10);
  const int port = node.node->port();
  auto guard = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  std::filesystem::create_directories(dir.path() / "client");
  auto identity = std::move(tls::Identity::load_or_create(dir.path() / "client").value());
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  (void)tls::configure_context(ctx, identity, tls::Role::client);
  wire::Bytes hello;
  wire::encode(hello, wire::Hello{wire::kProtocolVersion, 0, 0, "client"});
  int completed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, hello.data(), static_cast<int>(hello.size())) > 0) {
      // The node's HELLO (and CREDIT) arrive once it accepted ours.
      wire::FrameDecoder decoder;
      bool got_hello = false;
      for (int reads = 0; reads < 10 && !got_hello; ++reads) {
        auto room = decoder.prepare(4096);
        const int got = SSL_read(ssl, room.data(), static_cast<int>(room.size()));
        if (got <= 0) break;
        decoder.commit(static_cast<std::size_t>(got));
        for (auto frame = decoder.next(); frame && frame.value(); frame = decoder.next()) {
          if ((*frame)->type == static_cast<std::uint8_t>(wire::FrameType::hello)) got_hello = true;
        }
      }
      if (got_hello) ++completed;
    }
    SSL_free(ssl);
    ::close(fd);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SSL_CTX_free(ctx);
  guard.reset();
  asio::post(io, [&] { io.stop(); });
  loop.join();
  return completed / seconds;
}

}  // namespace

std::vector<Figure> run_messages(const Options& options, const Baselines& baselines) {
  const std::size_t count = options.quick ? 2'000 : 50'000;
  std::vector<double> durable;
  std::vector<double> memory;
  std::vector<double> p50;
  std::vector<double> p99;
  std::vector<double> memory_p50;
  std::vector<double> handshakes;
  auto wanted = [&](std::string_view part) { return options.part.empty() || options.part == part; };
  for (int run = 0; run < options.runs; ++run) {
    if (wanted("memory")) memory.push_back(throughput(false, count));
    if (wanted("durable")) durable.push_back(throughput(true, count));
    if (wanted("latency")) {
      auto samples = latency(true, options.quick ? 100 : 2'000);
      p50.push_back(percentile(samples, 0.5));
      p99.push_back(percentile(samples, 0.99));
    }
    if (wanted("latency") || wanted("memory-latency")) {
      memory_p50.push_back(percentile(latency(false, options.quick ? 100 : 2'000), 0.5));
    }
    if (wanted("handshake")) handshakes.push_back(handshake_rate(options.quick ? 30 : 500));
  }
  const double durable_rate = median(durable);
  const double memory_rate = median(memory);
  const double latency_p50 = median(p50);
  const double handshake = median(handshakes);
  return {
      {"message_throughput_memory_store", memory_rate, "msg/s",
       fmt::format("{} x 100 B A->B, TLS, credit, ACKs; both nodes in one thread", count)},
      {"message_throughput_vs_tls", memory_rate / baselines.tls_batched_msgs, "ratio",
       "vs baseline_tls_batched; target >= 0.40"},
      {"message_throughput_durable_store", durable_rate, "msg/s",
       "SQLite WAL, synchronous=FULL, ACK after commit"},
      {"durable_vs_memory", durable_rate / memory_rate, "ratio", "target >= 0.5 (within 2x)"},
      {"latency_p50", latency_p50, "us", "/msg to delivered, one in flight, durable stores"},
      {"latency_p99", median(p99), "us", ""},
      {"latency_p50_vs_tcp", latency_p50 / baselines.tcp_rtt_p50_us, "ratio",
       "vs baseline_tcp_rtt_p50; target <= 3"},
      {"latency_p50_vs_durable_floor",
       latency_p50 / (baselines.tcp_rtt_p50_us + 2 * baselines.fsync_p50_us), "ratio",
       "vs TCP RTT + 2 syncs (sender's outbox, receiver's store: neither can be skipped)"},
      {"latency_p50_memory_store", median(memory_p50), "us",
       "the same with both stores in memory (no disk syncs)"},
      {"latency_p50_memory_vs_tcp", median(memory_p50) / baselines.tcp_rtt_p50_us, "ratio", ""},
      {"handshake_rate", handshake, "1/s", "TCP + TLS + HELLO against one node"},
      {"handshake_rate_vs_tls", handshake / baselines.tls_handshakes, "ratio",
       "vs baseline_tls_handshakes; target >= 0.60"},
  };
}

}  // namespace peerchat::bench
