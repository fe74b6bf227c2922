#include "services/transfer/piece_assembler.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "wire/errors.hpp"
#include "wire/fields.hpp"

namespace peerchat::transfer {

Result<PieceAssembler> PieceAssembler::start(const Manifest& manifest, std::uint32_t entry,
                                             std::uint32_t first,
                                             std::shared_ptr<PieceBuffers> buffers) {
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
  return PieceAssembler(file.size, manifest.piece_size, pieces, first, std::move(buffers));
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
    if (!buffer_) buffer_ = buffers_->buffer(piece_bytes());
    data = data.subspan(buffer_->append(data));
    if (buffer_->room() != 0) return {};  // all of `data` is in the buffer
    on_piece(piece_, std::move(buffer_));
    buffer_.reset();
    ++piece_;
  }
  return {};
}

}  // namespace peerchat::transfer
