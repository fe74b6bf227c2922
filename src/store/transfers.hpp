// store: durable state of file transfers (schema 6), so that a transfer survives a disconnect,
// a restart or a kill -9 of either side: the manifest as offered, where each file is read
// from (sender) or saved to (receiver), and which pieces the receiver holds, verified and on
// disk. The pieces are a bitmap per file, rewritten after each batch of synced pieces.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace peerchat::store {

using TransferKey = std::array<std::uint8_t, 16>;

enum class TransferState : std::uint8_t {
  offered = 0,   // waiting for the receiver's answer
  accepted = 1,  // moving (or waiting for the peer to come back)
  paused = 2,    // e.g. the receiver's disk is full
  done = 3,      // every file verified and saved
  failed = 4,
  cancelled = 5,
  declined = 6,
};

struct TransferRecord {
  TransferKey id{};
  std::array<std::uint8_t, 32> peer{};
  bool outgoing = false;
  std::vector<std::uint8_t> manifest;  // its encoding, as offered
  TransferState state = TransferState::offered;
  std::string destination;  // receiver: the download folder
  std::string placement;    // receiver: transfer::Placement::serialise()
  std::string message;      // why it failed, was cancelled or is paused
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

// One manifest entry's durable state.
struct TransferFile {
  std::uint32_t entry = 0;
  std::string source;              // sender: the file it is read from
  std::vector<std::uint8_t> held;  // receiver: transfer::PieceMap::bitmap(entry)
  std::string saved_path;          // receiver: where it was saved, once done
};

}  // namespace peerchat::store
