// services/transfer: which pieces of an accepted manifest the receiver holds, verified and on
// disk, and so what it still has to ask for. Kept as one bitmap per file: a 1 GiB file is 128
// bytes of it, stored with the transfer so that a restart asks only for what is missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "services/transfer/frames.hpp"
#include "services/transfer/manifest.hpp"

namespace peerchat::transfer {

class PieceMap {
 public:
  explicit PieceMap(const Manifest& manifest);

  bool has(std::uint32_t entry, std::uint32_t piece) const;
  void set(std::uint32_t entry, std::uint32_t piece);
  void clear(std::uint32_t entry, std::uint32_t piece);
  bool file_complete(std::uint32_t entry) const;
  std::uint32_t held_in(std::uint32_t entry) const {
    return entry < files_.size() ? files_[entry].held : 0;
  }
  std::uint32_t pieces_in(std::uint32_t entry) const {
    return entry < files_.size() ? files_[entry].pieces : 0;
  }
  bool complete() const;
  std::uint64_t verified_bytes() const { return verified_bytes_; }

  // Missing pieces as ranges, in manifest order, at most `max_ranges` of at most `max_pieces`
  // pieces each; pieces in `skip` (requested, not yet arrived) are left out.
  std::vector<PieceRange> missing(std::size_t max_ranges, std::uint32_t max_pieces,
                                  const PieceMap* skip = nullptr) const;

  // One file's bitmap (bit i of byte i / 8, least significant first), to store and restore.
  std::vector<std::uint8_t> bitmap(std::uint32_t entry) const;
  // False (and nothing changed) if `bits` does not fit the entry.
  bool restore(std::uint32_t entry, std::span<const std::uint8_t> bits);

 private:
  struct File {
    std::uint64_t size = 0;
    std::uint32_t pieces = 0;
    std::uint32_t held = 0;
    std::vector<std::uint8_t> bits;
  };
  std::uint64_t piece_bytes(const File& file, std::uint32_t piece) const;

  std::uint32_t piece_size_;
  std::vector<File> files_;  // by entry index; folders have no pieces
  std::uint64_t verified_bytes_ = 0;
};

}  // namespace peerchat::transfer
