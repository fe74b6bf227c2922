// services/transfer: the sender's side of a manifest. Walks the files and folders the user
// named and hashes every file in pieces. Slow (it reads everything): run it on a worker
// thread, never on the I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "services/transfer/manifest.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

struct BuiltManifest {
  Manifest manifest;
  // Where each entry's bytes come from, by entry index (folders too, for error messages).
  std::vector<std::filesystem::path> sources;
  // What was left out, each with why: symlinks and special files inside a folder are never
  // followed or sent (a link could point anywhere the user did not mean to share).
  std::vector<std::string> skipped;
};

struct BuildControl {
  const std::atomic<bool>* cancel = nullptr;  // checked between pieces
  // Bytes hashed so far, after each piece; called on the building thread.
  std::function<void(std::uint64_t hashed)> progress;
};

// Each path is a file or a folder; it goes into the offer under its own name, a folder with
// everything in it (sorted, so the same tree gives the same manifest). A path the user named
// that is a symlink is followed; links inside folders are not.
Result<BuiltManifest> build_manifest(std::span<const std::filesystem::path> paths,
                                     const BuildControl& control = {});

// SHA-256 of one piece of `size` bytes read from `fd` at `offset` into `buffer` (at least
// `size` bytes); false if the file could not be read or was shorter.
bool hash_piece(int fd, std::uint64_t offset, std::uint32_t size, std::span<std::uint8_t> buffer,
                Sha256& out);

}  // namespace peerchat::transfer
