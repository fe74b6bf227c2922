// services/transfer: the sender's disk side. Reads a requested piece from the file it was
// offered from and checks it against the manifest before it is sent: a file that changed after
// the offer fails the transfer with a clear code instead of giving the receiver a mixed file
// (which its own check would refuse piece by piece, forever). Blocking: a worker thread's job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <vector>

#include "services/transfer/manifest.hpp"
#include "services/transfer/unique_fd.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

class PieceReader {
 public:
  // `sources[i]` is where manifest entry i is read from (BuiltManifest::sources).
  PieceReader(const Manifest& manifest, std::vector<std::filesystem::path> sources);
  PieceReader(const PieceReader&) = delete;
  PieceReader& operator=(const PieceReader&) = delete;

  // The piece's bytes, checked; Errc::changed if they no longer match the manifest,
  // Errc::unreadable if the file cannot be read.
  Result<std::span<const std::uint8_t>> read(std::uint32_t entry, std::uint32_t piece);
  void close(std::uint32_t entry);

 private:
  const Manifest& manifest_;
  std::vector<std::filesystem::path> sources_;
  std::map<std::uint32_t, UniqueFd> open_;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace peerchat::transfer
