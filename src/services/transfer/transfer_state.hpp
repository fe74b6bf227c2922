// services/transfer: the state of one transfer, as the service keeps it on the I/O thread. One
// struct for both directions (front ends list and find them together); the parts that belong
// to one side or one stage say so. Disk work holds only the shared pieces (the manifest, the
// reader or the receive disk), never this struct.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "services/transfer/frames.hpp"
#include "services/transfer/manifest.hpp"
#include "services/transfer/piece_assembler.hpp"
#include "services/transfer/piece_map.hpp"
#include "services/transfer/piece_reader.hpp"
#include "services/transfer/receive_disk.hpp"
#include "services/transfer/view.hpp"
#include "session/connection.hpp"
#include "util/clock.hpp"

namespace peerchat::transfer {

struct Transfer {
  TransferId id{};
  tls::PeerId peer;
  Direction direction = Direction::in;
  State state = State::offered;
  std::shared_ptr<const Manifest> manifest;  // in: null until the offered one is checked
  std::string title;
  std::uint64_t total_bytes = 0;
  std::size_t files = 0;
  std::int64_t created_ms = 0;
  Code code = Code::transfer_failed;  // failed or paused: why
  std::string message;
  std::uint64_t wire_bytes = 0;
  std::uint32_t bad_pieces = 0;
  std::string destination;
  std::uint64_t finished_seq = 0;  // order of finishing, for the recent list
  // Progress events, at most one per interval.
  Clock::TimePoint progress_at{};
  std::uint64_t progress_bytes = 0;

  // The session pieces move on, both sides: where the receiver sent its REQUESTs and the
  // sender got them. A session that is not the link ending (a duplicate closing) changes
  // nothing; the link ending drops what was in flight on it, to be asked again.
  const session::Connection* link = nullptr;
  std::weak_ptr<session::Connection> link_session;  // the same, to write on

  // ---- in, before the answer: the offer and its manifest as it arrives.
  Offer offer;
  const session::Connection* manifest_on = nullptr;
  std::uint32_t manifest_stream = 0;
  std::vector<std::uint8_t> manifest_bytes;

  // ---- out: the offer, then the pieces asked for.
  std::vector<std::uint8_t> encoded;  // the manifest, sent after OFFER
  std::vector<std::filesystem::path> sources;
  const session::Connection* offered_on = nullptr;  // the session the offer last went on
  std::uint32_t offer_stream = 0;
  std::size_t offer_sent = 0;
  std::shared_ptr<PieceReader> reader;  // touched by disk jobs only, one at a time
  std::deque<PieceRange> to_read;       // asked for, not yet read
  std::deque<PieceRange> to_send;       // asked for, not yet sent; the front is on send_stream
  struct Ready {
    std::uint32_t entry = 0;
    std::uint32_t piece = 0;
    std::shared_ptr<std::vector<std::uint8_t>> bytes;
  };
  std::deque<Ready> ready;  // read and checked, in to_send order
  std::size_t ready_offset = 0;
  std::uint32_t reads = 0;  // read jobs in the pool
  std::uint64_t epoch = 0;  // bumped when a session goes: older reads are dropped
  std::uint32_t send_stream = 0;
  std::uint32_t send_next = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t queued_pieces = 0;  // in to_read + to_send

  // ---- in, accepted.
  std::shared_ptr<ReceiveDisk> disk;
  std::optional<PieceMap> held;   // durable, as far as the I/O thread knows
  std::optional<PieceMap> asked;  // requested or in the pool, not yet held
  std::set<std::pair<std::uint32_t, std::uint32_t>> in_pool;  // arrived, not yet held
  std::uint64_t window_used = 0;                              // bytes asked for and not yet written
  std::uint64_t pool_bytes = 0;                               // of which arrived, in write jobs
  std::uint32_t writes = 0;                                   // write jobs in the pool
  std::uint32_t unsynced = 0;                                 // written since the last sync
  bool syncing = false;
  bool recovering = false;  // after a restart, .part pieces the store missed are rechecked
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> requested;  // (entry, first)
  struct InStream {
    std::uint32_t entry = 0;
    std::uint32_t end = 0;  // one past the last piece it was asked for
    PieceAssembler assembler;
  };
  std::map<std::uint32_t, InStream> in_streams;  // by stream ID, on link
  std::vector<bool> finished;                    // by entry: renamed into place
  std::vector<std::string> saved;                // by entry: where
  std::set<std::uint32_t> finishing;
  bool retrying = false;  // the disk-full retry loop runs

  bool live() const {
    return state != State::done && state != State::failed && state != State::cancelled &&
           state != State::declined;
  }
};

// Bytes of one piece of a file entry.
inline std::uint64_t piece_bytes(const Manifest& manifest, std::uint32_t entry,
                                 std::uint32_t piece) {
  const Entry& file = manifest.entries.at(entry);
  const std::uint64_t offset = std::uint64_t{piece} * manifest.piece_size;
  return offset >= file.size ? 0 : std::min<std::uint64_t>(manifest.piece_size, file.size - offset);
}

}  // namespace peerchat::transfer
