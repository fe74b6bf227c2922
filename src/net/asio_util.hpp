// net: shared Asio spellings. Include only from .cpp files and from headers that are
// themselves only included by .cpp files of the session and node layers.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace peerchat::net {

// Completion token that returns (error_code, results...) instead of throwing, so that
// errors never cross the event loop as exceptions.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Formats an endpoint as HOST:PORT, with [brackets] around IPv6 addresses.
std::string to_string(const asio::ip::tcp::endpoint& endpoint);

}  // namespace peerchat::net
