// bench: a Tox (c-toxcore) baseline: two Tox instances in this process, on one thread, over
// UDP on loopback. Figures: time from tox_new to both friends connected, the throughput of a
// burst of messages A->B, and the throughput of one file transfer A->B. Nothing leaves the machine:
// no LAN discovery, no hole punching, no DHT announcements, no proxy, no TCP relays or server, IPv4
// only; the only bootstrap node of each instance is the other one at 127.0.0.1.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tox/tox.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <thread>

#include "bench.hpp"

namespace peerchat::bench {
namespace {

using Steady = std::chrono::steady_clock;

// What the callbacks of both instances see; passed to tox_iterate as user data.
struct State {
  // Messages. Sender (A): read receipts; receiver (B): friend messages.
  std::uint32_t messages_expected = 0;
  std::uint32_t messages_received = 0;
  std::uint32_t receipts = 0;
  Steady::time_point last_message_at;
  Steady::time_point last_receipt_at;
  // File. Sender (A).
  std::uint64_t file_size = 0;
  std::uint64_t chunk_errors = 0;
  // Receiver (B).
  std::uint64_t received = 0;
  bool done = false;
  bool accept_failed = false;
  Steady::time_point done_at;
};

// Larger than any chunk core asks for (MAX_FILE_DATA_SIZE, about 1.4 KB).
const std::array<std::uint8_t, 64 * 1024>& pattern() {
  static const auto bytes = [] {
    std::array<std::uint8_t, 64 * 1024> out{};
    out.fill(0xb5);
    return out;
  }();
  return bytes;
}

void on_chunk_request(Tox* tox, std::uint32_t friend_number, std::uint32_t file_number,
                      std::uint64_t position, std::size_t length, void* user_data) {
  auto& state = *static_cast<State*>(user_data);
  if (length == 0) return;  // the transfer is over
  if (length > pattern().size()) {
    ++state.chunk_errors;
    return;
  }
  Tox_Err_File_Send_Chunk error = TOX_ERR_FILE_SEND_CHUNK_OK;
  if (!tox_file_send_chunk(tox, friend_number, file_number, position, pattern().data(), length,
                           &error)) {
    ++state.chunk_errors;  // core asks again for the same position
  }
}

void on_file_recv(Tox* tox, std::uint32_t friend_number, std::uint32_t file_number, std::uint32_t,
                  std::uint64_t, const std::uint8_t*, std::size_t, void* user_data) {
  auto& state = *static_cast<State*>(user_data);
  if (!tox_file_control(tox, friend_number, file_number, TOX_FILE_CONTROL_RESUME, nullptr)) {
    state.accept_failed = true;
  }
}

void on_file_recv_chunk(Tox*, std::uint32_t, std::uint32_t, std::uint64_t position,
                        const std::uint8_t*, std::size_t length, void* user_data) {
  auto& state = *static_cast<State*>(user_data);
  if (length == 0) {
    if (!state.done && position == state.file_size) {
      state.done = true;
      state.done_at = Steady::now();
    }
    return;
  }
  state.received += length;
}

void on_friend_message(Tox*, std::uint32_t, Tox_Message_Type, const std::uint8_t*, std::size_t,
                       void* user_data) {
  auto& state = *static_cast<State*>(user_data);
  if (++state.messages_received == state.messages_expected) state.last_message_at = Steady::now();
}

void on_read_receipt(Tox*, std::uint32_t, std::uint32_t, void* user_data) {
  auto& state = *static_cast<State*>(user_data);
  if (++state.receipts == state.messages_expected) state.last_receipt_at = Steady::now();
}

// One Tox instance whose network stays on loopback.
Tox* make_tox() {
  Tox_Options* options = tox_options_new(nullptr);
  if (options == nullptr) return nullptr;
  tox_options_set_ipv6_enabled(options, false);
  tox_options_set_udp_enabled(options, true);
  tox_options_set_local_discovery_enabled(options, false);  // LAN broadcasts: never
  tox_options_set_hole_punching_enabled(options, false);
  tox_options_set_dht_announcements_enabled(options, false);
  tox_options_set_proxy_type(options, TOX_PROXY_TYPE_NONE);
  tox_options_set_tcp_port(options, 0);  // no TCP relay server of our own
  tox_options_set_savedata_type(options, TOX_SAVEDATA_TYPE_NONE);
  Tox_Err_New error = TOX_ERR_NEW_OK;
  Tox* tox = tox_new(options, &error);
  tox_options_free(options);
  if (tox == nullptr) fmt::print(stderr, "bench: tox_new failed ({})\n", static_cast<int>(error));
  return tox;
}

// Two instances that know only each other; freed on destruction.
class ToxPair {
 public:
  ToxPair() : start_(Steady::now()), a_(make_tox()), b_(make_tox()) {}
  ~ToxPair() {
    if (a_ != nullptr) tox_kill(a_);
    if (b_ != nullptr) tox_kill(b_);
  }
  ToxPair(const ToxPair&) = delete;
  ToxPair& operator=(const ToxPair&) = delete;

