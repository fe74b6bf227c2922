// store: typed errors of the SQLite store and the data dir.
#pragma once

#include <system_error>

namespace peerchat::store {

enum class Errc {
  open_failed = 1,
  corrupt,
  io_error,
  disk_full,
  busy,
  schema_too_new,
  data_dir_in_use,
  data_dir_unusable,
  pin_conflict,  // an address is pinned to another identity
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace peerchat::store

template <>
struct std::is_error_code_enum<peerchat::store::Errc> : std::true_type {};
