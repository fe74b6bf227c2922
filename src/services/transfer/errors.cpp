#include "services/transfer/errors.hpp"

#include "util/error_category.hpp"

namespace peerchat::transfer {
namespace {

const char* describe(Errc value) {
  switch (value) {
    case Errc::not_found:
      return "no such file or folder";
    case Errc::unreadable:
      return "cannot read the file";
    case Errc::changed:
      return "the file changed while it was being sent";
    case Errc::too_many_entries:
      return "too many files in one offer";
    case Errc::path_too_long:
      return "path too long";
    case Errc::file_too_large:
      return "file too large";
    case Errc::empty_offer:
      return "nothing to send";
    case Errc::cancelled:
      return "cancelled";
  }
  return "unknown transfer error";
}

}  // namespace

const std::error_category& error_category() {
  static const EnumCategory<Errc> category("peerchat.transfer", describe);
  return category;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), error_category()};
}

}  // namespace peerchat::transfer
