#include "services/transfer/piece_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "services/transfer/aligned_bytes.hpp"

namespace peerchat::transfer {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kPiece = 16u << 10;  // small pieces keep the test quick

struct Sample {
  Manifest manifest;
  std::vector<std::vector<std::uint8_t>> contents;  // by entry
};

Sample sample(const std::vector<std::size_t>& sizes, std::uint32_t piece_size = kPiece) {
  Sample out;
  out.manifest.piece_size = piece_size;
  out.manifest.entries.push_back(Entry{EntryKind::folder, "dir", 0, {}, {}});
  out.contents.emplace_back();
  std::mt19937 random(5);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::vector<std::uint8_t> bytes(sizes[i]);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(random());
    Entry entry{EntryKind::file, "dir/f" + std::to_string(i), sizes[i], {}, {}};
    for (std::size_t at = 0; at < bytes.size(); at += piece_size) {
      Sha256 hash{};
      SHA256(bytes.data() + at, std::min<std::size_t>(piece_size, bytes.size() - at), hash.data());
      entry.pieces.push_back(hash);
    }
    SHA256(bytes.data(), bytes.size(), entry.sha256.data());
    out.manifest.entries.push_back(entry);
    out.contents.push_back(std::move(bytes));
  }
  return out;
}

std::span<const std::uint8_t> piece_of(const Sample& s, std::uint32_t entry, std::uint32_t piece) {
  const auto& bytes = s.contents[entry];
  const std::size_t size = s.manifest.piece_size;
  const std::size_t at = std::size_t{piece} * size;
  return std::span(bytes).subspan(at, std::min<std::size_t>(size, bytes.size() - at));
}

class PieceWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-pieces-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  PieceWriter::OpenPart opener() {
    return [this](std::uint32_t entry) -> Result<UniqueFd> {
      const fs::path path = dir_ / ("part" + std::to_string(entry));
      UniqueFd fd(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
      if (!fd) return make_error(std::error_code(errno, std::generic_category()), "open");
      return fd;
    };
  }
  std::vector<std::uint8_t> part(std::uint32_t entry) const {
    std::ifstream in(dir_ / ("part" + std::to_string(entry)), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  fs::path dir_;
};

TEST_F(PieceWriterTest, PiecesInAnyOrderMakeTheExactFileOnceSynced) {
  const Sample s = sample({3 * kPiece + 5, kPiece, 1});
  PieceMap held(s.manifest);
  PieceWriter writer(s.manifest, held, opener());
  std::vector<PieceRef> all;
  for (std::uint32_t entry = 1; entry < s.manifest.entries.size(); ++entry) {
    for (std::uint32_t piece = 0; piece < s.manifest.entries[entry].pieces.size(); ++piece) {
      all.push_back({entry, piece});
    }
  }
  std::shuffle(all.begin(), all.end(), std::mt19937(9));
  for (const auto& ref : all) {
    auto verdict = writer.write(ref.entry, ref.piece, piece_of(s, ref.entry, ref.piece));
    ASSERT_TRUE(verdict.ok()) << verdict.error().message;
    EXPECT_EQ(*verdict, PieceVerdict::written);
  }
  // Written is not held: only a sync makes them count.
  EXPECT_EQ(held.verified_bytes(), 0u);
  EXPECT_FALSE(held.complete());
  auto durable = writer.sync();
  ASSERT_TRUE(durable.ok());
  EXPECT_EQ(durable->size(), all.size());
  EXPECT_TRUE(held.complete());
  EXPECT_EQ(held.verified_bytes(), 4 * kPiece + 6);
  for (std::uint32_t entry = 1; entry < s.manifest.entries.size(); ++entry) {
    EXPECT_EQ(part(entry), s.contents[entry]) << entry;
  }
  // A piece already held is not written again.
  EXPECT_EQ(*writer.write(1, 0, piece_of(s, 1, 0)), PieceVerdict::unwanted);
}

TEST_F(PieceWriterTest, ABadPieceWritesNothingAndStaysMissing) {
  const Sample s = sample({2 * kPiece});
  PieceMap held(s.manifest);
  PieceWriter writer(s.manifest, held, opener());
  std::vector<std::uint8_t> wrong(piece_of(s, 1, 1).begin(), piece_of(s, 1, 1).end());
  wrong[100] ^= 1;
  EXPECT_EQ(*writer.write(1, 1, wrong), PieceVerdict::bad_hash);
  EXPECT_EQ(*writer.write(1, 1, piece_of(s, 1, 1).first(10)), PieceVerdict::bad_hash);
  EXPECT_EQ(*writer.write(1, 0, piece_of(s, 1, 1)), PieceVerdict::bad_hash);  // another's bytes
  EXPECT_EQ(*writer.write(1, 2, piece_of(s, 1, 1)), PieceVerdict::unwanted);  // no such piece
  EXPECT_EQ(*writer.write(0, 0, piece_of(s, 1, 1)), PieceVerdict::unwanted);  // a folder
  ASSERT_TRUE(writer.sync().ok());
  EXPECT_TRUE(part(1).empty());  // nothing reached the file
  EXPECT_EQ(held.missing(10, 100).size(), 1u);
}

TEST_F(PieceWriterTest, WithoutASyncNothingIsHeldSoACrashLosesNoClaim) {
  const Sample s = sample({3 * kPiece});
  PieceMap held(s.manifest);
  {
    PieceWriter writer(s.manifest, held, opener());
    ASSERT_EQ(*writer.write(1, 0, piece_of(s, 1, 0)), PieceVerdict::written);
    ASSERT_TRUE(writer.sync().ok());
    ASSERT_EQ(*writer.write(1, 2, piece_of(s, 1, 2)), PieceVerdict::written);
  }  // gone before its next sync, as in a kill -9
  EXPECT_TRUE(held.has(1, 0));
  EXPECT_FALSE(held.has(1, 2));
  // The restarted receiver asks again for exactly what is not held.
  const auto ranges = held.missing(10, 100);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].first, 1u);
  EXPECT_EQ(ranges[0].count, 2u);
}

