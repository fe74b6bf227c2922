#include "services/transfer/piece_assembler.hpp"

#include <gtest/gtest.h>

#include <random>

namespace peerchat::transfer {
namespace {

constexpr std::uint32_t kPiece = 16u << 10;

Manifest one_file(std::uint64_t size) {
  Manifest manifest;
  manifest.piece_size = kPiece;
  manifest.entries.push_back(Entry{EntryKind::folder, "d", 0, {}, {}});
  manifest.entries.push_back(
      Entry{EntryKind::file, "d/f", size, std::vector<Sha256>(piece_count(size, kPiece)), {}});
  return manifest;
}

TEST(PieceAssembler, AnyChunkingGivesTheSamePiecesAtTheManifestsBoundaries) {
  const std::uint64_t size = 5 * kPiece + 123;
  const Manifest manifest = one_file(size);
  std::vector<std::uint8_t> bytes(size - 2 * kPiece);  // the stream from piece 2 on
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  std::mt19937 random(3);
  for (int round = 0; round < 50; ++round) {
    auto assembler = PieceAssembler::start(manifest, 1, 2, PieceBuffers::make(4));
    ASSERT_TRUE(assembler.ok());
    std::vector<std::pair<std::uint32_t, std::vector<std::uint8_t>>> pieces;
    const auto collect = [&](std::uint32_t piece, std::shared_ptr<const AlignedBytes> data) {
      // Each piece in its own page-aligned buffer, as O_DIRECT needs.
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(data->bytes().data()) % AlignedBytes::kAlignment,
                0u);
      pieces.emplace_back(piece,
                          std::vector<std::uint8_t>(data->bytes().begin(), data->bytes().end()));
    };
    for (std::size_t at = 0; at < bytes.size();) {
      const std::size_t n = std::min<std::size_t>(1 + random() % (3 * kPiece), bytes.size() - at);
      ASSERT_TRUE(assembler->feed(std::span(bytes).subspan(at, n), collect).ok());
      at += n;
    }
    ASSERT_EQ(pieces.size(), 4u);
    for (std::uint32_t i = 0; i < 4; ++i) {
      EXPECT_EQ(pieces[i].first, 2 + i);
      const std::size_t start = std::size_t{i} * kPiece;
      const std::size_t length = i < 3 ? kPiece : 123;
      ASSERT_EQ(pieces[i].second.size(), length);
      EXPECT_TRUE(std::equal(pieces[i].second.begin(), pieces[i].second.end(),
                             bytes.begin() + static_cast<std::ptrdiff_t>(start)));
    }
    EXPECT_EQ(assembler->next_piece(), 6u);
    EXPECT_EQ(assembler->buffered(), 0u);
  }
}

TEST(PieceAssembler, BytesPastTheFileOrAStartOutsideItAreRefused) {
  const Manifest manifest = one_file(kPiece + 10);
  EXPECT_FALSE(PieceAssembler::start(manifest, 0, 0, PieceBuffers::make(1)).ok());  // a folder
  EXPECT_FALSE(PieceAssembler::start(manifest, 2, 0, PieceBuffers::make(1)).ok());  // no such entry
  EXPECT_FALSE(
      PieceAssembler::start(manifest, 1, 2, PieceBuffers::make(1)).ok());  // past the last piece
  auto assembler = PieceAssembler::start(manifest, 1, 1, PieceBuffers::make(1));
  ASSERT_TRUE(assembler.ok());
  int seen = 0;
  const auto count = [&](std::uint32_t, std::shared_ptr<const AlignedBytes> data) {
    EXPECT_EQ(data->size(), 10u);
    ++seen;
  };
  const std::vector<std::uint8_t> eleven(11, 1);
  EXPECT_FALSE(assembler->feed(eleven, count).ok());
  EXPECT_EQ(seen, 1);  // the piece itself was whole
  // A partial piece at the end of a stream is kept out: the caller asks for it again.
  auto partial = PieceAssembler::start(manifest, 1, 0, PieceBuffers::make(1));
  ASSERT_TRUE(partial->feed(std::vector<std::uint8_t>(100, 2), count).ok());
  EXPECT_EQ(partial->next_piece(), 0u);
  EXPECT_EQ(partial->buffered(), 100u);
}

}  // namespace
}  // namespace peerchat::transfer
