#include "services/transfer/manifest.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "services/transfer/errors.hpp"
#include "services/transfer/manifest_builder.hpp"
#include "services/transfer/piece_reader.hpp"

namespace peerchat::transfer {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/peerchat-manifest-test-XXXXXX";
    if (::mkdtemp(pattern) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random());
  return bytes;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

Sha256 sha256(std::string_view bytes) {
  Sha256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  return out;
}

Manifest sample() {
  Manifest manifest;
  manifest.entries.push_back(Entry{EntryKind::folder, "album", 0, {}, {}});
  Entry file{EntryKind::file, "album/photo.jpg", kPieceSize + 1, {}, {}};
  file.pieces.resize(2);
  file.pieces[0].fill(1);
  file.pieces[1].fill(2);
  file.sha256.fill(3);
  manifest.entries.push_back(file);
  manifest.entries.push_back(Entry{EntryKind::file, "album/empty", 0, {}, {}});
  manifest.entries.push_back(Entry{EntryKind::folder, "album/nothing here", 0, {}, {}});
  return manifest;
}

TEST(Manifest, RoundTripsAndItsHashNamesItsEncoding) {
  const Manifest manifest = sample();
  const auto bytes = encode(manifest);
  auto decoded = decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->entries.size(), 4u);
  EXPECT_EQ(decoded->entries[1].path, "album/photo.jpg");
  EXPECT_EQ(decoded->entries[1].size, kPieceSize + 1);
  EXPECT_EQ(decoded->entries[1].pieces, manifest.entries[1].pieces);
  EXPECT_EQ(decoded->entries[1].sha256, manifest.entries[1].sha256);
  EXPECT_EQ(decoded->entries[3].kind, EntryKind::folder);
  EXPECT_EQ(decoded->total_bytes(), kPieceSize + 1);
  EXPECT_EQ(decoded->file_count(), 2u);
  EXPECT_EQ(encode(*decoded), bytes);  // deterministic: the same manifest, the same hash
  Manifest other = manifest;
  other.entries[1].pieces[1][0] ^= 1;
  EXPECT_NE(manifest_hash(encode(other)), manifest_hash(bytes));
}

TEST(Manifest, EveryTruncationAndEveryTrailingByteIsRefused) {
  const auto bytes = encode(sample());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(decode(std::span(bytes).first(size)).ok()) << size;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode(longer).ok());
}

