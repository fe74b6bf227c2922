// wire: typed decode errors, one per way a peer's bytes can be wrong.
#pragma once

#include <string_view>
#include <system_error>

namespace peerchat::wire {

enum class Errc {
  frame_too_large = 1,  // length prefix above the limit (checked before allocating)
  empty_frame,          // length prefix of zero: no room for the type byte
  truncated,            // payload shorter than its fields
  trailing_bytes,       // payload longer than its fields
  unknown_type,         // a required (< 0x80) frame type this version does not know
  bad_field,            // a field out of range (e.g. empty name, zero credit)
  invalid_utf8,
  text_too_long,
  name_too_long,
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace peerchat::wire

template <>
struct std::is_error_code_enum<peerchat::wire::Errc> : std::true_type {};
