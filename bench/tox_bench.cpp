// bench: a Tox (c-toxcore) baseline: two Tox instances in this process, on one thread, over
// UDP on loopback. Figures: time from tox_new to both friends connected, and the throughput of
// one file transfer A->B. Nothing leaves the machine: no LAN discovery, no hole punching, no
// DHT announcements, no proxy, no TCP relays or server, IPv4 only; the only bootstrap node of
// each instance is the other one at 127.0.0.1.
#include <fmt/format.h>
#include <tox/tox.h>

#include <algorithm>
#include <array>
#include <thread>

#include "bench.hpp"

namespace peerchat::bench {
namespace {

using Steady = std::chrono::steady_clock;

// What the callbacks of both instances see; passed to tox_iterate as user data.
struct State {
  // Sender (A).
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
  bool drive(State& state, std::chrono::seconds limit, Until until) {
    const auto deadline = Steady::now() + limit;
    // Bounded in count too: each round sleeps at most 50 ms but may sleep much less.
    const auto max_rounds = static_cast<std::uint64_t>(limit.count()) * 1'000'000;
    for (std::uint64_t round = 0; round < max_rounds && Steady::now() < deadline; ++round) {
      tox_iterate(a_, &state);
      tox_iterate(b_, &state);
      if (until()) return true;
      const auto interval =
          std::min({tox_iteration_interval(a_), tox_iteration_interval(b_), std::uint32_t{50}});
      if (interval > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval));
    }
    return until();
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

struct Sample {
  double connect_s = -1;
  double file_bytes_per_s = -1;
};

Sample run_once(std::uint64_t file_size, std::chrono::seconds connect_limit,
                std::chrono::seconds file_limit) {
  Sample sample;
  State state;
  state.file_size = file_size;
  ToxPair pair;
  if (!pair.introduce()) {
    fmt::print(stderr, "bench: tox: could not create or introduce the two instances\n");
    return sample;
  }
  if (!pair.drive(state, connect_limit, [&] { return pair.connected(); })) {
    fmt::print(stderr, "bench: tox: friends not connected after {} s\n", connect_limit.count());
    return sample;
  }
  sample.connect_s = std::chrono::duration<double>(Steady::now() - pair.start()).count();

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
    return sample;
  }
  const bool finished =
      pair.drive(state, file_limit, [&] { return state.done || state.accept_failed; });
  if (state.accept_failed) {
    fmt::print(stderr, "bench: tox: receiver could not accept the file\n");
  } else if (!finished) {
    const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
    fmt::print(stderr, "bench: tox: file not done after {} s ({} of {} bytes, {:.3f} MB/s)\n",
               file_limit.count(), state.received, file_size,
               static_cast<double>(state.received) / seconds / 1e6);
  } else if (state.received != file_size) {
    fmt::print(stderr, "bench: tox: received {} of {} bytes\n", state.received, file_size);
  } else {
    const double seconds = std::chrono::duration<double>(state.done_at - start).count();
    sample.file_bytes_per_s = static_cast<double>(file_size) / seconds;
  }
  return sample;
}

}  // namespace

std::vector<Figure> run_tox(const Options& options, const Baselines& baselines) {
  const std::uint64_t file_size = options.quick ? (16u << 20) : (256u << 20);
  const auto connect_limit = std::chrono::seconds(options.quick ? 30 : 120);
  const auto file_limit = std::chrono::seconds(300);
  std::vector<double> connects;
  std::vector<double> rates;
  for (int run = 0; run < options.runs; ++run) {
    const Sample sample = run_once(file_size, connect_limit, file_limit);
    connects.push_back(sample.connect_s);
    rates.push_back(sample.file_bytes_per_s);
  }
  const double connect = median(connects);
  const double rate = median(rates);
  return {
      {"tox_connect_s", connect, "s",
       fmt::format("c-toxcore {}.{}.{}: tox_new of both to both friends connected; UDP on "
                   "127.0.0.1, each bootstrapped off the other; -1: not within {} s",
                   tox_version_major(), tox_version_minor(), tox_version_patch(),
                   connect_limit.count())},
      {"tox_file_MBps", rate < 0 ? rate : rate / 1e6, "MB/s",
       fmt::format("one {} MiB tox_file_send A->B, send to last chunk received; one thread "
                   "iterating both; -1: failed or not within {} s",
                   file_size >> 20, file_limit.count())},
      {"tox_file_vs_tls", rate < 0 ? rate : rate / baselines.tls_bulk_bytes, "ratio",
       "tox_file_MBps vs baseline_tls_bulk"},
  };
}

}  // namespace peerchat::bench
