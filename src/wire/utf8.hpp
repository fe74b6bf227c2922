// wire: UTF-8 validation for every text field a peer sends us.
#pragma once

#include <string_view>

namespace peerchat::wire {

// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace peerchat::wire
