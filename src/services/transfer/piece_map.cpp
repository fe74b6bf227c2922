#include "services/transfer/piece_map.hpp"

#include <algorithm>

namespace peerchat::transfer {

PieceMap::PieceMap(const Manifest& manifest) : piece_size_(manifest.piece_size) {
  files_.reserve(manifest.entries.size());
  for (const auto& entry : manifest.entries) {
    File file;
    if (entry.kind == EntryKind::file) {
      file.size = entry.size;
      file.pieces = static_cast<std::uint32_t>(entry.pieces.size());
      file.bits.assign((file.pieces + 7) / 8, 0);
    }
    files_.push_back(std::move(file));
  }
}

std::uint64_t PieceMap::piece_bytes(const File& file, std::uint32_t piece) const {
  const std::uint64_t start = std::uint64_t{piece} * piece_size_;
  return std::min<std::uint64_t>(piece_size_, file.size - start);
}

bool PieceMap::has(std::uint32_t entry, std::uint32_t piece) const {
  if (entry >= files_.size() || piece >= files_[entry].pieces) return false;
  return (files_[entry].bits[piece / 8] >> (piece % 8) & 1) != 0;
}

void PieceMap::set(std::uint32_t entry, std::uint32_t piece) {
  if (entry >= files_.size() || piece >= files_[entry].pieces || has(entry, piece)) return;
  File& file = files_[entry];
  file.bits[piece / 8] = static_cast<std::uint8_t>(file.bits[piece / 8] | 1u << (piece % 8));
  ++file.held;
  verified_bytes_ += piece_bytes(file, piece);
}

void PieceMap::clear(std::uint32_t entry, std::uint32_t piece) {
  if (!has(entry, piece)) return;
  File& file = files_[entry];
  file.bits[piece / 8] = static_cast<std::uint8_t>(file.bits[piece / 8] & ~(1u << (piece % 8)));
  --file.held;
  verified_bytes_ -= piece_bytes(file, piece);
}

bool PieceMap::file_complete(std::uint32_t entry) const {
  return entry < files_.size() && files_[entry].held == files_[entry].pieces;
}

bool PieceMap::complete() const {
  return std::all_of(files_.begin(), files_.end(),
                     [](const File& file) { return file.held == file.pieces; });
}

std::vector<PieceRange> PieceMap::missing(std::size_t max_ranges, std::uint32_t max_pieces,
                                          const PieceMap* skip) const {
  std::vector<PieceRange> ranges;
  const auto wanted = [&](std::uint32_t entry, std::uint32_t piece) {
    return !has(entry, piece) && (skip == nullptr || !skip->has(entry, piece));
  };
  for (std::uint32_t entry = 0; entry < files_.size(); ++entry) {
    const File& file = files_[entry];
    if (file.held == file.pieces) continue;
    for (std::uint32_t piece = 0; piece < file.pieces; ++piece) {
      if (!wanted(entry, piece)) continue;
      PieceRange range{entry, piece, 0};
      while (piece < file.pieces && range.count < max_pieces && wanted(entry, piece)) {
        ++range.count;
        ++piece;
      }
      ranges.push_back(range);
      if (ranges.size() == max_ranges) return ranges;
      --piece;  // the loop's ++ moves past the piece that ended the range
    }
  }
  return ranges;
}

std::vector<std::uint8_t> PieceMap::bitmap(std::uint32_t entry) const {
  return entry < files_.size() ? files_[entry].bits : std::vector<std::uint8_t>{};
}

bool PieceMap::restore(std::uint32_t entry, std::span<const std::uint8_t> bits) {
  if (entry >= files_.size() || bits.size() != files_[entry].bits.size()) return false;
  File& file = files_[entry];
  // Bits past the last piece must be clear: anything else is not a map of this file.
  if (file.pieces % 8 != 0 && !bits.empty() && (bits.back() >> (file.pieces % 8)) != 0) {
    return false;
  }
  for (std::uint32_t piece = 0; piece < file.pieces; ++piece) {
    if (has(entry, piece)) verified_bytes_ -= piece_bytes(file, piece);
  }
  std::fill(file.bits.begin(), file.bits.end(), 0);
  file.held = 0;
  for (std::uint32_t piece = 0; piece < file.pieces; ++piece) {
    if ((bits[piece / 8] >> (piece % 8) & 1) != 0) set(entry, piece);
  }
  return true;
}

}  // namespace peerchat::transfer
