// bench: one peerchat session between two ends, each on its own thread and io_context, over
// TLS on loopback: the transport itself, without the node's store and events. Figures:
// chat throughput with the window kept full (every message ACKed), one-in-flight chat latency,
// bulk stream throughput, and chat latency while a bulk stream runs on the same session.
#include <fmt/format.h>

#include <atomic>
#include <functional>
#include <future>
#include <thread>

#include "bench.hpp"
#include "net/asio_util.hpp"
#include "session/connection.hpp"
#include "tls/context.hpp"
#include "tls/identity.hpp"

namespace peerchat::bench {
namespace {

using Steady = std::chrono::steady_clock;
using session::Connection;

// One end of the session. Every hook runs on this end's I/O thread.
class End final : public session::ConnectionObserver {
 public:
  explicit End(tls::Role role) : role_(role) {
    identity_.emplace(std::move(tls::Identity::generate().value()));
    context_ = SSL_CTX_new(TLS_method());
    (void)tls::configure_context(context_, *identity_, role);
  }
  ~End() override { SSL_CTX_free(context_); }

  void start(asio::ip::tcp::socket socket) {
    session::ProtocolConfig config;
    config.name = role_ == tls::Role::client ? "sender" : "receiver";
    config.offer_streams = true;
    connection = std::make_shared<Connection>(
        1, std::move(socket), context_,
        role_ == tls::Role::client ? session::Direction::outbound : session::Direction::inbound,
        "127.0.0.1", config, clock_, random_, *this);
    connection->start();
  }

  std::optional<session::Rejection> on_authenticated(Connection&) override { return {}; }
  void on_open(Connection&) override {
    if (opened) opened();
  }
  void on_chats(Connection& connection_, session::InboundBatch&& batch) override {
    connection_.acknowledge(batch);
  }
  void on_ack(Connection&, std::uint64_t seq) override {
    if (acked) acked(seq);
  }
  void on_credit(Connection&) override {
    if (credited) credited();
  }
  void on_closed(Connection&, const session::CloseReason& reason) override {
    if (reason.code != Code::local_quit && reason.code != Code::quit && !stopping) {
      fmt::print(stderr, "bench: session closed: {} ({})\n", reason.message, name(reason.code));
    }
  }
  void on_stream_data(Connection& connection_, std::uint32_t,
                      std::span<const std::uint8_t> data) override {
    stream_bytes += data.size();
    connection_.consume_stream(data.size());
  }
  void on_stream_end(Connection&, const wire::StreamEnd&) override {
    if (stream_ended) stream_ended();
  }
  void on_stream_writable(Connection&) override {
    if (writable) writable();
  }

  std::shared_ptr<Connection> connection;
  std::function<void()> opened;
  std::function<void(std::uint64_t)> acked;
  std::function<void()> credited;
  std::function<void()> writable;
  std::function<void()> stream_ended;
  std::atomic<std::size_t> stream_bytes{0};  // read by the sender thread
  std::atomic<bool> stopping{false};         // set by the main thread before the ends are cut

 private:
  tls::Role role_;
  std::optional<tls::Identity> identity_;
  SSL_CTX* context_ = nullptr;
  SystemClock clock_;
  SystemRandom random_;
};

// Two ends, each with its own io_context and thread; `scenario` runs on the sender's thread
// once both sides are open and must eventually set the promise.
class Pair {
 public:
  Pair() : sender_(tls::Role::client), receiver_(tls::Role::server) {}

