// services/transfer: what front ends see of file transfers, and how they configure them. Free of
// Asio and OpenSSL, like node.hpp: the node's events and commands carry these.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "tls/peer_id.hpp"
#include "util/codes.hpp"
#include "util/failpoints.hpp"

namespace peerchat::transfer {

using TransferId = std::array<std::uint8_t, 16>;
using Sha256 = std::array<std::uint8_t, 32>;

// Lowercase hex: a transfer ID is 32 digits (front ends accept any unique prefix of 4 or more),
// a SHA-256 64.
std::string to_hex(std::span<const std::uint8_t> bytes);

struct TransferConfig {
  // Where accepted files go unless /accept names a folder (--download-dir).
  std::filesystem::path download_dir;
  // Offers from these peers are accepted into download_dir without asking
  // (--accept-files-from, repeatable).
  std::vector<tls::PeerId> accept_from;
  std::size_t max_offers_per_peer = 4;  // pending, not yet answered: each holds its manifest
  // Bytes a receiver asks for and has not yet written, per transfer: its own flow-control
  // window inside the session's (docs/protocol.md 3.2), and its bound on memory.
  std::size_t window_bytes = 16u << 20;
  std::uint32_t max_bad_pieces = 8;                  // then the transfer fails with bad_pieces
  std::chrono::milliseconds progress_interval{250};  // at most 4 progress events a second
  std::chrono::milliseconds disk_retry{2000};        // a paused (disk full) transfer retries
  std::size_t recent = 50;                           // finished transfers /transfers still lists
  // Durability tests only: "transfer_sender_after_piece" (a piece handed to its stream) and
  // "transfer_receiver_after_piece" (a piece written, not yet synced), so a test can kill
  // either side at an exact point of a transfer however fast it runs.
  Failpoints* failpoints = nullptr;
};

enum class Direction : std::uint8_t { in, out };

enum class State : std::uint8_t {
  preparing,  // sender: hashing the manifest
  offered,    // waiting for the receiver's answer
  moving,     // accepted: pieces are (or will be, once the peer is back) on their way
  paused,     // the receiver's disk is full, or another reason in `message`
  done,
  failed,
  cancelled,
  declined,
};
// "preparing", "offered", "moving", "paused", "done", "failed", "cancelled", "declined".
std::string_view state_name(State state);

struct FileView {
  std::string path;  // relative as offered; in transfer_done of an incoming one, where it was saved
  std::uint64_t size = 0;
  Sha256 sha256{};
};

// One transfer as /transfers lists it and every transfer_* event carries it.
struct TransferView {
  TransferId id{};
  tls::PeerId peer;
  Direction direction = Direction::in;
  State state = State::offered;
  std::string title;  // "photos", "a.txt and 3 more"
  std::size_t files = 0;
  std::uint64_t bytes = 0;  // verified at the receiver (as far as this side knows)
  std::uint64_t total_bytes = 0;
  std::string destination;            // in: the folder files are saved under, once accepted
  Code code = Code::transfer_failed;  // failed or paused: why
  std::string message;                // failed, paused, cancelled: for people
  // Piece bytes this process sent (out) or received (in) for it since it started: above
  // total_bytes - bytes-at-start only by what was re-sent after a cut or a bad piece.
  std::uint64_t wire_bytes = 0;
  std::uint32_t bad_pieces = 0;  // in: pieces that failed their hash and were fetched again
};

// What the service reports; the node turns each into a transfer_* event. All on the I/O thread.
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  // in: an offer arrived whole and passed every check; `free_bytes` is the free space in the
  // download dir (0 if unknown). out: our offer was sent.
  virtual void transfer_offered(const TransferView& view, const std::vector<FileView>& files,
                                std::uint64_t free_bytes) = 0;
  virtual void transfer_accepted(const TransferView& view) = 0;
  // At most one per progress_interval per transfer; `bytes_per_second` over the last seconds.
  virtual void transfer_progress(const TransferView& view, std::uint64_t bytes_per_second) = 0;
  // view.code and view.message say why (disk_full); both sides hear it.
  virtual void transfer_paused(const TransferView& view) = 0;
  virtual void transfer_resumed(const TransferView& view) = 0;
  // Every file verified (SHA-256 over the whole file) and saved; in: `path` is where.
  virtual void transfer_done(const TransferView& view, const std::vector<FileView>& files) = 0;
  virtual void transfer_failed(const TransferView& view) = 0;  // view.code, view.message
  virtual void transfer_cancelled(const TransferView& view, bool by_peer) = 0;
  virtual void transfer_declined(const TransferView& view) = 0;
};

}  // namespace peerchat::transfer