  // Bootstraps each off the other at 127.0.0.1 and makes them friends (friend 0 on both).
  bool introduce() {
    if (a_ == nullptr || b_ == nullptr) return false;
    return bootstrap(a_, b_) && bootstrap(b_, a_) && befriend(a_, b_) && befriend(b_, a_);
  }

  // Iterates both until `until()` holds; false when `limit` passes first.
  template <typename Until>
  bool drive(State& state, Steady::duration limit, Until until) {
    const auto deadline = Steady::now() + limit;
    // Bounded in count too: each round sleeps at most 50 ms but may sleep much less.
    const auto limit_us = std::chrono::duration_cast<std::chrono::microseconds>(limit).count();
    const auto max_rounds = static_cast<std::uint64_t>(std::max<std::int64_t>(limit_us, 0));
    for (std::uint64_t round = 0; round < max_rounds && Steady::now() < deadline; ++round) {
      iterate(state);
      if (until()) return true;
      const auto interval =
          std::min({tox_iteration_interval(a_), tox_iteration_interval(b_), std::uint32_t{50}});
      if (interval > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval));
    }
    return until();
  }

  void iterate(State& state) {
    tox_iterate(a_, &state);
    tox_iterate(b_, &state);
  }

  bool connected() const {
    return tox_friend_get_connection_status(a_, 0, nullptr) != TOX_CONNECTION_NONE &&
           tox_friend_get_connection_status(b_, 0, nullptr) != TOX_CONNECTION_NONE;
  }

  Steady::time_point start() const { return start_; }
  Tox* a() { return a_; }
  Tox* b() { return b_; }

 private:
  static bool bootstrap(Tox* tox, const Tox* other) {
    std::array<std::uint8_t, TOX_PUBLIC_KEY_SIZE> dht_id{};
    tox_self_get_dht_id(other, dht_id.data());
    Tox_Err_Get_Port port_error = TOX_ERR_GET_PORT_OK;
    const std::uint16_t port = tox_self_get_udp_port(other, &port_error);
    if (port_error != TOX_ERR_GET_PORT_OK) return false;
    return tox_bootstrap(tox, "127.0.0.1", port, dht_id.data(), nullptr);
  }
  static bool befriend(Tox* tox, const Tox* other) {
    std::array<std::uint8_t, TOX_PUBLIC_KEY_SIZE> key{};
    tox_self_get_public_key(other, key.data());
    Tox_Err_Friend_Add error = TOX_ERR_FRIEND_ADD_OK;
    return tox_friend_add_norequest(tox, key.data(), &error) == 0 && error == TOX_ERR_FRIEND_ADD_OK;
  }

