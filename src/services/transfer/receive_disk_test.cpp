// ReceiveDisk: pieces in any order make the same file, checked whole before it gets its name.
#include "services/transfer/receive_disk.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include <fstream>

namespace peerchat::transfer {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  Fixture() {
    char pattern[] = "/tmp/peerchat-receive-disk-test-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern), nullptr);
    root = pattern;
    content.resize(3 * kPieceSize + 77);
    for (std::size_t i = 0; i < content.size(); ++i)
      content[i] = static_cast<std::uint8_t>(i * 31 + i / 4099);
    Entry file{EntryKind::file, "f.bin", content.size(), {}, {}};
    for (std::size_t at = 0; at < content.size(); at += kPieceSize) {
      Sha256 hash{};
      SHA256(content.data() + at, std::min<std::size_t>(kPieceSize, content.size() - at),
             hash.data());
      file.pieces.push_back(hash);
    }
    SHA256(content.data(), content.size(), file.sha256.data());
    auto built = std::make_shared<Manifest>();
    built->entries.push_back(file);
    manifest = built;
  }
  ~Fixture() { fs::remove_all(root); }
  std::span<const std::uint8_t> piece(std::uint32_t i) const {
    const std::size_t at = std::size_t{i} * kPieceSize;
    return std::span(content).subspan(at, std::min<std::size_t>(kPieceSize, content.size() - at));
  }
  fs::path root;
  std::vector<std::uint8_t> content;
  std::shared_ptr<const Manifest> manifest;
};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A first run of the receiver: accepts into root/in, writes `pieces`, syncs them if `synced`,
// then is gone (a restart follows). Returns where the file's names went.
Placement run_before_restart(const Fixture& f, std::vector<std::uint32_t> pieces, bool synced) {
  auto disk = ReceiveDisk::accept(f.manifest, f.root / "in");
  EXPECT_TRUE(disk.ok());
  if (!disk.ok()) return {};
  for (const auto piece : pieces) {
    EXPECT_TRUE((*disk)->write(0, piece, f.piece(piece)).ok());
  }
  if (synced) {
    EXPECT_TRUE((*disk)->sync().ok());
  }
  return (*disk)->placement();
}

TEST(ReceiveDisk, PiecesOutOfOrderMakeTheFileAndItsHashIsCheckedWhole) {
  Fixture f;
  auto disk = ReceiveDisk::accept(f.manifest, f.root / "in");
  ASSERT_TRUE(disk.ok()) << disk.error().message;
  for (std::uint32_t piece : {2u, 0u, 3u, 1u}) {
    auto verdict = (*disk)->write(0, piece, f.piece(piece));
    ASSERT_TRUE(verdict.ok());
    EXPECT_EQ(*verdict, PieceVerdict::written);
  }
  auto held = (*disk)->sync();
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->size(), 4u);
  auto finished = (*disk)->finish({0});
  auto& saved = finished.at(0);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(*saved, f.root / "in" / "f.bin");
  EXPECT_EQ(read_all(*saved), std::string(f.content.begin(), f.content.end()));
}

TEST(ReceiveDisk, AResumedTransferFinishesWhatARestartLeftAndRefusesAWrongWhole) {
  Fixture f;
  const Placement placement = run_before_restart(f, {0, 1}, /*synced=*/true);
  PieceMap held(*f.manifest);
  held.set(0, 0);
  held.set(0, 1);
  auto disk = ReceiveDisk::resume(f.manifest, f.root / "in", placement, held);
  ASSERT_TRUE(disk.ok()) << disk.error().message;
  EXPECT_EQ((*disk)->write(0, 1, f.piece(1)).value(), PieceVerdict::unwanted);  // held already
  ASSERT_TRUE((*disk)->write(0, 3, f.piece(3)).ok());
  ASSERT_TRUE((*disk)->write(0, 2, f.piece(2)).ok());
  ASSERT_TRUE((*disk)->sync().ok());
  auto finished = (*disk)->finish({0});
  auto& saved = finished.at(0);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(read_all(*saved), std::string(f.content.begin(), f.content.end()));

  // A manifest whose whole-file hash disagrees with its pieces: never saved under its name.
  auto lying = std::make_shared<Manifest>(*f.manifest);
  lying->entries[0].path = "lie.bin";
  lying->entries[0].sha256[0] ^= 1;
  auto other = ReceiveDisk::accept(lying, f.root / "in");
  ASSERT_TRUE(other.ok());
  for (std::uint32_t piece = 0; piece < 4; ++piece)
    ASSERT_TRUE((*other)->write(0, piece, f.piece(piece)).ok());
  ASSERT_TRUE((*other)->sync().ok());
  EXPECT_FALSE((*other)->finish({0}).at(0).ok());
  EXPECT_FALSE(fs::exists(f.root / "in" / "lie.bin"));
}

