#include "services/transfer/manifest_builder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

#include "services/transfer/errors.hpp"
#include "services/transfer/unique_fd.hpp"
#include "wire/utf8.hpp"

namespace peerchat::transfer {
namespace {

struct DigestDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

class Walker {
 public:
  explicit Walker(BuiltManifest& built) : built_(built) {}

  Result<void> add_named(const std::filesystem::path& path) {
    // The user named it: follow a symlink, as cp does for its arguments.
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      if (errno == ENOENT) {
        return make_error(Errc::not_found,
                          fmt::format("{}: no such file or folder", path.string()));
      }
      return make_error(Errc::unreadable, fmt::format("{}: cannot look at it ({})", path.string(),
                                                      std::strerror(errno)));
    }
    std::string name = path.filename().string();
    if (name.empty() || name == "." || name == "..") {
      std::error_code error;
      name = std::filesystem::weakly_canonical(path, error).filename().string();
    }
    if (name.empty()) {
      return make_error(Errc::unreadable, fmt::format("{}: cannot send a whole file system root; "
                                                      "name the folders in it instead",
                                                      path.string()));
    }
    if (!wire::is_valid_utf8(name)) {
      return make_error(
          Errc::unreadable,
          fmt::format("{}: its name is not valid UTF-8; rename it first", path.string()));
    }
    if (!top_names_.insert(name).second) {
      return make_error(Errc::unreadable,
                        fmt::format("two of the paths given are both called '{}'; an offer names "
                                    "each by its last component, so rename or send one at a time",
                                    name));
    }
    if (S_ISREG(info.st_mode)) return add_file(name, path, info);
    if (S_ISDIR(info.st_mode)) return add_folder(name, path);
    return make_error(
        Errc::unreadable,
        fmt::format("{}: not a file or folder (a device, socket or pipe)", path.string()));
  }

 private:
  Result<void> add_entry(Entry entry, const std::filesystem::path& source) {
    if (built_.manifest.entries.size() >= kMaxEntries) {
      return make_error(Errc::too_many_entries,
                        fmt::format("more than {} files and folders in one offer; send the folder "
                                    "in parts, or as an archive",
                                    kMaxEntries));
    }
    if (entry.path.size() > kMaxPathBytes) {
      return make_error(Errc::path_too_long,
                        fmt::format("{}: its path in the offer is over {} bytes", source.string(),
                                    kMaxPathBytes));
    }
    built_.manifest.entries.push_back(std::move(entry));
    built_.sources.push_back(source);
    return {};
  }

  Result<void> add_file(const std::string& relative, const std::filesystem::path& source,
                        const struct stat& info) {
    const auto size = static_cast<std::uint64_t>(info.st_size);
    if (size > kMaxFileBytes) {
      return make_error(Errc::file_too_large, fmt::format("{}: {} bytes, over the limit of {}",
                                                          source.string(), size, kMaxFileBytes));
    }
    Entry entry;
    entry.kind = EntryKind::file;
    entry.path = relative;
    entry.size = size;
    return add_entry(std::move(entry), source);
  }

  Result<void> add_folder(const std::string& relative, const std::filesystem::path& source) {
    Entry folder;
    folder.kind = EntryKind::folder;
    folder.path = relative;
    if (auto added = add_entry(std::move(folder), source); !added) return added;
    std::error_code error;
    std::vector<std::filesystem::directory_entry> children;
    for (std::filesystem::directory_iterator it(source, error), end; !error && it != end;
         it.increment(error)) {
      children.push_back(*it);
    }
    if (error) {
      return make_error(Errc::unreadable, fmt::format("{}: cannot list the folder ({})",
                                                      source.string(), error.message()));
    }
    std::sort(children.begin(), children.end(), [](const auto& a, const auto& b) {
      return a.path().filename() < b.path().filename();
    });
    for (const auto& child : children) {
      const std::string name = child.path().filename().string();
      const std::string path = relative + "/" + name;
      if (!wire::is_valid_utf8(name)) {
        built_.skipped.push_back(fmt::format("{}: name is not valid UTF-8", child.path().string()));
        continue;
      }
      // lstat: a link inside a folder is never followed.
      struct stat info {};
      if (::lstat(child.path().c_str(), &info) != 0) {
        return make_error(
            Errc::unreadable,
            fmt::format("{}: cannot look at it ({})", child.path().string(), std::strerror(errno)));
      }
      if (S_ISLNK(info.st_mode)) {
        built_.skipped.push_back(
            fmt::format("{}: a symbolic link (not followed)", child.path().string()));
      } else if (S_ISREG(info.st_mode)) {
        if (auto added = add_file(path, child.path(), info); !added) return added;
      } else if (S_ISDIR(info.st_mode)) {
        if (auto added = add_folder(path, child.path()); !added) return added;
      } else {
        built_.skipped.push_back(fmt::format("{}: not a file or folder (a device, socket or pipe)",
                                             child.path().string()));
      }
    }
    return {};
  }

