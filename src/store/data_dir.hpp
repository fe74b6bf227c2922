// store: where a peer keeps its identity and database, and the lock that makes one data dir
// belong to one process.
#pragma once

#include <filesystem>
#include <string_view>

#include "util/result.hpp"

namespace peerchat::store {

// $XDG_DATA_HOME/peerchat/NAME, else $HOME/.local/share/peerchat/NAME; NAME is made a safe
// single path component.
std::filesystem::path default_data_dir(std::string_view name);

// An exclusive flock on DIR/lock, held for the life of the object.
class DataDirLock {
 public:
  // Creates DIR (mode 0700) when missing. Fails with data_dir_in_use, naming the holder's PID,
  // when another process (or another lock in this one) holds it.
  static Result<DataDirLock> acquire(const std::filesystem::path& dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  DataDirLock(std::filesystem::path dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  std::filesystem::path dir_;
  int fd_ = -1;
};

}  // namespace peerchat::store
