// wire: UTF-8 validation for every text field a peer sends us.
#pragma once

#include <string_view>

namespace peerchat::wire {

// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` that does not end inside a multi-byte
// character, for texts we cut to a field's limit before sending (the peer rejects broken UTF-8).
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace peerchat::wire
