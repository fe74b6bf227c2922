// services/transfer: what a sender offers. A manifest lists every entry of the offer (files with
// their sizes, piece hashes and whole-file SHA-256; folders, so empty ones come along) under
// relative paths, and is itself named by the SHA-256 of its encoding: the receiver checks every
// piece it is sent against the manifest it accepted, and a resumed transfer proves it is the same
// one by that hash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace peerchat::transfer {

using Sha256 = std::array<std::uint8_t, 32>;

// 1 MiB pieces: a 1 GiB file is 1,024 hashes (32 KiB of manifest) and a piece is re-sent whole
// after a bad hash or a cut, so a resume costs at most a few MiB per stream; smaller pieces would
// swell manifests of big files, larger ones make every re-fetch and the receiver's
// verify-before-write buffer dearer.
inline constexpr std::uint32_t kPieceSize = 1u << 20;

// What one offer may hold. Far above what people send in one go (the 10,000-file target, a
// photo library), low enough that a hostile manifest cannot make the receiver hash, validate or
// keep unbounded amounts of it before anyone accepted anything.
inline constexpr std::size_t kMaxEntries = 50'000;
inline constexpr std::size_t kMaxPathBytes = 4'096;          // a whole relative path, in UTF-8
inline constexpr std::size_t kMaxManifestBytes = 16u << 20;  // its encoding
inline constexpr std::uint64_t kMaxFileBytes = 1ull << 44;   // 16 TiB; keeps piece counts sane

enum class EntryKind : std::uint8_t { file = 1, folder = 2 };

struct Entry {
  EntryKind kind = EntryKind::file;
  // Relative, '/'-separated, as the sender named it; the receiver validates it (sandbox.hpp)
  // and never uses it as it came.
  std::string path;
  std::uint64_t size = 0;  // files; 0 for folders
  std::vector<Sha256>
      pieces;       // files: one per kPieceSize bytes (the last may be short); none if empty
  Sha256 sha256{};  // files: the whole file's hash
};

struct Manifest {
  std::uint32_t piece_size = kPieceSize;
  std::vector<Entry> entries;  // folders before what is inside them

  std::uint64_t total_bytes() const;
  std::size_t file_count() const;
};

// How many pieces a file of `size` bytes has with `piece_size`-byte pieces.
std::uint64_t piece_count(std::uint64_t size, std::uint32_t piece_size);

// The wire form (docs/protocol.md, "File transfer"): deterministic, so its SHA-256 names it.
std::vector<std::uint8_t> encode(const Manifest& manifest);
// Refuses anything malformed, over a limit above, or inconsistent (a piece count that does not
// match the size, an unknown kind), with the reason. Paths are checked by the sandbox, not here.
Result<Manifest> decode(std::span<const std::uint8_t> bytes);
Sha256 manifest_hash(std::span<const std::uint8_t> encoded);

}  // namespace peerchat::transfer
