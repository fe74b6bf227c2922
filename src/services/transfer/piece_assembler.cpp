#include "services/transfer/piece_assembler.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "wire/errors.hpp"
#include "wire/fields.hpp"

namespace peerchat::transfer {

Result<PieceAssembler> PieceAssembler::start(const Manifest& manifest, std::uint32_t entry,
                                             std::uint32_t first) {
  if (entry >= manifest.entries.size() || manifest.entries[entry].kind != EntryKind::file) {
    return wire::field_error(wire::Errc::bad_field, "pieces stream",
                             fmt::format("entry {} is not a file of the offer", entry));
  }
  const Entry& file = manifest.entries[entry];
  const auto pieces = static_cast<std::uint32_t>(file.pieces.size());
  if (first >= pieces) {
    return wire::field_error(
        wire::Errc::bad_field, "pieces stream",
        fmt::format("piece {} of entry {}, which has {}", first, entry, pieces));
  }
  return PieceAssembler(file.size, manifest.piece_size, pieces, first);
}

std::size_t PieceAssembler::piece_bytes() const {
  const std::uint64_t start = std::uint64_t{piece_} * piece_size_;
  return static_cast<std::size_t>(std::min<std::uint64_t>(piece_size_, size_ - start));
}

Result<void> PieceAssembler::feed(std::span<const std::uint8_t> data, const OnPiece& on_piece) {
  while (!data.empty()) {
    if (piece_ >= pieces_) {
      return wire::field_error(wire::Errc::trailing_bytes, "pieces stream",
                               fmt::format("{} bytes past the end of the file", data.size()));
    }
    const std::size_t want = piece_bytes() - buffer_.size();
    const std::size_t take = std::min(want, data.size());
    if (buffer_.empty() && take == piece_bytes()) {
      on_piece(piece_, data.first(take));  // a whole piece in one go: no copy
    } else {
      buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
      if (buffer_.size() == piece_bytes()) {
        on_piece(piece_, buffer_);
        buffer_.clear();
      } else {
        return {};  // all of `data` is in the buffer
      }
    }
    data = data.subspan(take);
    ++piece_;
  }
  return {};
}

}  // namespace peerchat::transfer
