#include "cli/transfer_render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "cli/render.hpp"

namespace peerchat::cli {
namespace {

using Kind = node::event::Transfer::Kind;
using transfer::Direction;

constexpr std::size_t kBarWidth = 20;
constexpr std::size_t kFilesShown = 5;  // in an offer or a summary; then "and N more"

std::string plural(std::size_t count, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", count, count == 1 ? one : many);
}

std::string title_of(const transfer::TransferView& view) {
  return view.title.empty() ? std::string("files") : sanitize_for_terminal(view.title);
}

std::string peer_of(const node::event::Transfer& e) {
  return sanitize_for_terminal(e.name.empty() ? e.view.peer.fingerprint() : e.name);
}

std::string file_list(const std::vector<transfer::FileView>& files) {
  std::string text;
  const std::size_t shown = std::min(files.size(), kFilesShown);
  for (std::size_t i = 0; i < shown; ++i) {
    text += fmt::format("\n    {}  ({})", sanitize_for_terminal(files[i].path),
                        human_bytes(files[i].size));
  }
  if (files.size() > shown) text += fmt::format("\n    and {} more", files.size() - shown);
  return text;
}

std::string offered(const node::event::Transfer& e) {
  const auto& v = e.view;
  const std::string id = short_transfer_id(v.id);
  if (v.direction == Direction::out) {
    return fmt::format("* offering \"{}\" ({}, {}) to {} [{}]; waiting for an answer (/cancel {})",
                       title_of(v), plural(v.files, "file", "files"), human_bytes(v.total_bytes),
                       peer_of(e), id, id);
  }
  std::string text =
      fmt::format("* {} ({}) offers \"{}\": {}, {} [{}]", peer_of(e), v.peer.fingerprint(),
                  title_of(v), plural(v.files, "file", "files"), human_bytes(v.total_bytes), id);
  text += file_list(e.files);
  if (e.free_bytes != 0) {
    text +=
        fmt::format("\n  {} free in {}{}", human_bytes(e.free_bytes),
                    e.download_dir.empty() ? std::string("the download folder")
                                           : fmt::format("the download folder {}", e.download_dir),
                    e.free_bytes < v.total_bytes ? ": NOT ENOUGH ROOM, /accept into another "
                                                   "folder or free some space"
                                                 : "");
  }
  text += fmt::format("\n  /accept {} [DIR] to take it, /decline {} to refuse it", id, id);
  return text;
}

std::string done(const node::event::Transfer& e) {
  const auto& v = e.view;
  const std::size_t count = e.files.empty() ? v.files : e.files.size();
  if (v.direction == Direction::out) {
    return fmt::format("* {} verified {} ({}) of \"{}\" [{}]", peer_of(e),
                       plural(count, "file", "files"), human_bytes(v.total_bytes), title_of(v),
                       short_transfer_id(v.id));
  }
  std::string text = fmt::format("* received \"{}\" from {}: {} ({}), all verified [{}]",
                                 title_of(v), peer_of(e), plural(count, "file", "files"),
                                 human_bytes(v.total_bytes), short_transfer_id(v.id));
  if (!v.destination.empty()) {
    text += fmt::format("\n  saved in {}:", sanitize_for_terminal(v.destination));
  }
  text += file_list(e.files);
  return text;
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  if (value < 10.0) return fmt::format("{:.2f} {}", value, kUnits[unit]);
  if (value < 100.0) return fmt::format("{:.1f} {}", value, kUnits[unit]);
  return fmt::format("{:.0f} {}", value, kUnits[unit]);
}

std::string human_duration(std::uint64_t seconds) {
  if (seconds >= 100 * 3600) return "?";
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  return fmt::format("{}h{:02}m", seconds / 3600, seconds / 60 % 60);
}

std::string short_transfer_id(const transfer::TransferId& id) {
  return transfer::to_hex(std::span(id).first(4));
}

std::string progress_line(const node::event::Transfer& e) {
  const auto& v = e.view;
  const std::uint64_t total = v.total_bytes;
  const std::uint64_t bytes = std::min(v.bytes, total);
  // Whole steps only: a bar or percentage never shows 100 before the last byte.
  const std::size_t filled =
      total == 0 ? kBarWidth : static_cast<std::size_t>(bytes * kBarWidth / total);
  const std::uint64_t percent = total == 0 ? 100 : bytes * 100 / total;
  std::string bar(filled, '#');
  bar.append(kBarWidth - filled, '.');
  std::string pace;
  if (v.state == transfer::State::paused) {
    pace = "paused";
  } else if (e.bytes_per_second == 0) {
    pace = "waiting";
  } else {
    pace =
        fmt::format("{}/s  {} left", human_bytes(e.bytes_per_second),
                    human_duration((total - bytes + e.bytes_per_second - 1) / e.bytes_per_second));
  }
  // The figures first: a narrow terminal cuts the end of the line, the title.
  return fmt::format("  {} [{}] {:3}%  {}/{}  {}  {} {}: {}", short_transfer_id(v.id), bar, percent,
                     human_bytes(bytes), human_bytes(total), pace,
                     v.direction == Direction::in ? "<-" : "->", peer_of(e), title_of(v));
}

std::string render_transfer(const node::event::Transfer& e) {
  const auto& v = e.view;
  const std::string id = short_transfer_id(v.id);
  switch (e.kind) {
    case Kind::offered:
      return offered(e);
    case Kind::accepted:
      if (v.direction == Direction::out) {
        return fmt::format("* {} accepted \"{}\" [{}]; sending", peer_of(e), title_of(v), id);
      }
      return fmt::format("* receiving \"{}\" from {} into {} [{}] (/cancel {} stops it)",
                         title_of(v), peer_of(e),
                         v.destination.empty() ? std::string("the download folder")
                                               : sanitize_for_terminal(v.destination),
                         id, id);
    case Kind::progress:
      return progress_line(e);
    case Kind::paused:
      return fmt::format("* transfer {} (\"{}\") with {} paused: {} [{}]", id, title_of(v),
                         peer_of(e), sanitize_for_terminal(v.message), name(v.code));
    case Kind::resumed:
      return fmt::format("* transfer {} (\"{}\") with {} resumed", id, title_of(v), peer_of(e));
    case Kind::done:
      return done(e);
    case Kind::failed:
      return fmt::format("! transfer {} (\"{}\") with {} failed: {} [{}]", id, title_of(v),
                         peer_of(e), sanitize_for_terminal(v.message), name(v.code));
    case Kind::cancelled:
      return fmt::format(
          "* transfer {} (\"{}\") with {} cancelled by {}{}", id, title_of(v), peer_of(e),
          e.by_peer ? peer_of(e) : std::string("you"),
          v.message.empty() ? std::string() : ": " + sanitize_for_terminal(v.message));
    case Kind::declined:
      if (v.direction == Direction::out) {
        return fmt::format("* {} declined \"{}\" [{}]", peer_of(e), title_of(v), id);
      }
      return fmt::format("* you declined \"{}\" from {} [{}]", title_of(v), peer_of(e), id);
  }
  return {};
}

std::string render_transfers(const node::event::Transfers& e) {
  if (e.transfers.empty()) return "* no transfers yet; /sendfile PEER PATH... offers files";
  std::string text = fmt::format("* {}:", plural(e.transfers.size(), "transfer", "transfers"));
  for (const auto& [v, peer_name] : e.transfers) {
    text += fmt::format("\n  {}  {:<9} {} {:<12} {}/{}  {}", short_transfer_id(v.id),
                        transfer::state_name(v.state), v.direction == Direction::in ? "<-" : "->",
                        sanitize_for_terminal(peer_name), human_bytes(v.bytes),
                        human_bytes(v.total_bytes), title_of(v));
    if (!v.destination.empty())
      text += fmt::format("  in {}", sanitize_for_terminal(v.destination));
    if (!v.message.empty()) text += fmt::format("  ({})", sanitize_for_terminal(v.message));
  }
  return text;
}

}  // namespace peerchat::cli
