#include "wire/fields.hpp"

#include <fmt/format.h>

namespace peerchat::wire {

Error field_error(Errc code, std::string_view frame, std::string_view detail) {
  return make_error(code, fmt::format("{}: {}", frame, detail));
}

Result<void> check_consumed(const Reader& reader, std::string_view frame) {
  if (reader.failed()) return field_error(Errc::truncated, frame, "payload is too short");
  if (reader.remaining() != 0) {
    return field_error(Errc::trailing_bytes, frame,
                       fmt::format("{} unexpected bytes after the last field", reader.remaining()));
  }
  return {};
}

}  // namespace peerchat::wire
