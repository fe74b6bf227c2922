// services/transfer: the receiver's disk side. Checks each arriving piece against the accepted
// manifest before a byte of it is written, writes it in place in the file's .part with pwrite,
// and only counts it as held once an fdatasync has put it on disk, so the durable piece map
// never claims a piece a power cut could take back. Whole pieces in page-aligned memory go to
// the disk with O_DIRECT (see write_at), past the page cache. Blocking (hashing, pwrite, fsync):
// run it on a worker thread, never on the I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "services/transfer/manifest.hpp"
#include "services/transfer/piece_map.hpp"
#include "services/transfer/unique_fd.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

struct PieceRef {
  std::uint32_t entry = 0;
  std::uint32_t piece = 0;
};

enum class PieceVerdict : std::uint8_t {
  written,   // verified and written; held once the next sync() returns it
  bad_hash,  // not what the manifest says: nothing written, ask for it again
  unwanted,  // no such piece, or already held: nothing written
};

class PieceWriter {
 public:
  // Opens (creating if needed, never truncating) entry's .part file for writing
  // (Destination::open_part).
  using OpenPart = std::function<Result<UniqueFd>(std::uint32_t entry)>;

  // Syncs every file of the destination at once (Destination::sync_all); used instead of one
  // fdatasync per file when a sync covers more than kSyncfsFrom files.
  using SyncAll = std::function<Result<void>()>;
  static constexpr std::size_t kSyncfsFrom = 4;

  PieceWriter(const Manifest& manifest, PieceMap& held, OpenPart open_part, SyncAll sync_all = {});
  PieceWriter(const PieceWriter&) = delete;
  PieceWriter& operator=(const PieceWriter&) = delete;

  // `bytes` is the whole piece. An I/O error (disk full: ENOSPC in the error's message and
  // code) is returned as an error and leaves the piece unheld. check() then write_checked().
  Result<PieceVerdict> write(std::uint32_t entry, std::uint32_t piece,
                             std::span<const std::uint8_t> bytes);
  // Only the manifest's word on the piece (its size and hash), touching nothing else: safe to
  // run on another thread than the writes. Nothing if it is good; else why not.
  std::optional<PieceVerdict> check(std::uint32_t entry, std::uint32_t piece,
                                    std::span<const std::uint8_t> bytes) const;
  // write() for a piece check() passed.
  Result<PieceVerdict> write_checked(std::uint32_t entry, std::uint32_t piece,
                                     std::span<const std::uint8_t> bytes);

  // fdatasyncs every file written since the last sync and marks what they got as held (in the
  // PieceMap given at construction); returns those pieces, for the caller to store.
  Result<std::vector<PieceRef>> sync();

  // Closes a finished file's descriptor (after the last sync that covered it), before it is
  // renamed into place.
  void close(std::uint32_t entry);

 private:
  struct OpenFile {
    UniqueFd fd;
    bool direct = false;  // O_DIRECT is set on fd now
  };
  Result<OpenFile*> descriptor(std::uint32_t entry);
  // pwrite of all of `bytes`, straight to the device when buffer, length and offset allow it
  // and the file system takes it (else through the page cache, with its writeback started).
  Result<void> write_at(OpenFile& file, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                        const std::string& path);

  const Manifest& manifest_;
  PieceMap& held_;
  OpenPart open_part_;
  SyncAll sync_all_;
  std::map<std::uint32_t, OpenFile> open_;
  bool direct_usable_ = true;                       // false once the file system refused O_DIRECT
  std::vector<PieceRef> unsynced_;                  // written, not yet on disk for sure
  std::map<std::uint32_t, std::uint32_t> written_;  // by entry: pieces in unsynced_
  // Files whose every piece is written and whose descriptor was closed at once (so a window
  // of thousands of small files never holds thousands of descriptors): the next sync covers
  // them with sync_all.
  bool closed_unsynced_ = false;
};

}  // namespace peerchat::transfer
