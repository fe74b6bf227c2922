// bench: file transfers between two real `peerchat --json` processes over loopback, driven
// through their JSON commands and timed from their events (transfer_bench.cpp's end-to-end
// figures).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench.hpp"
#include "cli_peer.hpp"

namespace peerchat::bench {

// What one transfer should do besides moving the files.
struct TransferPlan {
  std::vector<std::filesystem::path> paths;  // offered by the sender
  std::filesystem::path destination;         // the receiver accepts into it
  std::chrono::seconds limit{300};           // for the whole transfer
  std::size_t chats = 0;                     // `send` commands sender -> receiver meanwhile
  std::chrono::microseconds chat_spacing{10'000};
  bool kill_sender_at_half = false;  // kill -9 once half is verified, restart on its data dir
};

struct TransferOutcome {
  std::string failure;   // empty: the transfer finished and every file checked out
  double prepare_s = 0;  // sender's `sendfile` to the receiver's `transfer_offered`
  double move_s = 0;     // receiver's `accept` to its `transfer_done`
  std::uint64_t total_bytes = 0;
  std::uint64_t wire_bytes = 0;  // receiver's, from transfer_done
  std::uint64_t bad_pieces = 0;
  std::vector<std::string> sha256;           // the receiver's, per file
  std::vector<std::filesystem::path> saved;  // where the receiver saved each file
  std::uint64_t idle_rss_kib = 0;            // receiver, before the offer
  std::uint64_t max_rss_kib = 0;             // receiver, sampled every ~50 ms from accept to done
  std::uint64_t killed_at_bytes = 0;
  std::vector<double> chat_ms;  // send to delivered, for messages sent before transfer_done
  std::size_t chats_sent = 0;   // before transfer_done
};

// A sender and a receiver process, each on its own data dir under `dir`, the receiver dialed
// into the sender's port; one transfer after another goes over the same pair.
class TransferPair {
 public:
  TransferPair(std::string binary, std::filesystem::path dir);
  // Starts both and connects them; the reason it could not, or empty.
  std::string start();
  TransferOutcome run(const TransferPlan& plan);

 private:
  struct Event {
    bool from_sender = false;
    std::string kind;
    nlohmann::json body;
    std::chrono::steady_clock::time_point at;
  };
  std::unique_ptr<CliPeer> start_sender(int port);
  // Reads both peers' events into `handle` until it or `tick` (run between reads, at least
  // every few milliseconds) returns true. False at `deadline` or if a peer's stdout ends; events
  // read past the one that ended it are kept for the next pump.
  bool pump(const std::function<bool(const Event&)>& handle,
            std::chrono::steady_clock::time_point deadline, const std::function<bool()>& tick = {});

  std::string binary_;
  std::filesystem::path dir_;
  int sender_port_ = 0;
  std::unique_ptr<CliPeer> sender_;
  std::unique_ptr<CliPeer> receiver_;
  std::deque<Event> backlog_;
  std::string stopped_;  // why the last pump returned false
  int commands_ = 0;     // for unique command IDs
};

// Resident set of a process in KiB (/proc/PID/status VmRSS), 0 if unreadable.
std::uint64_t rss_kib(pid_t pid);

}  // namespace peerchat::bench
