#include "store/data_dir.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "store/errors.hpp"

namespace peerchat::store {
namespace {

namespace fs = std::filesystem;

std::string safe_component(std::string_view name) {
  std::string safe;
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    safe.push_back(ok ? c : '_');
  }
  if (safe.empty() || safe == "." || safe == "..") safe = "default";
  return safe;
}

Error unusable(const fs::path& dir, std::string_view what, int error) {
  return make_error(Errc::data_dir_unusable,
                    fmt::format("data dir {} cannot be used ({}: {}); check its permissions or "
                                "pick another with --data-dir",
                                dir.string(), what, std::strerror(error)));
}

}  // namespace

fs::path default_data_dir(std::string_view name) {
  fs::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    base = fs::path(home) / ".local" / "share";
  } else {
    base = fs::current_path();
  }
  return base / "peerchat" / safe_component(name);
}

Result<DataDirLock> DataDirLock::acquire(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return unusable(dir, "cannot create it", ec.value());
    fs::permissions(dir, fs::perms::owner_all, ec);  // identity and history are private
  }
  const fs::path lock_file = dir / "lock";
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unusable(dir, "cannot open its lock file", errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error != EWOULDBLOCK) {
      ::close(fd);
      return unusable(dir, "cannot lock it", error);
    }
    char buffer[32] = {};
    const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
    ::close(fd);
    const std::string holder = got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : "";
    const auto end = holder.find_first_not_of("0123456789");
    const std::string pid = holder.substr(0, end);
    return make_error(Errc::data_dir_in_use,
                      fmt::format("data dir {} is in use by another peerchat process{}; stop it "
                                  "or pick another --data-dir",
                                  dir.string(), pid.empty() ? "" : fmt::format(" (pid {})", pid)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The PID is only for the message above; the lock itself holds.
  }
  return DataDirLock(dir, fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    dir_ = std::move(other.dir_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace peerchat::store
