// services/transfer: the receive sandbox. Everything a peer sends is written below one download
// folder, opened once and then used only through its descriptor with *at() calls, one path
// component at a time with O_NOFOLLOW: no symlink is ever followed or created, nothing existing
// is overwritten, and files are written as NAME.part (0600) until verified, then 0644.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "services/transfer/manifest.hpp"
#include "services/transfer/paths.hpp"
#include "services/transfer/unique_fd.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

// Which local name each top-level name of an offer was given. The caller persists it with the
// transfer, so a resume after a restart writes to the same names instead of picking new ones.
struct Placement {
  struct Name {
    std::string offered;  // the first component of the offer's paths
    std::string local;    // the name in the download folder, e.g. "photo (1).jpg"
    bool operator==(const Name&) const = default;
  };
  std::vector<Name> names;  // sorted by `offered`

  // One "offered\tlocal\n" line per name: names never hold control characters.
  std::string serialise() const;
  static Result<Placement> parse(std::string_view text);

  // The local name for `offered`, or empty when the offer did not have it.
  std::string_view local_name(std::string_view offered) const;
};

// "photo.jpg" numbered 2 is "photo (2).jpg"; a folder, a name without an extension or one starting
// with a dot gets the number at the end ("album (2)", ".bashrc (2)"). Number 0 is the name itself.
std::string numbered_name(std::string_view name, bool is_file, std::size_t number);

class Destination {
 public:
  // Opens the download folder, creating it and missing parents (0700) first. The folder's own
  // path is the local user's choice and may go through symlinks; nothing below it may.
  static Result<Destination> open(const std::filesystem::path& dir);

  const std::filesystem::path& path() const { return path_; }
  // NAME_MAX of the folder's file system: what check_paths must be given for this destination.
  std::size_t name_max() const { return name_max_; }
  Result<std::uint64_t> free_bytes() const;

  // Checks every path (check_paths), then gives each top-level name a name free in the folder
  // now, never an existing one. Writes nothing.
  Result<Placement> place(const Manifest& manifest) const;
  // Creates every folder of the offer and every implied parent. Idempotent for a resume: an
  // existing folder is reused, anything else in its place (a file, a symlink) is an error.
  Result<void> make_folders(const Placement& placement, const Manifest& manifest) const;
  // NAME.part of a file entry opened for writing (0600), kept as it is when it exists so that a
  // resumed transfer continues. Its folders must exist (make_folders). Without `create`, one
  // that does not exist is an error (no_such_file_or_directory) and nothing is made.
  Result<UniqueFd> open_part(const Placement& placement, const Entry& entry,
                             bool create = true) const;
  // Once the file is verified: flushes NAME.part to disk, renames it to NAME without replacing
  // anything (to the next free "NAME (N)" if NAME appeared meanwhile), makes it 0644 and returns
  // where it was saved.
  // With `durable` false the two fsyncs (the file before its rename, the folder after) are
  // left to the caller, who batches them with sync_all(): many small files, one sync.
  Result<std::filesystem::path> finish(const Placement& placement, const Entry& entry,
                                       bool durable = true) const;
  // syncfs() of the download folder's file system: everything written or renamed in it so far
  // is on disk.
  Result<void> sync_all() const;
  // Deletes NAME.part on cancel or decline; a missing one is fine.
  Result<void> remove_part(const Placement& placement, const Entry& entry) const;

 private:
  Destination(std::filesystem::path path, UniqueFd dir, std::size_t name_max)
      : path_(std::move(path)), dir_(std::move(dir)), name_max_(name_max) {}

  struct Location;
  struct Slot;
  Result<Location> locate(const Placement& placement, const Entry& entry) const;
  Result<Slot> open_slot(const Placement& placement, const Entry& entry) const;
  Result<UniqueFd> open_folder(const std::vector<std::string>& components, bool create) const;

  std::filesystem::path path_;
  UniqueFd dir_;
  std::size_t name_max_ = kDefaultNameMax;
  // The folder last opened (files of one folder come together): a dup of it instead of a walk
  // of openat per component for every .part opened and renamed. Like the rest of a
  // Destination, used by one thread at a time.
  mutable std::vector<std::string> last_components_;
  mutable UniqueFd last_folder_;
};

}  // namespace peerchat::transfer
