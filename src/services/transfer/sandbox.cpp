#include "services/transfer/sandbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

namespace peerchat::transfer {
namespace {

namespace fs = std::filesystem;

constexpr int kFolderFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// O_NONBLOCK so that opening a FIFO planted at a .part name never blocks (check_part_file then
// refuses it). Read and write: the receiver reads back pieces that came out of order (a
// resume, a re-fetch) to hash the whole file.
constexpr int kPartFlags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
constexpr std::string_view kPartSuffix = ".part";

Error fs_error(int error, std::string_view action, const fs::path& path, std::string_view next) {
  return make_error(std::error_code(error, std::generic_category()),
                    fmt::format("cannot {} {}: {}; {}", action, printable(path.string()),
                                std::strerror(error), next));
}

Error invalid(std::string message) {
  return make_error(std::make_error_code(std::errc::invalid_argument), std::move(message));
}

Result<void> check_is_file(const Entry& entry) {
  if (entry.kind == EntryKind::file) return {};
  return invalid(fmt::format("\"{}\" is a folder of the offer, not a file", printable(entry.path)));
}

// Why openat refused `name`, in words, when it exists as something we must not use.
std::string_view what_is_at(int folder, const std::string& name) {
  struct stat status {};
  if (::fstatat(folder, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0) return "";
  if (S_ISLNK(status.st_mode)) return "it is a symbolic link, which is never followed; ";
  if (S_ISDIR(status.st_mode)) return "it is a folder; ";
  if (S_ISREG(status.st_mode)) return "it is a file; ";
  return "it is not a regular file or folder; ";
}

Error refused_at(int error, int folder, const std::string& name, std::string_view action,
                 const fs::path& shown) {
  const std::string next =
      fmt::format("{}move it out of the way and accept the offer again", what_is_at(folder, name));
  return fs_error(error, action, shown, next);
}

// A .part we write must be a plain file of ours alone: not a device, and not a hard link that
// would make us write into some other file of the user's.
Result<void> check_part_file(int fd, const fs::path& shown) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return fs_error(errno, "check", shown, "try again");
  if (!S_ISREG(status.st_mode) || status.st_nlink != 1) {
    return fs_error(EPERM, "write to", shown,
                    "it is not a plain file of its own; move it out of the way and accept again");
  }
  return {};
}

Result<bool> exists_in(int folder, const std::string& name, const fs::path& shown) {
  struct stat status {};
  if (::fstatat(folder, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0) return true;
  const int error = errno;
  if (error == ENOENT) return false;
  return fs_error(error, "look at", shown / name, "check the download folder's permissions");
}

// Neither a local name nor anything that could be a folder separator or escape the folder.
bool is_safe_name(std::string_view name, std::size_t name_max) {
  return name.size() <= name_max && name.find('/') == std::string_view::npos &&
         !check_path(name, std::numeric_limits<std::size_t>::max());
}

// A no-replace rename for file systems without RENAME_NOREPLACE: link() also refuses to replace.
int rename_no_replace(int folder, const std::string& from, const std::string& to) {
  if (::renameat2(folder, from.c_str(), folder, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL) return -1;
  if (::linkat(folder, from.c_str(), folder, to.c_str(), 0) != 0) return -1;
  return ::unlinkat(folder, from.c_str(), 0);
}

}  // namespace

std::string Placement::serialise() const {
  std::string text;
  for (const Name& name : names) text += name.offered + '\t' + name.local + '\n';
  return text;
}

Result<Placement> Placement::parse(std::string_view text) {
  Placement placement;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::size_t tab = text.find('\t');
    if (end == std::string_view::npos || tab > end) break;
    Name name{std::string(text.substr(0, tab)), std::string(text.substr(tab + 1, end - tab - 1))};
    if (!is_safe_name(name.offered, kDefaultNameMax) ||
        !is_safe_name(name.local, kDefaultNameMax)) {
      break;
    }
    placement.names.push_back(std::move(name));
    text.remove_prefix(end + 1);
  }
  if (!text.empty()) {
    return invalid("the saved names of this transfer are damaged; cancel it and accept it again");
  }
  std::sort(placement.names.begin(), placement.names.end(),
            [](const Name& a, const Name& b) { return a.offered < b.offered; });
  return placement;
}

std::string_view Placement::local_name(std::string_view offered) const {
  const auto found = std::lower_bound(
      names.begin(), names.end(), offered,
      [](const Name& name, std::string_view wanted) { return name.offered < wanted; });
  return found != names.end() && found->offered == offered ? found->local : std::string_view();
}

std::string numbered_name(std::string_view name, bool is_file, std::size_t number) {
  if (number == 0) return std::string(name);
  const std::string suffix = fmt::format(" ({})", number);
  const std::size_t dot = name.rfind('.');
  if (!is_file || dot == std::string_view::npos || name.front() == '.' || dot + 1 == name.size()) {
    return std::string(name) + suffix;
  }
  return std::string(name.substr(0, dot)) + suffix + std::string(name.substr(dot));
}

Result<Destination> Destination::open(const fs::path& dir) {
  std::error_code ec;
  fs::path absolute = fs::absolute(dir, ec).lexically_normal();
  if (ec) return fs_error(ec.value(), "use", dir, "choose another download folder");
  if (absolute.has_relative_path() && absolute.filename().empty()) {
    absolute = absolute.parent_path();  // "downloads/" names the same folder as "downloads"
  }
  UniqueFd current(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!current) return fs_error(errno, "open", absolute.root_path(), "check the system");
  fs::path walked = absolute.root_path();
  for (const fs::path& part : absolute.relative_path()) {
    if (part.empty()) continue;  // a trailing '/'
    walked /= part;
    int fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (::mkdirat(current.get(), part.c_str(), 0700) != 0 && errno != EEXIST) {
        return fs_error(errno, "create the download folder", walked,
                        "check its parent's permissions or choose another download folder");
      }
      fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) {
      return fs_error(errno, "open the download folder", walked,
                      "it must be a folder you can write to; choose another download folder");
    }
    current = UniqueFd(fd);
  }
  const long name_max = ::fpathconf(current.get(), _PC_NAME_MAX);
  return Destination(absolute, std::move(current),
                     name_max > 0 ? static_cast<std::size_t>(name_max) : kDefaultNameMax);
}

Result<std::uint64_t> Destination::free_bytes() const {
  struct statvfs status {};
  if (::fstatvfs(dir_.get(), &status) != 0) {
    return fs_error(errno, "measure the free space of", path_, "check the download folder");
  }
  return static_cast<std::uint64_t>(status.f_bavail) * status.f_frsize;
}

Result<Placement> Destination::place(const Manifest& manifest) const {
  if (auto refusal = check_paths(manifest, name_max_)) return to_error(*refusal);
  struct TopLevel {
    std::string_view offered;
    bool is_file;
  };
  std::vector<TopLevel> tops;
  std::set<std::string_view> seen;
  for (const Entry& entry : manifest.entries) {
    const std::string_view path = entry.path;
    const std::size_t slash = path.find('/');
    const std::string_view first = path.substr(0, slash);
    const bool is_file = slash == std::string_view::npos && entry.kind == EntryKind::file;
    if (seen.insert(first).second) tops.push_back({first, is_file});
  }

  // Folded, because two names that differ only in case are one name on exFAT; a file's .part
  // name is taken with it.
  std::set<std::string> taken;
  const auto is_free = [&](const std::string& name, bool is_file) -> Result<bool> {
    const std::string part = name + std::string(kPartSuffix);
    if (taken.contains(fold_case(name)) || (is_file && taken.contains(fold_case(part)))) {
      return false;
    }
    for (const std::string* wanted : {&name, is_file ? &part : nullptr}) {
      if (wanted == nullptr) continue;
      auto there = exists_in(dir_.get(), *wanted, path_);
      if (!there.ok()) return there.error();
      if (*there) return false;
    }
    return true;
  };

  Placement placement;
  for (const TopLevel& top : tops) {
    std::string local;
    for (std::size_t number = 0; number <= kMaxCollisionNumber && local.empty(); ++number) {
      std::string candidate = numbered_name(top.offered, top.is_file, number);
      auto free = is_free(candidate, top.is_file);
      if (!free.ok()) return free.error();
      if (*free) local = std::move(candidate);
    }
    if (local.empty()) {
      return fs_error(EEXIST, "find a free name for", path_ / top.offered,
                      "tidy up the download folder or choose another");
    }
    taken.insert(fold_case(local));
    if (top.is_file) taken.insert(fold_case(local + std::string(kPartSuffix)));
    placement.names.push_back({std::string(top.offered), std::move(local)});
  }
  std::sort(
      placement.names.begin(), placement.names.end(),
      [](const Placement::Name& a, const Placement::Name& b) { return a.offered < b.offered; });
  return placement;
}

struct Destination::Location {
  std::vector<std::string> folders;  // local names from the download folder down
  std::string name;                  // the file's local name
  std::string offered_name;          // its last offered component, for numbering
};

Result<Destination::Location> Destination::locate(const Placement& placement,
                                                  const Entry& entry) const {
  if (auto problem = check_path(entry.path, name_max_)) {
    return make_error(make_error_code(*problem),
                      fmt::format("refused to write \"{}\": the path {}; nothing was saved",
                                  printable(entry.path),
                                  path_error_category().message(static_cast<int>(*problem))));
  }
  Location location;
  std::string_view rest = entry.path;
  while (true) {
    const std::size_t slash = rest.find('/');
    location.folders.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  location.offered_name = location.folders.back();
  const std::string_view top = placement.local_name(location.folders.front());
  if (top.empty() || !is_safe_name(top, name_max_)) {
    return invalid(
        fmt::format("the saved names of this transfer have no safe name for \"{}\"; "
                    "cancel it and accept it again",
                    printable(location.folders.front())));
  }
  location.folders.front() = std::string(top);
  location.name = std::move(location.folders.back());
  location.folders.pop_back();
  return location;
}

Result<UniqueFd> Destination::open_folder(const std::vector<std::string>& components,
                                          bool create) const {
  if (!create && last_folder_ && components == last_components_) {
    UniqueFd again(::fcntl(last_folder_.get(), F_DUPFD_CLOEXEC, 0));
    if (again) return again;
  }
  UniqueFd current(::fcntl(dir_.get(), F_DUPFD_CLOEXEC, 0));
  if (!current) return fs_error(errno, "use", path_, "close other programs and try again");
  fs::path shown = path_;
  for (const std::string& component : components) {
    shown /= component;
    if (create && ::mkdirat(current.get(), component.c_str(), 0755) != 0 && errno != EEXIST) {
      return fs_error(errno, "create the folder", shown,
                      "check the download folder's permissions and free space");
    }
    const int fd = ::openat(current.get(), component.c_str(), kFolderFlags);
    if (fd < 0) return refused_at(errno, current.get(), component, "open the folder", shown);
    current = UniqueFd(fd);
  }
  if (!create) {
    UniqueFd kept(::fcntl(current.get(), F_DUPFD_CLOEXEC, 0));
    if (kept) {
      last_folder_ = std::move(kept);
      last_components_ = components;
    }
  }
  return current;
}

Result<void> Destination::make_folders(const Placement& placement, const Manifest& manifest) const {
  if (auto refusal = check_paths(manifest, name_max_)) return to_error(*refusal);
  std::vector<std::string> previous;
  for (const Entry& entry : manifest.entries) {
    auto location = locate(placement, entry);
    if (!location.ok()) return location.error();
    std::vector<std::string> folders = std::move(location->folders);
    if (entry.kind == EntryKind::folder) folders.push_back(std::move(location->name));
    if (folders.empty() || folders == previous) continue;  // files of one folder come together
    auto folder = open_folder(folders, true);
    if (!folder.ok()) return folder.error();
    previous = std::move(folders);
  }
  return {};
}

// A file entry's folder, opened, and its names in it.
struct Destination::Slot {
  UniqueFd folder;
  fs::path shown_folder;  // for messages and the path of the saved file
  std::string name;
  std::string offered_name;
  std::string part() const { return name + std::string(kPartSuffix); }
};

Result<Destination::Slot> Destination::open_slot(const Placement& placement,
                                                 const Entry& entry) const {
  if (auto is_file = check_is_file(entry); !is_file.ok()) return is_file.error();
  auto location = locate(placement, entry);
  if (!location.ok()) return location.error();
  auto folder = open_folder(location->folders, false);
  if (!folder.ok()) return folder.error();
  fs::path shown_folder = path_;
  for (const std::string& component : location->folders) shown_folder /= component;
  return Slot{std::move(folder.value()), std::move(shown_folder), std::move(location->name),
              std::move(location->offered_name)};
}

Result<UniqueFd> Destination::open_part(const Placement& placement, const Entry& entry,
                                        bool create) const {
  auto slot = open_slot(placement, entry);
  if (!slot.ok()) return slot.error();
  const std::string part = slot->part();
  const fs::path shown = slot->shown_folder / part;
  UniqueFd file(
      ::openat(slot->folder.get(), part.c_str(), kPartFlags | (create ? O_CREAT : 0), 0600));
  if (!file) return refused_at(errno, slot->folder.get(), part, "open", shown);
  if (auto checked = check_part_file(file.get(), shown); !checked.ok()) return checked.error();
  const int flags = ::fcntl(file.get(), F_GETFL);
  if (flags < 0 || ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return fs_error(errno, "open", shown, "try again");
  }
  return file;
}

Result<void> Destination::sync_all() const {
  if (::syncfs(dir_.get()) != 0) {
    return fs_error(errno, "save", path_, "check the disk and free space, then resume");
  }
  return {};
}

Result<fs::path> Destination::finish(const Placement& placement, const Entry& entry,
                                     bool durable) const {
  auto slot = open_slot(placement, entry);
  if (!slot.ok()) return slot.error();
  const int folder = slot->folder.get();
  const std::string part = slot->part();
  const fs::path shown = slot->shown_folder / part;
  UniqueFd file(::openat(folder, part.c_str(), kPartFlags));
  if (!file) return refused_at(errno, folder, part, "open", shown);
  if (auto checked = check_part_file(file.get(), shown); !checked.ok()) return checked.error();
  // On disk before it gets its final name, so a crash never leaves a short file under it.
  if (durable && ::fsync(file.get()) != 0) {
    return fs_error(errno, "save", shown, "check the disk and free space, then resume");
  }
  if (::fchmod(file.get(), 0644) != 0) {
    return fs_error(errno, "set the permissions of", shown, "check the download folder");
  }
  for (std::size_t number = 0; number <= kMaxCollisionNumber; ++number) {
    const std::string final_name =
        number == 0 ? slot->name : numbered_name(slot->offered_name, true, number);
    if (number > 0 && final_name == slot->name) continue;
    if (rename_no_replace(folder, part, final_name) != 0) {
      if (errno == EEXIST) continue;
      return fs_error(errno, "rename", shown, "check the download folder, then resume");
    }
    if (durable && ::fsync(folder) != 0) {
      return fs_error(errno, "save the folder", slot->shown_folder, "check the disk, then resume");
    }
    return slot->shown_folder / final_name;
  }
  return fs_error(EEXIST, "find a free name for", slot->shown_folder / slot->name,
                  "tidy up the download folder, then resume");
}

Result<void> Destination::remove_part(const Placement& placement, const Entry& entry) const {
  auto slot = open_slot(placement, entry);
  if (!slot.ok()) {
    if (slot.error().code == std::errc::no_such_file_or_directory) return {};  // never made
    return slot.error();
  }
  const std::string part = slot->part();
  if (::unlinkat(slot->folder.get(), part.c_str(), 0) != 0 && errno != ENOENT) {
    return fs_error(errno, "delete", slot->shown_folder / part, "delete it by hand");
  }
  return {};
}

}  // namespace peerchat::transfer
