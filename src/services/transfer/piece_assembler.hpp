// services/transfer: turns the bytes of one `pieces <id> <entry> <first>` stream into whole
// pieces. A stream carries consecutive pieces of one file from `first` on; the manifest says
// where each ends, so the receiver never trusts the sender about sizes. Pure bookkeeping, no
// I/O: the caller verifies and writes what comes out (PieceWriter, on a disk worker).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "services/transfer/aligned_bytes.hpp"
#include "services/transfer/manifest.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

class PieceAssembler {
 public:
  // A whole piece, in a page-aligned buffer of its own that the callback keeps.
  using OnPiece =
      std::function<void(std::uint32_t piece, std::shared_ptr<const AlignedBytes> bytes)>;

  // Fails (as a protocol error from a sender) if `entry` is not a file of `manifest` or
  // `first` is past its last piece. Pieces are gathered in buffers from `buffers`: the one
  // copy a received byte gets before the disk.
  static Result<PieceAssembler> start(const Manifest& manifest, std::uint32_t entry,
                                      std::uint32_t first, std::shared_ptr<PieceBuffers> buffers);

  // Bytes of the stream, in order. Fails if they run past the file's end.
  Result<void> feed(std::span<const std::uint8_t> data, const OnPiece& on_piece);
  // The stream ended: the pieces not completed (a partial one is dropped and asked again).
  std::uint32_t next_piece() const { return piece_; }
  std::size_t buffered() const { return buffer_ ? buffer_->size() : 0; }

 private:
  PieceAssembler(std::uint64_t size, std::uint32_t piece_size, std::uint32_t pieces,
                 std::uint32_t first, std::shared_ptr<PieceBuffers> buffers)
      : size_(size),
        piece_size_(piece_size),
        pieces_(pieces),
        piece_(first),
        buffers_(std::move(buffers)) {}
  std::size_t piece_bytes() const;

  std::uint64_t size_;
  std::uint32_t piece_size_;
  std::uint32_t pieces_;
  std::uint32_t piece_;  // the piece being filled
  std::shared_ptr<PieceBuffers> buffers_;
  std::shared_ptr<AlignedBytes> buffer_;  // the piece being filled, once its first byte came
};

}  // namespace peerchat::transfer