TEST_F(PieceWriterTest, ADiskFullIsAnErrorThatSaysSoAndHoldsNothing) {
  const Sample s = sample({kPiece});
  PieceMap held(s.manifest);
  PieceWriter writer(s.manifest, held, [](std::uint32_t) -> Result<UniqueFd> {
    return UniqueFd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  });
  auto verdict = writer.write(1, 0, piece_of(s, 1, 0));
  ASSERT_FALSE(verdict.ok());
  EXPECT_EQ(verdict.error().code, std::error_code(ENOSPC, std::generic_category()));
  EXPECT_NE(verdict.error().message.find("free some space"), std::string::npos);
  ASSERT_TRUE(writer.sync().ok());
  EXPECT_FALSE(held.has(1, 0));
}

TEST(PieceMap, MissingRangesRespectLimitsAndWhatIsInFlight) {
  Manifest manifest;
  manifest.piece_size = kPiece;
  manifest.entries.push_back(Entry{EntryKind::file, "a", 10 * kPiece, std::vector<Sha256>(10), {}});
  manifest.entries.push_back(Entry{EntryKind::folder, "d", 0, {}, {}});
  manifest.entries.push_back(
      Entry{EntryKind::file, "b", 3 * kPiece - 1, std::vector<Sha256>(3), {}});
  manifest.entries.push_back(Entry{EntryKind::file, "empty", 0, {}, {}});
  PieceMap held(manifest);
  EXPECT_TRUE(held.file_complete(3));  // an empty file has nothing to fetch
  for (std::uint32_t piece : {2u, 3u, 7u}) held.set(0, piece);
  PieceMap asked(manifest);
  asked.set(0, 0);
  const auto ranges = held.missing(10, 3, &asked);
  // a: 1 | 4 5 6 | 8 9 ; b: 0 1 2
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_EQ((std::vector<std::uint32_t>{ranges[0].first, ranges[0].count}),
            (std::vector<std::uint32_t>{1, 1}));
  EXPECT_EQ((std::vector<std::uint32_t>{ranges[1].first, ranges[1].count}),
            (std::vector<std::uint32_t>{4, 3}));
  EXPECT_EQ((std::vector<std::uint32_t>{ranges[2].first, ranges[2].count}),
            (std::vector<std::uint32_t>{8, 2}));
  EXPECT_EQ((std::vector<std::uint32_t>{ranges[3].entry, ranges[3].first, ranges[3].count}),
            (std::vector<std::uint32_t>{2, 0, 3}));
  EXPECT_EQ(held.missing(2, 3).size(), 2u);
  EXPECT_EQ(held.verified_bytes(), 3 * kPiece);
  // The stored bitmap restores the same map; a bitmap not of this file is refused.
  PieceMap restarted(manifest);
  ASSERT_TRUE(restarted.restore(0, held.bitmap(0)));
  EXPECT_EQ(restarted.verified_bytes(), 3 * kPiece);
  EXPECT_TRUE(restarted.has(0, 7));
  EXPECT_FALSE(restarted.restore(0, std::vector<std::uint8_t>{1}));     // too short
  EXPECT_FALSE(restarted.restore(2, std::vector<std::uint8_t>{0xFF}));  // past piece 2
  EXPECT_TRUE(restarted.has(0, 7));
}