  Steady::time_point start_;
  Tox* a_;
  Tox* b_;
};

// What one run measures; the sizes and time bounds of a run.
struct Plan {
  std::chrono::seconds connect_limit{120};
  std::uint32_t message_count = 0;  // 0: no messages
  std::chrono::seconds message_limit{30};
  std::uint64_t file_size = 0;  // 0: no file
  std::chrono::seconds file_limit{300};
};

struct MessageSample {
  double messages_per_s = -1;  // first send to B's last message; on a time-out, what arrived
  double receipts_per_s = -1;  // first send to A's last read receipt; likewise
  std::uint32_t received = 0;
  std::uint32_t receipts = 0;
  std::uint64_t send_queue_full = 0;  // TOX_ERR_FRIEND_SEND_MESSAGE_SENDQ answers
  std::uint32_t late = 0;  // arrived after A's last send: lost datagrams sent again, or in flight
  bool timed_out = false;
};

struct Sample {
  double connect_s = -1;
  std::optional<MessageSample> messages;  // empty: not measured or failed
  double file_bytes_per_s = -1;
};

// A sends `count` normal messages as fast as tox_friend_send_message takes them; both instances
// are iterated after every send: B must drain its socket while A sends (sends alone overflow
// B's UDP receive buffer, and the loss stalls the burst), and acknowledgements free A's queue
// (on SENDQ the same message goes again). Then both are iterated until B has them all and A
// has all read receipts, or `limit` (from the first send) passes.
std::optional<MessageSample> send_messages(ToxPair& pair, State& state, std::uint32_t count,
                                           std::chrono::seconds limit) {
  tox_callback_friend_message(pair.b(), on_friend_message);
  tox_callback_friend_read_receipt(pair.a(), on_read_receipt);
  state.messages_expected = count;
  MessageSample sample;
  const auto start = Steady::now();
  const auto deadline = start + limit;
  std::array<char, 32> text{};
  std::uint32_t sent = 0;
  while (sent < count && Steady::now() < deadline) {
    const auto length = fmt::format_to_n(text.data(), text.size(), "message {}", sent).size;
    Tox_Err_Friend_Send_Message error = TOX_ERR_FRIEND_SEND_MESSAGE_OK;
    tox_friend_send_message(pair.a(), 0, TOX_MESSAGE_TYPE_NORMAL,
                            reinterpret_cast<const std::uint8_t*>(text.data()), length, &error);
    if (error == TOX_ERR_FRIEND_SEND_MESSAGE_OK) {
      ++sent;
    } else if (error == TOX_ERR_FRIEND_SEND_MESSAGE_SENDQ) {
      ++sample.send_queue_full;
    } else {
      fmt::print(stderr, "bench: tox_friend_send_message failed ({}) after {} messages\n",
                 static_cast<int>(error), sent);
      return std::nullopt;
    }
    pair.iterate(state);
  }
  const std::uint32_t on_time = state.messages_received;
  pair.drive(state, deadline - Steady::now(),
             [&] { return state.messages_received == count && state.receipts == count; });
  auto per_s = [&](std::uint32_t arrived, Steady::time_point last) {
    const auto end = arrived == count ? last : Steady::now();
    return static_cast<double>(arrived) / std::chrono::duration<double>(end - start).count();
  };
  sample.received = state.messages_received;
  sample.receipts = state.receipts;
  sample.late = state.messages_received - on_time;
  sample.messages_per_s = per_s(state.messages_received, state.last_message_at);
  sample.receipts_per_s = per_s(state.receipts, state.last_receipt_at);
  sample.timed_out = state.messages_received < count || state.receipts < count;
  if (sample.timed_out) {
    fmt::print(stderr,
               "bench: tox: after {} s, {} of {} messages sent, {} received, {} read receipts\n",
               limit.count(), sent, count, state.messages_received, state.receipts);
  }
  return sample;
}

// One file of `file_size` bytes A->B; bytes per second from the send to the last chunk, or -1.
double send_file(ToxPair& pair, State& state, std::uint64_t file_size, std::chrono::seconds limit) {
  state.file_size = file_size;
  tox_callback_file_chunk_request(pair.a(), on_chunk_request);
  tox_callback_file_recv(pair.b(), on_file_recv);
  tox_callback_file_recv_chunk(pair.b(), on_file_recv_chunk);
  static constexpr char name[] = "bench.bin";
  Tox_Err_File_Send error = TOX_ERR_FILE_SEND_OK;
  const auto start = Steady::now();
  tox_file_send(pair.a(), 0, TOX_FILE_KIND_DATA, file_size, nullptr,
                reinterpret_cast<const std::uint8_t*>(name), sizeof name - 1, &error);
  if (error != TOX_ERR_FILE_SEND_OK) {
    fmt::print(stderr, "bench: tox_file_send failed ({})\n", static_cast<int>(error));
    return -1;
  }
  const bool finished = pair.drive(state, limit, [&] { return state.done || state.accept_failed; });
  if (state.accept_failed) {
    fmt::print(stderr, "bench: tox: receiver could not accept the file\n");
  } else if (!finished) {
    const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
    fmt::print(stderr, "bench: tox: file not done after {} s ({} of {} bytes, {:.3f} MB/s)\n",
               limit.count(), state.received, file_size,
               static_cast<double>(state.received) / seconds / 1e6);
  } else if (state.received != file_size) {
    fmt::print(stderr, "bench: tox: received {} of {} bytes\n", state.received, file_size);
  } else {
    const double seconds = std::chrono::duration<double>(state.done_at - start).count();
    return static_cast<double>(file_size) / seconds;
  }
  return -1;
}

// A fresh pair: connect, then the messages, then the file, each when the plan asks for it.
Sample run_once(const Plan& plan) {
  Sample sample;
  State state;
  ToxPair pair;
  if (!pair.introduce()) {
    fmt::print(stderr, "bench: tox: could not create or introduce the two instances\n");
    return sample;
  }
  if (!pair.drive(state, plan.connect_limit, [&] { return pair.connected(); })) {
    fmt::print(stderr, "bench: tox: friends not connected after {} s\n",
               plan.connect_limit.count());
    return sample;
  }
  sample.connect_s = std::chrono::duration<double>(Steady::now() - pair.start()).count();
  if (plan.message_count > 0) {
    sample.messages = send_messages(pair, state, plan.message_count, plan.message_limit);
  }
  if (plan.file_size > 0) {
    sample.file_bytes_per_s = send_file(pair, state, plan.file_size, plan.file_limit);
  }
  return sample;
}

}  // namespace

