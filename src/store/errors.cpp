#include "store/errors.hpp"

#include "util/error_category.hpp"

namespace peerchat::store {
namespace {

const char* describe(Errc value) {
  switch (value) {
    case Errc::open_failed:
      return "the database cannot be opened";
    case Errc::corrupt:
      return "the database is corrupt";
    case Errc::io_error:
      return "disk I/O error";
    case Errc::disk_full:
      return "the disk is full";
    case Errc::busy:
      return "the database is busy";
    case Errc::schema_too_new:
      return "the database was made by a newer peerchat";
    case Errc::data_dir_in_use:
      return "the data dir is in use by another process";
    case Errc::pin_conflict:
      return "the address is pinned to another identity";
    case Errc::data_dir_unusable:
      return "the data dir cannot be used";
  }
  return "unknown store error";
}

}  // namespace

const std::error_category& error_category() {
  static const EnumCategory<Errc> category("peerchat.store", describe);
  return category;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), error_category()};
}

}  // namespace peerchat::store