// Pages of the file at `path` that sit in the page cache.
std::size_t resident_pages(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  const auto size = static_cast<std::size_t>(fs::file_size(path));
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return SIZE_MAX;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((size + page - 1) / page);
  const int got = ::mincore(map, size, in_core.data());
  ::munmap(map, size);
  if (got != 0) return SIZE_MAX;
  return static_cast<std::size_t>(
      std::count_if(in_core.begin(), in_core.end(), [](unsigned char bit) { return bit & 1; }));
}

TEST_F(PieceWriterTest, WholeAlignedPiecesGoPastThePageCacheAndTheTailThroughIt) {
  // Three whole pieces and a short one; the whole ones from page-aligned copies (as the
  // service makes them) are written with O_DIRECT, the short one cannot be and is buffered.
  // (Pieces under 256 KiB never go direct: small files are faster through the page cache.)
  constexpr std::uint32_t kBig = 256u << 10;
  const Sample s = sample({3 * kBig + 100}, kBig);
  PieceMap held(s.manifest);
  PieceWriter writer(s.manifest, held, opener());
  const auto buffers = PieceBuffers::make(2);
  for (std::uint32_t piece = 0; piece < 4; ++piece) {
    const auto copy = buffers->copy(piece_of(s, 1, piece));
    auto verdict = writer.write(1, piece, copy->bytes());
    ASSERT_TRUE(verdict.ok()) << verdict.error().message;
    EXPECT_EQ(*verdict, PieceVerdict::written);
  }
  ASSERT_TRUE(writer.sync().ok());
  writer.close(1);
  const fs::path path = dir_ / "part1";
  const std::size_t resident = resident_pages(path);
  EXPECT_EQ(part(1), s.contents[1]);  // reads it back: only after counting
  // Where the file system has no O_DIRECT (tmpfs before Linux 6.6) the writer falls back to
  // the page cache, and only the bytes above can be checked.
  UniqueFd probe(::open((dir_ / "probe").c_str(), O_CREAT | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600));
  if (!probe) GTEST_SKIP() << "no O_DIRECT on " << dir_;
  ASSERT_NE(resident, SIZE_MAX);
  EXPECT_LE(resident, 1u) << "whole pieces went through the page cache";  // the tail's page

  // A small file's piece, aligned as well, is buffered.
  fs::remove(path);
  const Sample little = sample({kPiece});
  PieceMap little_held(little.manifest);
  PieceWriter little_writer(little.manifest, little_held, opener());
  const auto copy = buffers->copy(piece_of(little, 1, 0));
  ASSERT_TRUE(little_writer.write(1, 0, copy->bytes()).ok());
  little_writer.close(1);
  EXPECT_EQ(resident_pages(path), kPiece / 4096) << "a small piece went past the page cache";
}

}  // namespace
}  // namespace peerchat::transfer