  BuiltManifest& built_;
  std::set<std::string> top_names_;
};

Result<void> hash_file(Entry& entry, const std::filesystem::path& source, std::uint32_t piece_size,
                       std::vector<std::uint8_t>& buffer, std::uint64_t& hashed,
                       const BuildControl& control) {
  const auto unreadable = [&](std::string_view what) {
    return make_error(Errc::unreadable,
                      fmt::format("{}: {} ({})", source.string(), what, std::strerror(errno)));
  };
  const UniqueFd file(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return unreadable("cannot open it");
  struct stat before {};
  if (::fstat(file.get(), &before) != 0) return unreadable("cannot look at it");
  const std::unique_ptr<EVP_MD_CTX, DigestDeleter> whole(EVP_MD_CTX_new());
  if (!whole || EVP_DigestInit_ex(whole.get(), EVP_sha256(), nullptr) != 1) {
    return make_error(Errc::unreadable, "cannot start a SHA-256 digest (OpenSSL)");
  }
  const std::uint64_t pieces = piece_count(entry.size, piece_size);
  entry.pieces.resize(static_cast<std::size_t>(pieces));
  for (std::uint64_t i = 0; i < pieces; ++i) {
    if (control.cancel != nullptr && control.cancel->load()) {
      return make_error(Errc::cancelled, "cancelled while preparing the offer");
    }
    const std::uint64_t offset = i * piece_size;
    const auto size =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(piece_size, entry.size - offset));
    if (!hash_piece(file.get(), offset, size, buffer, entry.pieces[static_cast<std::size_t>(i)])) {
      if (errno == 0) {
        return make_error(Errc::changed, fmt::format("{}: it got shorter while it was being read",
                                                     source.string()));
      }
      return unreadable("cannot read it");
    }
    EVP_DigestUpdate(whole.get(), buffer.data(), size);
    hashed += size;
    if (control.progress) control.progress(hashed);
  }
  EVP_DigestFinal_ex(whole.get(), entry.sha256.data(), nullptr);
  struct stat after {};
  if (::fstat(file.get(), &after) != 0) return unreadable("cannot look at it");
  if (static_cast<std::uint64_t>(after.st_size) != entry.size ||
      after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
    return make_error(Errc::changed, fmt::format("{}: it changed while it was being read; send "
                                                 "it again once it is complete",
                                                 source.string()));
  }
  return {};
}

}  // namespace

bool hash_piece(int fd, std::uint64_t offset, std::uint32_t size, std::span<std::uint8_t> buffer,
                Sha256& out) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got =
        ::pread(fd, buffer.data() + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    if (got == 0) {
      errno = 0;  // shorter than it was: not an I/O error
      return false;
    }
    done += static_cast<std::size_t>(got);
  }
  SHA256(buffer.data(), size, out.data());
  return true;
}

Result<BuiltManifest> build_manifest(std::span<const std::filesystem::path> paths,
                                     const BuildControl& control) {
  BuiltManifest built;
  Walker walker(built);
  for (const auto& path : paths) {
    if (auto added = walker.add_named(path); !added) return added.error();
  }
  if (built.manifest.entries.empty()) {
    return make_error(Errc::empty_offer, "nothing to send: name at least one file or folder");
  }
  std::vector<std::uint8_t> buffer(built.manifest.piece_size);
  std::uint64_t hashed = 0;
  for (std::size_t i = 0; i < built.manifest.entries.size(); ++i) {
    Entry& entry = built.manifest.entries[i];
    if (entry.kind != EntryKind::file) continue;
    if (auto done =
            hash_file(entry, built.sources[i], built.manifest.piece_size, buffer, hashed, control);
        !done) {
      return done.error();
    }
  }
  return built;
}

}  // namespace peerchat::transfer