TEST(Manifest, LimitsAndInconsistenciesAreRefusedBeforeAllocating) {
  auto header = [](std::uint8_t version, std::uint32_t piece, std::uint32_t count) {
    std::vector<std::uint8_t> out{version};
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(piece >> shift));
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(count >> shift));
    return out;
  };
  EXPECT_FALSE(decode(header(2, kPieceSize, 0)).ok());       // unknown version
  EXPECT_FALSE(decode(header(1, 100, 0)).ok());              // piece size too small
  EXPECT_FALSE(decode(header(1, kPieceSize, 50'001)).ok());  // too many entries
  EXPECT_FALSE(decode(header(1, kPieceSize, 40'000)).ok());  // more entries than bytes
  EXPECT_TRUE(decode(header(1, kPieceSize, 0)).ok());
  // A file claiming 1 TiB with no piece hashes behind it: refused, not a 32 MiB allocation.
  auto huge = header(1, kPieceSize, 1);
  huge.insert(huge.end(), {1, 0, 1, 'x'});
  for (int shift = 56; shift >= 0; shift -= 8)
    huge.push_back(static_cast<std::uint8_t>((1ull << 40) >> shift));
  huge.resize(huge.size() + 32);
  auto refused = decode(huge);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("piece hashes"), std::string::npos);
  // An unknown kind.
  auto odd = header(1, kPieceSize, 1);
  odd.insert(odd.end(), {9, 0, 1, 'x'});
  EXPECT_FALSE(decode(odd).ok());
}

TEST(ManifestBuilder, AFolderKeepsItsTreeEmptyFoldersAndExactHashes) {
  TempDir dir;
  const fs::path root = dir.path() / "trip";
  fs::create_directories(root / "empty");
  fs::create_directories(root / "b");
  const std::string one_piece = random_bytes(kPieceSize, 1);
  const std::string over = random_bytes(kPieceSize + 1, 2);
  write_file(root / "a.txt", "a");
  write_file(root / "b" / "piece", one_piece);
  write_file(root / "b" / "over", over);
  write_file(root / "zero", "");
  fs::create_symlink("/etc/passwd", root / "link");
  ASSERT_EQ(::mkfifo((root / "pipe").c_str(), 0600), 0);

  const std::vector<fs::path> paths{root};
  auto built = build_manifest(paths);
  ASSERT_TRUE(built.ok()) << built.error().message;
  std::vector<std::string> listed;
  for (const auto& entry : built->manifest.entries) listed.push_back(entry.path);
  EXPECT_EQ(listed, (std::vector<std::string>{"trip", "trip/a.txt", "trip/b", "trip/b/over",
                                              "trip/b/piece", "trip/empty", "trip/zero"}));
  ASSERT_EQ(built->skipped.size(), 2u);  // the link and the pipe, each with why
  EXPECT_NE(built->skipped[0].find("link"), std::string::npos);
  const auto& entries = built->manifest.entries;
  EXPECT_EQ(entries[3].size, kPieceSize + 1u);
  ASSERT_EQ(entries[3].pieces.size(), 2u);
  EXPECT_EQ(entries[3].pieces[0], sha256(std::string_view(over).substr(0, kPieceSize)));
  EXPECT_EQ(entries[3].pieces[1], sha256(std::string_view(over).substr(kPieceSize)));
  EXPECT_EQ(entries[3].sha256, sha256(over));
  ASSERT_EQ(entries[4].pieces.size(), 1u);
  EXPECT_EQ(entries[4].sha256, sha256(one_piece));
  EXPECT_TRUE(entries[6].pieces.empty());
  EXPECT_EQ(entries[6].sha256, sha256(""));
  EXPECT_EQ(entries[5].kind, EntryKind::folder);
  // What it encodes to decodes to the same.
  auto decoded = decode(encode(built->manifest));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->entries.size(), entries.size());
}

TEST(ManifestBuilder, MissingPathsClashingNamesAndCancelAreClearErrors) {
  TempDir dir;
  const std::vector<fs::path> missing{dir.path() / "nope"};
  auto refused = build_manifest(missing);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, make_error_code(Errc::not_found));
  EXPECT_NE(refused.error().message.find("nope"), std::string::npos);

  fs::create_directories(dir.path() / "x");
  fs::create_directories(dir.path() / "y" / "x");
  const std::vector<fs::path> clash{dir.path() / "x", dir.path() / "y" / "x"};
  EXPECT_FALSE(build_manifest(clash).ok());

  write_file(dir.path() / "big", random_bytes(3 * kPieceSize, 3));
  std::atomic<bool> cancel{false};
  BuildControl control;
  control.cancel = &cancel;
  std::uint64_t seen = 0;
  control.progress = [&](std::uint64_t hashed) {
    seen = hashed;
    cancel = true;  // after the first piece
  };
  const std::vector<fs::path> big{dir.path() / "big"};
  auto cancelled = build_manifest(big, control);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, make_error_code(Errc::cancelled));
  EXPECT_EQ(seen, kPieceSize);
}

TEST(PieceReader, SendsOnlyWhatTheManifestSaysAndNoticesAChangedFile) {
  TempDir dir;
  const fs::path path = dir.path() / "video";
  const std::string bytes = random_bytes(2 * kPieceSize + 10, 4);
  write_file(path, bytes);
  const std::vector<fs::path> paths{path};
  auto built = build_manifest(paths);
  ASSERT_TRUE(built.ok());
  PieceReader reader(built->manifest, built->sources);
  for (std::uint32_t piece = 0; piece < 3; ++piece) {
    auto read = reader.read(0, piece);
    ASSERT_TRUE(read.ok()) << read.error().message;
    const std::string_view expected =
        std::string_view(bytes).substr(piece * kPieceSize, kPieceSize);
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(read->data()), read->size()),
              expected);
  }
  EXPECT_EQ(reader.read(0, 3).error().code, make_error_code(Errc::not_found));
  // One byte changed in the middle piece: that piece is refused as changed, the others still go.
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(kPieceSize + 7);
    file.put(static_cast<char>(bytes[kPieceSize + 7] ^ 1));
  }
  auto changed = reader.read(0, 1);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, make_error_code(Errc::changed));
  EXPECT_NE(changed.error().message.find("offer it again"), std::string::npos);
  EXPECT_TRUE(reader.read(0, 0).ok());
  // Shorter now, then gone.
  fs::resize_file(path, kPieceSize + 3);
  EXPECT_EQ(reader.read(0, 2).error().code, make_error_code(Errc::changed));
  reader.close(0);
  fs::remove(path);
  EXPECT_EQ(reader.read(0, 0).error().code, make_error_code(Errc::unreadable));
}

}  // namespace
}  // namespace peerchat::transfer