TEST(ReceiveDisk, ABadPieceNeverReachesTheFileOrItsRunningHash) {
  Fixture f;
  auto disk = ReceiveDisk::accept(f.manifest, f.root / "in");
  ASSERT_TRUE(disk.ok());
  std::vector<std::uint8_t> bad(f.piece(0).begin(), f.piece(0).end());
  bad[100] ^= 0x40;
  EXPECT_EQ((*disk)->check(0, 0, bad), PieceVerdict::bad_hash);
  EXPECT_EQ((*disk)->check(0, 0, f.piece(0).first(10)), PieceVerdict::bad_hash);  // short
  EXPECT_EQ((*disk)->check(0, 9, f.piece(0)), PieceVerdict::unwanted);            // no such piece
  EXPECT_EQ((*disk)->check(1, 0, f.piece(0)), PieceVerdict::unwanted);            // no such entry
  // The good pieces, in order, after the bad one: the whole-file hash comes out right.
  for (std::uint32_t piece = 0; piece < 4; ++piece) {
    ASSERT_TRUE((*disk)->write(0, piece, f.piece(piece)).ok());
  }
  ASSERT_TRUE((*disk)->sync().ok());
  auto finished = (*disk)->finish({0});
  ASSERT_TRUE(finished.at(0).ok()) << finished.at(0).error().message;
  EXPECT_EQ(read_all(*finished.at(0)), std::string(f.content.begin(), f.content.end()));
}

TEST(ReceiveDisk, AfterARestartPiecesThePartHoldsButTheStoreMissedAreTakenBack) {
  Fixture f;
  // Written, never synced nor stored: the process "dies" here.
  const Placement placement = run_before_restart(f, {0, 2}, /*synced=*/false);
  {
    // Half of piece 1 made it before the death: not taken back.
    std::fstream part(f.root / "in" / "f.bin.part",
                      std::ios::in | std::ios::out | std::ios::binary);
    part.seekp(static_cast<std::streamoff>(kPieceSize));
    part.write(reinterpret_cast<const char*>(f.piece(1).data()),
               static_cast<std::streamsize>(kPieceSize / 2));
  }
  PieceMap held(*f.manifest);  // the store knew of nothing
  auto disk = ReceiveDisk::resume(f.manifest, f.root / "in", placement, held);
  ASSERT_TRUE(disk.ok()) << disk.error().message;
  auto recovered = (*disk)->recover({false});
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  std::vector<std::uint32_t> pieces;
  for (const auto& ref : *recovered) pieces.push_back(ref.piece);
  EXPECT_EQ(pieces, (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ((*disk)->write(0, 0, f.piece(0)).value(), PieceVerdict::unwanted);  // held now
  ASSERT_TRUE((*disk)->write(0, 1, f.piece(1)).ok());
  ASSERT_TRUE((*disk)->write(0, 3, f.piece(3)).ok());
  ASSERT_TRUE((*disk)->sync().ok());
  auto finished = (*disk)->finish({0});
  ASSERT_TRUE(finished.at(0).ok()) << finished.at(0).error().message;
  EXPECT_EQ(read_all(*finished.at(0)), std::string(f.content.begin(), f.content.end()));
  // A finished file is left alone.
  EXPECT_TRUE((*disk)->recover({true})->empty());
  // A file not begun has no .part, and recovering does not make one.
  auto fresh = ReceiveDisk::accept(f.manifest, f.root / "fresh");
  ASSERT_TRUE(fresh.ok());
  auto none = (*fresh)->recover({false});
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(fs::exists(f.root / "fresh" / "f.bin.part"));
}

}  // namespace
}  // namespace peerchat::transfer
