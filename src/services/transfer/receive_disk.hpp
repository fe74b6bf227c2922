// services/transfer: everything the receiver does on disk for one accepted transfer, in one
// object that only the worker pool touches (jobs keyed by the transfer run one at a time): the
// sandboxed destination, the piece writer and its own map of durable pieces, and each file's
// running SHA-256. The I/O thread keeps its own PieceMap, updated from what sync() returns, so
// the two never share state.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "services/transfer/manifest.hpp"
#include "services/transfer/piece_map.hpp"
#include "services/transfer/piece_writer.hpp"
#include "services/transfer/sandbox.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

class ReceiveDisk {
 public:
  // A new transfer: opens `dir`, gives the offer's names free places in it and creates its
  // folders. Nothing else is written until pieces come.
  static Result<std::unique_ptr<ReceiveDisk>> accept(std::shared_ptr<const Manifest> manifest,
                                                     const std::filesystem::path& dir);
  // A transfer resumed after a restart: the same names, the pieces held as stored.
  static Result<std::unique_ptr<ReceiveDisk>> resume(std::shared_ptr<const Manifest> manifest,
                                                     const std::filesystem::path& dir,
                                                     Placement placement, const PieceMap& held);
  ~ReceiveDisk();
  ReceiveDisk(const ReceiveDisk&) = delete;
  ReceiveDisk& operator=(const ReceiveDisk&) = delete;

  const Placement& placement() const { return placement_; }
  const std::filesystem::path& folder() const { return destination_.path(); }
  Result<std::uint64_t> free_bytes() const { return destination_.free_bytes(); }

  // Verified (check), then written (PieceWriter::write_checked).
  Result<PieceVerdict> write(std::uint32_t entry, std::uint32_t piece,
                             std::span<const std::uint8_t> bytes);
  // The manifest's word on a piece: nothing if it is good (and then, if it is the next one the
  // file's running SHA-256 needs, taken into it), else the verdict for it.
  std::optional<PieceVerdict> check(std::uint32_t entry, std::uint32_t piece,
                                    std::span<const std::uint8_t> bytes);
  // After a restart: pieces that reached the .part files but not the stored piece map (the
  // process died after writing them, before their sync or the store's commit; a kill leaves
  // them in the page cache or on disk) are read back, checked against the manifest, synced,
  // and returned as held, so the sender need not send them again. Holes are skipped unread
  // (SEEK_DATA); files in `finished` are left alone.
  Result<std::vector<PieceRef>> recover(const std::vector<bool>& finished);
  // Puts what was written on disk; returns the pieces now held (PieceWriter::sync).
  Result<std::vector<PieceRef>> sync();
  // Every piece of `entry` is held: checks the SHA-256 of the whole file (reading back only
  // what did not arrive in order), then renames it into place (Destination::finish).
  // Many at once (small files): the renames are made durable by one sync of the file system
  // instead of two fsyncs each.
  std::vector<Result<std::filesystem::path>> finish(const std::vector<std::uint32_t>& entries);
  // Cancelled, declined or failed: deletes the .part of every file not yet finished.
  void remove_parts(const std::vector<bool>& finished);

 private:
  ReceiveDisk(std::shared_ptr<const Manifest> manifest, Destination destination,
              Placement placement);

  struct Hashing {
    EVP_MD_CTX* context = nullptr;
    std::uint32_t next = 0;  // the next piece the running hash needs
  };
  Hashing& hashing(std::uint32_t entry);
  Result<std::filesystem::path> finish_one(std::uint32_t entry, bool durable);

  std::shared_ptr<const Manifest> manifest_;
  Destination destination_;
  Placement placement_;
  PieceMap held_;
  PieceWriter writer_;
  std::vector<Hashing> hashes_;  // by entry
};

}  // namespace peerchat::transfer
