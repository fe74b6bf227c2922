// net: parsing what a user types to reach a peer: HOST:PORT, [IPv6]:PORT, ID@HOST:PORT.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace peerchat::net {

struct DialTarget {
  std::string expected_id;  // text before '@', empty when none was given (parsed by tls::PeerId)
  std::string host;         // hostname or IP literal, without brackets
  std::uint16_t port = 0;

  // HOST:PORT as a stable key for pins: IPv6 in brackets, host lower-cased.
  std::string address() const;
};

// Errors carry std::errc::invalid_argument and a message saying what a valid address looks like.
Result<DialTarget> parse_dial_target(std::string_view text);

}  // namespace peerchat::net