  // Returns what the scenario reports, or -1 when it did not finish within `limit`.
  double run(const std::function<void(End& sender, std::promise<double>& done)>& scenario,
             std::chrono::seconds limit) {
    std::promise<double> done;
    auto result = done.get_future();
    asio::ip::tcp::acceptor acceptor(receiver_io_, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket dialed(sender_io_);
    dialed.connect(acceptor.local_endpoint());
    auto accepted = acceptor.accept();
    std::atomic<int> open{0};
    auto both_open = [&] {
      if (++open == 2) asio::post(sender_io_, [&] { scenario(sender_, done); });
    };
    sender_.opened = both_open;
    receiver_.opened = both_open;
    asio::post(receiver_io_, [&] { receiver_.start(std::move(accepted)); });
    asio::post(sender_io_, [&] { sender_.start(std::move(dialed)); });
    auto sender_work = asio::make_work_guard(sender_io_);
    auto receiver_work = asio::make_work_guard(receiver_io_);
    std::thread sender_thread([&] { sender_io_.run(); });
    std::thread receiver_thread([&] { receiver_io_.run(); });
    const double value = result.wait_for(limit) == std::future_status::ready ? result.get() : -1;
    sender_.stopping = true;
    receiver_.stopping = true;
    for (auto* side : {&sender_, &receiver_}) {
      auto& io = side == &sender_ ? sender_io_ : receiver_io_;
      asio::post(io, [side] { side->connection->abort({Code::quit, "benchmark over", false}); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sender_io_.stop();
    receiver_io_.stop();
    sender_thread.join();
    receiver_thread.join();
    sender_.connection.reset();
    receiver_.connection.reset();
    return value;
  }

  End& receiver() { return receiver_; }

 private:
  asio::io_context sender_io_;
  asio::io_context receiver_io_;
  End sender_;
  End receiver_;
};

wire::Chat make_chat(std::uint64_t seq) {
  wire::Chat chat;
  chat.id.fill(0x5a);
  chat.seq = seq;
  chat.timestamp_ms = 1;
  chat.text.assign(100, 'm');
  return chat;
}

// 100-byte chats A->B with the window kept full; messages per second until the last ACK.
double chat_throughput(std::size_t count) {
  Pair pair;
  return pair.run(
      [count](End& sender, std::promise<double>& done) {
        auto chat = std::make_shared<wire::Chat>(make_chat(0));
        const auto start = Steady::now();
        auto fill = [&sender, chat, count] {
          while (chat->seq < count && sender.connection->can_send_chat()) {
            ++chat->seq;
            sender.connection->send_chat(*chat);
          }
        };
        sender.credited = fill;
        sender.acked = [&done, start, count, fill](std::uint64_t seq) {
          if (seq == count) {
            const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
            done.set_value(static_cast<double>(count) / seconds);
          }
          fill();
        };
        fill();
      },
      std::chrono::seconds(120));
}

// One chat in flight at a time, `rounds` times; `gap` between rounds (0: back to back). With
// `bulk_bytes` > 0 a stream of that many bytes runs on the same session meanwhile, and the
// rounds stop when it ends. Returns the samples (microseconds, send to ACK).
std::vector<double> chat_latency(int rounds, std::chrono::microseconds gap,
                                 std::size_t bulk_bytes) {
  Pair pair;
  std::vector<double> samples;
  pair.run(
      [&](End& sender, std::promise<double>& done) {
        auto state = std::make_shared<std::pair<std::uint64_t, Steady::time_point>>();
        auto timer = std::make_shared<asio::steady_timer>(sender.connection->executor());
        auto bulk_left = std::make_shared<std::size_t>(bulk_bytes);
        auto finished = std::make_shared<bool>(false);
        auto send_next = [&sender, state] {
          ++state->first;
          state->second = Steady::now();
          sender.connection->send_chat(make_chat(state->first));
        };
        sender.acked = [&, state, timer, send_next, finished](std::uint64_t seq) {
          if (seq != state->first || *finished) return;
          samples.push_back(
              std::chrono::duration<double, std::micro>(Steady::now() - state->second).count());
          const bool bulk_done = bulk_bytes > 0 && pair.receiver().stream_bytes >= bulk_bytes;
          if (static_cast<int>(samples.size()) >= rounds || bulk_done) {
            *finished = true;
            done.set_value(0);
            return;
          }
          if (gap.count() == 0) return send_next();
          timer->expires_after(gap);
          timer->async_wait([send_next](std::error_code error) {
            if (!error) send_next();
          });
        };
        if (bulk_bytes > 0) {
          static const std::vector<std::uint8_t> pattern(256 * 1024, 0xb5);
          const auto stream = sender.connection->open_stream("bulk", bulk_bytes).value();
          auto pump = [&sender, stream, bulk_left] {
            while (*bulk_left > 0) {
              const auto size = std::min(*bulk_left, pattern.size());
              const auto wrote = sender.connection->write_stream(stream, {pattern.data(), size});
              if (wrote == 0) break;
              *bulk_left -= wrote;
            }
            if (*bulk_left == 0) sender.connection->end_stream(stream);
          };
          sender.writable = pump;
          pump();
        }
        send_next();
      },
      std::chrono::seconds(120));
  return samples;
}

// Bytes per second of one `total`-byte stream, from open to the receiver seeing its end.
double bulk_throughput(std::size_t total) {
  Pair pair;
  return pair.run(
      [total, &pair](End& sender, std::promise<double>& done) {
        static const std::vector<std::uint8_t> pattern(256 * 1024, 0xb5);
        const auto start = Steady::now();
        const auto stream = sender.connection->open_stream("bulk", total).value();
        auto left = std::make_shared<std::size_t>(total);
        pair.receiver().stream_ended = [&done, start, total] {
          const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
          done.set_value(static_cast<double>(total) / seconds);
        };
        auto pump = [&sender, stream, left] {
          while (*left > 0) {
            const auto wrote = sender.connection->write_stream(
                stream, {pattern.data(), std::min(*left, pattern.size())});
            if (wrote == 0) break;
            *left -= wrote;
          }
          if (*left == 0) sender.connection->end_stream(stream);
        };
        sender.writable = pump;
        pump();
      },
      std::chrono::seconds(300));
}

}  // namespace

std::vector<Figure> run_session(const Options& options, const Baselines& baselines) {
  const std::size_t messages = options.quick ? 20'000 : 2'000'000;
  const std::size_t bulk = options.quick ? (64u << 20) : (1u << 30);
  const int rounds = options.quick ? 200 : 20'000;
  std::vector<double> rates;
  std::vector<double> bulk_rates;
  std::vector<double> p50;
  std::vector<double> p99;
  std::vector<double> loaded_p50;
  std::vector<double> loaded_p99;
  auto wanted = [&](std::string_view part) { return options.part.empty() || options.part == part; };
  for (int run = 0; run < options.runs; ++run) {
    if (wanted("chat")) rates.push_back(chat_throughput(messages));
    if (wanted("bulk")) bulk_rates.push_back(bulk_throughput(bulk));
    if (wanted("latency")) {
      auto samples = chat_latency(rounds, std::chrono::microseconds(0), 0);
      p50.push_back(percentile(samples, 0.5));
      p99.push_back(percentile(samples, 0.99));
    }
    if (wanted("loaded")) {
      // One chat every millisecond while a bulk stream of the same size as above runs.
      auto loaded = chat_latency(1'000'000, std::chrono::microseconds(1000), bulk);
      loaded_p50.push_back(percentile(loaded, 0.5));
      loaded_p99.push_back(percentile(loaded, 0.99));
    }
  }
  const double rate = median(rates);
  const double bulk_rate = median(bulk_rates);
  const double latency = median(p50);
  return {
      {"session_chat_throughput", rate, "msg/s",
       fmt::format("{} x 100 B chats, window full, all ACKed; one thread per end", messages)},
      {"session_chat_throughput_vs_tls", rate / baselines.tls_batched_msgs, "ratio",
       "vs baseline_tls_batched; target >= 0.40"},
      {"session_latency_p50", latency, "us", "chat send to ACK, one in flight"},
      {"session_latency_p99", median(p99), "us", ""},
      {"session_latency_p50_vs_tcp", latency / baselines.tcp_rtt_p50_us, "ratio",
       "vs baseline_tcp_rtt_p50; target <= 3"},
      {"bulk_throughput", bulk_rate / 1e6, "MB/s",
       fmt::format("{} MiB through one stream of a session", bulk >> 20)},
      {"bulk_vs_tls", bulk_rate / baselines.tls_bulk_bytes, "ratio",
       "vs baseline_tls_bulk; target >= 0.70"},
      {"chat_under_load_p50", median(loaded_p50) / 1000, "ms",
       "chat send to ACK, one per ms, while the bulk stream runs"},
      {"chat_under_load_p99", median(loaded_p99) / 1000, "ms", "target <= 50"},
  };
}

}  // namespace peerchat::bench
