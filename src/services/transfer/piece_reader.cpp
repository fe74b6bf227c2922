#include "services/transfer/piece_reader.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "services/transfer/errors.hpp"
#include "services/transfer/manifest_builder.hpp"

namespace peerchat::transfer {

PieceReader::PieceReader(const Manifest& manifest, std::vector<std::filesystem::path> sources)
    : manifest_(manifest), sources_(std::move(sources)), buffer_(manifest.piece_size) {}

Result<std::span<const std::uint8_t>> PieceReader::read(std::uint32_t entry, std::uint32_t piece) {
  if (entry >= manifest_.entries.size() || entry >= sources_.size() ||
      manifest_.entries[entry].kind != EntryKind::file ||
      piece >= manifest_.entries[entry].pieces.size()) {
    return make_error(Errc::not_found,
                      fmt::format("no piece {} of entry {} in this offer", piece, entry));
  }
  const Entry& file = manifest_.entries[entry];
  const std::filesystem::path& source = sources_[entry];
  auto it = open_.find(entry);
  if (it == open_.end()) {
    UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return make_error(Errc::unreadable, fmt::format("{}: cannot open it any more ({})",
                                                      source.string(), std::strerror(errno)));
    }
    it = open_.emplace(entry, std::move(fd)).first;
  }
  const std::uint64_t offset = std::uint64_t{piece} * manifest_.piece_size;
  const auto size =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(manifest_.piece_size, file.size - offset));
  Sha256 hash{};
  if (!hash_piece(it->second.get(), offset, size, buffer_, hash)) {
    if (errno == 0) {
      return make_error(Errc::changed, fmt::format("{}: it got shorter since it was offered; "
                                                   "offer it again",
                                                   source.string()));
    }
    return make_error(Errc::unreadable, fmt::format("{}: cannot read it ({})", source.string(),
                                                    std::strerror(errno)));
  }
  if (hash != file.pieces[piece]) {
    return make_error(Errc::changed, fmt::format("{}: it changed since it was offered; offer it "
                                                 "again",
                                                 source.string()));
  }
  return std::span<const std::uint8_t>(buffer_.data(), size);
}

void PieceReader::close(std::uint32_t entry) {
  open_.erase(entry);
}

}  // namespace peerchat::transfer
