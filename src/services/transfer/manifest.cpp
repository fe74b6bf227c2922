#include "services/transfer/manifest.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>

#include "wire/bytes.hpp"
#include "wire/errors.hpp"
#include "wire/fields.hpp"

namespace peerchat::transfer {
namespace {

constexpr std::uint8_t kVersion = 1;
// Pieces a receiver accepts: ours are kPieceSize; a later version may choose another size, but
// never one that makes a piece too small to be worth a request or too big for memory.
constexpr std::uint32_t kMinPieceSize = 16u << 10;
constexpr std::uint32_t kMaxPieceSize = 16u << 20;

Error bad(std::string detail) {
  return wire::field_error(wire::Errc::bad_field, "MANIFEST", detail);
}

}  // namespace

std::uint64_t piece_count(std::uint64_t size, std::uint32_t piece_size) {
  return size / piece_size + (size % piece_size != 0 ? 1 : 0);
}

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& entry : entries) total += entry.size;
  return total;
}

std::size_t Manifest::file_count() const {
  std::size_t count = 0;
  for (const auto& entry : entries) count += entry.kind == EntryKind::file ? 1 : 0;
  return count;
}

std::vector<std::uint8_t> encode(const Manifest& manifest) {
  wire::Bytes out;
  wire::put_u8(out, kVersion);
  wire::put_u32(out, manifest.piece_size);
  wire::put_u32(out, static_cast<std::uint32_t>(manifest.entries.size()));
  for (const auto& entry : manifest.entries) {
    wire::put_u8(out, static_cast<std::uint8_t>(entry.kind));
    wire::put_u16(out, static_cast<std::uint16_t>(entry.path.size()));
    wire::put_text(out, entry.path);
    if (entry.kind != EntryKind::file) continue;
    wire::put_u64(out, entry.size);
    wire::put_bytes(out, entry.sha256);
    for (const auto& piece : entry.pieces) wire::put_bytes(out, piece);
  }
  return out;
}

Result<Manifest> decode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxManifestBytes) {
    return bad(fmt::format("{} bytes, over the limit of {}", bytes.size(), kMaxManifestBytes));
  }
  wire::Reader reader(bytes);
  const std::uint8_t version = reader.u8();
  Manifest manifest;
  manifest.piece_size = reader.u32();
  const std::uint32_t count = reader.u32();
  if (reader.failed()) return wire::field_error(wire::Errc::truncated, "MANIFEST", "no header");
  if (version != kVersion)
    return bad(fmt::format("version {} (this peer reads {})", version, kVersion));
  if (manifest.piece_size < kMinPieceSize || manifest.piece_size > kMaxPieceSize) {
    return bad(fmt::format("piece size {} outside {}..{}", manifest.piece_size, kMinPieceSize,
                           kMaxPieceSize));
  }
  if (count > kMaxEntries) {
    return bad(fmt::format("{} entries, over the limit of {}", count, kMaxEntries));
  }
  // Every entry takes at least 3 bytes: a count the bytes cannot hold allocates nothing.
  if (count > reader.remaining() / 3) {
    return wire::field_error(wire::Errc::truncated, "MANIFEST", "fewer entries than announced");
  }
  manifest.entries.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Entry entry;
    const std::uint8_t kind = reader.u8();
    const std::uint16_t path_size = reader.u16();
    if (path_size > kMaxPathBytes) {
      return bad(fmt::format("entry {}: a path of {} bytes, over the limit of {}", i, path_size,
                             kMaxPathBytes));
    }
    entry.path = reader.text(path_size);
    if (kind == static_cast<std::uint8_t>(EntryKind::folder)) {
      entry.kind = EntryKind::folder;
    } else if (kind == static_cast<std::uint8_t>(EntryKind::file)) {
      entry.size = reader.u64();
      reader.copy(entry.sha256);
      if (entry.size > kMaxFileBytes) {
        return bad(
            fmt::format("entry {}: {} bytes, over the limit of {}", i, entry.size, kMaxFileBytes));
      }
      const std::uint64_t pieces = piece_count(entry.size, manifest.piece_size);
      if (reader.failed() || pieces > reader.remaining() / sizeof(Sha256)) {
        return wire::field_error(
            wire::Errc::truncated, "MANIFEST",
            fmt::format("entry {}: fewer piece hashes than its size needs", i));
      }
      entry.pieces.resize(static_cast<std::size_t>(pieces));
      for (auto& piece : entry.pieces) reader.copy(piece);
    } else if (!reader.failed()) {
      return bad(fmt::format("entry {}: unknown kind {}", i, kind));
    }
    if (reader.failed()) {
      return wire::field_error(wire::Errc::truncated, "MANIFEST",
                               fmt::format("entry {} cut short", i));
    }
    manifest.entries.push_back(std::move(entry));
  }
  if (auto consumed = wire::check_consumed(reader, "MANIFEST"); !consumed) return consumed.error();
  return manifest;
}

Sha256 manifest_hash(std::span<const std::uint8_t> encoded) {
  Sha256 hash{};
  SHA256(encoded.data(), encoded.size(), hash.data());
  return hash;
}

}  // namespace peerchat::transfer
