#include "wire/errors.hpp"

#include "util/error_category.hpp"

namespace peerchat::wire {
namespace {

const char* describe(Errc value) {
  switch (value) {
    case Errc::frame_too_large:
      return "frame larger than the protocol limit";
    case Errc::empty_frame:
      return "frame with a zero length";
    case Errc::truncated:
      return "frame shorter than its fields";
    case Errc::trailing_bytes:
      return "frame has bytes after its last field";
    case Errc::unknown_type:
      return "unknown required frame type";
    case Errc::bad_field:
      return "field out of range";
    case Errc::invalid_utf8:
      return "text is not valid UTF-8";
    case Errc::text_too_long:
      return "text longer than the limit";
    case Errc::name_too_long:
      return "display name longer than the limit";
  }
  return "unknown wire error";
}

}  // namespace

const std::error_category& error_category() {
  static const EnumCategory<Errc> category("peerchat.wire", describe);
  return category;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), error_category()};
}

}  // namespace peerchat::wire
