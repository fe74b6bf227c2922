#include "services/transfer/receive_disk.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "services/transfer/errors.hpp"

namespace peerchat::transfer {

ReceiveDisk::ReceiveDisk(std::shared_ptr<const Manifest> manifest, Destination destination,
                         Placement placement)
    : manifest_(std::move(manifest)),
      destination_(std::move(destination)),
      placement_(std::move(placement)),
      held_(*manifest_),
      writer_(
          *manifest_, held_,
          [this](std::uint32_t entry) {
            return destination_.open_part(placement_, manifest_->entries.at(entry));
          },
          [this] { return destination_.sync_all(); }),
      hashes_(manifest_->entries.size()) {}

ReceiveDisk::~ReceiveDisk() {
  for (auto& hash : hashes_) EVP_MD_CTX_free(hash.context);
}

Result<std::unique_ptr<ReceiveDisk>> ReceiveDisk::accept(std::shared_ptr<const Manifest> manifest,
                                                         const std::filesystem::path& dir) {
  auto destination = Destination::open(dir);
  if (!destination) return destination.error();
  auto placement = destination->place(*manifest);
  if (!placement) return placement.error();
  if (auto made = destination->make_folders(*placement, *manifest); !made) return made.error();
  return std::unique_ptr<ReceiveDisk>(
      new ReceiveDisk(std::move(manifest), std::move(*destination), std::move(*placement)));
}

Result<std::unique_ptr<ReceiveDisk>> ReceiveDisk::resume(std::shared_ptr<const Manifest> manifest,
                                                         const std::filesystem::path& dir,
                                                         Placement placement,
                                                         const PieceMap& held) {
  auto destination = Destination::open(dir);
  if (!destination) return destination.error();
  if (auto made = destination->make_folders(placement, *manifest); !made) return made.error();
  std::unique_ptr<ReceiveDisk> disk(
      new ReceiveDisk(std::move(manifest), std::move(*destination), std::move(placement)));
  for (std::uint32_t entry = 0; entry < disk->manifest_->entries.size(); ++entry) {
    (void)disk->held_.restore(entry, held.bitmap(entry));
  }
  return disk;
}

ReceiveDisk::Hashing& ReceiveDisk::hashing(std::uint32_t entry) {
  Hashing& hash = hashes_.at(entry);
  if (hash.context == nullptr) {
    hash.context = EVP_MD_CTX_new();
    if (hash.context == nullptr || EVP_DigestInit_ex(hash.context, EVP_sha256(), nullptr) != 1) {
      throw std::bad_alloc();  // OpenSSL out of memory: nothing sensible to carry on with
    }
  }
  return hash;
}

std::optional<PieceVerdict> ReceiveDisk::check(std::uint32_t entry, std::uint32_t piece,
                                               std::span<const std::uint8_t> bytes) {
  if (auto refused = writer_.check(entry, piece, bytes)) return refused;
  // A good piece that is the next one the file's hash needs: taken now, even if its write
  // fails (it comes again with the same bytes, and is then not taken twice).
  Hashing& hash = hashing(entry);
  if (hash.next == piece) {
    EVP_DigestUpdate(hash.context, bytes.data(), bytes.size());
    ++hash.next;
  }
  return std::nullopt;
}

Result<PieceVerdict> ReceiveDisk::write(std::uint32_t entry, std::uint32_t piece,
                                        std::span<const std::uint8_t> bytes) {
  if (auto refused = check(entry, piece, bytes)) return *refused;
  return writer_.write_checked(entry, piece, bytes);
}

Result<std::vector<PieceRef>> ReceiveDisk::recover(const std::vector<bool>& finished) {
  std::vector<PieceRef> recovered;
  std::vector<std::uint8_t> buffer(manifest_->piece_size);
  for (std::uint32_t entry = 0; entry < manifest_->entries.size(); ++entry) {
    const Entry& file = manifest_->entries[entry];
    if (file.kind != EntryKind::file || file.pieces.empty() ||
        (entry < finished.size() && finished[entry]) ||
        held_.held_in(entry) == held_.pieces_in(entry)) {
      continue;
    }
    auto part = destination_.open_part(placement_, file, /*create=*/false);
    if (!part && part.error().code == std::errc::no_such_file_or_directory) continue;  // not begun
    if (!part) return part.error();
    struct stat info {};
    if (::fstat(part->get(), &info) != 0 || info.st_size == 0) continue;
    const auto written = static_cast<std::uint64_t>(info.st_size);
    bool any = false;
    for (std::uint32_t piece = 0; piece < file.pieces.size(); ++piece) {
      const std::uint64_t offset = std::uint64_t{piece} * manifest_->piece_size;
      if (offset >= written) break;
      if (held_.has(entry, piece)) continue;
      const auto size = static_cast<std::size_t>(
          std::min<std::uint64_t>(manifest_->piece_size, file.size - offset));
      // A piece never written is a hole: nothing to read.
      const off_t data = ::lseek(part->get(), static_cast<off_t>(offset), SEEK_DATA);
      if (data < 0) break;  // no data from here on
      if (static_cast<std::uint64_t>(data) >= offset + size) continue;
      std::size_t done = 0;
      while (done < size) {
        const ssize_t got = ::pread(part->get(), buffer.data() + done, size - done,
                                    static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        done += static_cast<std::size_t>(got);
      }
      if (done != size || writer_.check(entry, piece, std::span(buffer).first(size))) continue;
      recovered.push_back(PieceRef{entry, piece});
      any = true;
    }
    if (any && ::fdatasync(part->get()) != 0) {
      std::erase_if(recovered, [&](const PieceRef& ref) { return ref.entry == entry; });
    }
  }
  for (const auto& ref : recovered) held_.set(ref.entry, ref.piece);
  return recovered;
}

Result<std::vector<PieceRef>> ReceiveDisk::sync() {
  return writer_.sync();
}

std::vector<Result<std::filesystem::path>> ReceiveDisk::finish(
    const std::vector<std::uint32_t>& entries) {
  std::vector<Result<std::filesystem::path>> saved;
  bool renamed = false;
  for (const auto entry : entries) {
    saved.push_back(finish_one(entry, /*durable=*/entries.size() == 1));
    renamed = renamed || saved.back().ok();
  }
  if (entries.size() > 1 && renamed) {
    // The renames (their data was synced before, piece by piece) on disk in one go.
    if (auto synced = destination_.sync_all(); !synced) {
      for (auto& result : saved) {
        if (result) result = synced.error();
      }
    }
  }
  return saved;
}

Result<std::filesystem::path> ReceiveDisk::finish_one(std::uint32_t entry, bool durable) {
  const Entry& file = manifest_->entries.at(entry);
  writer_.close(entry);
  if (file.pieces.empty()) {
    // An empty file never got a piece: make its (empty) .part now.
    auto part = destination_.open_part(placement_, file);
    if (!part) return part.error();
  }
  Hashing& hash = hashing(entry);
  if (hash.next < file.pieces.size()) {
    // Pieces that came out of order (a resume, a re-fetch): read them back from the .part.
    auto part = destination_.open_part(placement_, file);
    if (!part) return part.error();
    std::vector<std::uint8_t> buffer(manifest_->piece_size);
    for (std::uint32_t piece = hash.next; piece < file.pieces.size(); ++piece) {
      const std::uint64_t offset = std::uint64_t{piece} * manifest_->piece_size;
      const auto size = static_cast<std::size_t>(
          std::min<std::uint64_t>(manifest_->piece_size, file.size - offset));
      std::size_t done = 0;
      while (done < size) {
        const ssize_t got = ::pread(part->get(), buffer.data() + done, size - done,
                                    static_cast<off_t>(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          return make_error(Errc::unreadable,
                            fmt::format("cannot read back {}.part: {}", file.path,
                                        got == 0 ? "it is short" : std::strerror(errno)));
        }
        done += static_cast<std::size_t>(got);
      }
      EVP_DigestUpdate(hash.context, buffer.data(), size);
    }
    hash.next = static_cast<std::uint32_t>(file.pieces.size());
  }
  Sha256 whole{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(hash.context, whole.data(), &length);
  EVP_MD_CTX_free(hash.context);
  hash.context = nullptr;
  if (whole != file.sha256) {
    // Every piece matched, the whole does not: the manifest's own hashes disagree with each
    // other, which only a sender can cause.
    return make_error(Errc::changed, fmt::format("{}: its pieces do not add up to the file's "
                                                 "SHA-256 the sender announced",
                                                 file.path));
  }
  return destination_.finish(placement_, file, durable);
}

void ReceiveDisk::remove_parts(const std::vector<bool>& finished) {
  for (std::uint32_t entry = 0; entry < manifest_->entries.size(); ++entry) {
    const Entry& file = manifest_->entries[entry];
    if (file.kind != EntryKind::file || (entry < finished.size() && finished[entry])) continue;
    writer_.close(entry);
    (void)destination_.remove_part(placement_, file);
  }
}

}  // namespace peerchat::transfer
