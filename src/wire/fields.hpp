// wire: checks shared by the payload decoders (messages.cpp, streams.cpp).
#pragma once

#include <string_view>

#include "util/result.hpp"
#include "wire/bytes.hpp"
#include "wire/errors.hpp"

namespace peerchat::wire {

// "FRAME: detail", with the error code saying what kind of mistake it is.
Error field_error(Errc code, std::string_view frame, std::string_view detail);
// The reader consumed exactly the payload: not short (truncated), nothing left (trailing).
Result<void> check_consumed(const Reader& reader, std::string_view frame);

}  // namespace peerchat::wire
