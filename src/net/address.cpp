#include "net/address.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace peerchat::net {
namespace {

Error bad(std::string_view text, std::string_view why) {
  return make_error(std::make_error_code(std::errc::invalid_argument),
                    fmt::format("'{}' is not a peer address ({}); use HOST:PORT, [IPv6]:PORT "
                                "or ID@HOST:PORT, e.g. 127.0.0.1:7001",
                                text, why));
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string DialTarget::address() const {
  std::string lowered = host;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lowered.find(':') != std::string::npos) return fmt::format("[{}]:{}", lowered, port);
  return fmt::format("{}:{}", lowered, port);
}

Result<DialTarget> parse_dial_target(std::string_view text) {
  DialTarget target;
  std::string_view rest = text;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    target.expected_id = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
    if (target.expected_id.empty()) return bad(text, "nothing before '@'");
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']'");
    target.host = std::string(rest.substr(1, close - 1));
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return bad(text, "missing :PORT");
    port_text = rest.substr(close + 2);
    if (target.host.find(':') == std::string::npos) return bad(text, "brackets are for IPv6");
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad(text, "missing :PORT");
    target.host = std::string(rest.substr(0, colon));
    port_text = rest.substr(colon + 1);
    if (target.host.find(':') != std::string::npos) {
      return bad(text, "write IPv6 addresses in brackets");
    }
    if (!std::all_of(target.host.begin(), target.host.end(), valid_host_char)) {
      return bad(text, "invalid character in host");
    }
  }
  if (target.host.empty()) return bad(text, "empty host");
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return bad(text, "port must be a number from 1 to 65535");
  }
  target.port = static_cast<std::uint16_t>(port);
  return target;
}

}  // namespace peerchat::net