std::vector<Figure> run_tox(const Options& options, const Baselines& baselines) {
  auto wanted = [&](std::string_view part) { return options.part.empty() || options.part == part; };
  Plan plan;
  plan.connect_limit = std::chrono::seconds(options.quick ? 30 : 120);
  if (wanted("messages")) plan.message_count = options.quick ? 2'000 : 30'000;
  plan.message_limit = std::chrono::seconds(options.quick ? 10 : 30);
  if (wanted("file")) plan.file_size = options.quick ? (16u << 20) : (256u << 20);
  std::vector<double> connects;
  std::vector<double> message_rates;
  std::vector<double> receipt_rates;
  std::vector<std::uint32_t> late;
  std::uint64_t received = 0;
  std::uint64_t receipts = 0;
  std::uint64_t send_queue_full = 0;
  int timed_out = 0;
  std::vector<double> file_rates;
  for (int run = 0; run < options.runs; ++run) {
    const Sample sample = run_once(plan);
    connects.push_back(sample.connect_s);
    if (sample.messages) {
      message_rates.push_back(sample.messages->messages_per_s);
      receipt_rates.push_back(sample.messages->receipts_per_s);
      late.push_back(sample.messages->late);
      received += sample.messages->received;
      receipts += sample.messages->receipts;
      send_queue_full += sample.messages->send_queue_full;
      if (sample.messages->timed_out) ++timed_out;
    }
    file_rates.push_back(sample.file_bytes_per_s);
  }

  std::vector<Figure> figures{
      {"tox_connect_s", median(connects), "s",
       fmt::format("c-toxcore {}.{}.{}: tox_new of both to both friends connected; UDP on "
                   "127.0.0.1, each bootstrapped off the other; -1: not within {} s",
                   tox_version_major(), tox_version_minor(), tox_version_patch(),
                   plan.connect_limit.count())},
  };
  if (plan.message_count > 0) {
    const auto runs = message_rates.size();
    const auto best = [](const std::vector<double>& rates) {
      return rates.empty() ? -1.0 : *std::max_element(rates.begin(), rates.end());
    };
    const auto expected = static_cast<std::uint64_t>(plan.message_count) * runs;
    std::string timeouts;
    if (timed_out > 0) {
      timeouts = fmt::format(
          "; TIMED OUT in {} runs after {} s: {} of {} arrived (those runs count "
          "what arrived)",
          timed_out, plan.message_limit.count(), received, expected);
    }
    figures.push_back(
        {"tox_messages_per_s", best(message_rates), "msg/s",
         fmt::format("best of {} runs, a fresh pair each: {} x 'message <i>' "
                     "tox_friend_send_message NORMAL A->B as fast as it takes them, one thread "
                     "iterating both after each send, first send to B's last friend_message; "
                     "SENDQ retries: {}{}",
                     runs, plan.message_count, send_queue_full, timeouts)});
    figures.push_back({"tox_messages_per_s_median", runs > 0 ? median(message_rates) : -1, "msg/s",
                       fmt::format("runs: {:.0f}; of which arrived after the last send: {} (lost "
                                   "datagrams stall a burst)",
                                   fmt::join(message_rates, " "), fmt::join(late, " "))});
    figures.push_back({"tox_messages_runs", static_cast<double>(runs), "runs",
                       "runs with a message figure (connected, no send error)"});
    figures.push_back(
        {"tox_messages_receipts_per_s", best(receipt_rates), "msg/s",
         fmt::format("best of {}: first send to A's last friend_read_receipt (delivered); median "
                     "{:.0f}; {} of {} receipts",
                     runs, runs > 0 ? median(receipt_rates) : -1.0, receipts, expected)});
  }
  if (plan.file_size > 0) {
    const double rate = median(file_rates);
    figures.push_back(
        {"tox_file_MBps", rate < 0 ? rate : rate / 1e6, "MB/s",
         fmt::format("one {} MiB tox_file_send A->B, send to last chunk received; one thread "
                     "iterating both; -1: failed or not within {} s",
                     plan.file_size >> 20, plan.file_limit.count())});
    figures.push_back({"tox_file_vs_tls", rate < 0 ? rate : rate / baselines.tls_bulk_bytes,
                       "ratio", "tox_file_MBps vs baseline_tls_bulk"});
  }
  return figures;
}

}  // namespace peerchat::bench
