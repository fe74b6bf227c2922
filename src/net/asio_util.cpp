#include "net/asio_util.hpp"

#include <fmt/format.h>

namespace peerchat::net {

std::string to_string(const asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    // Show IPv4 clients of a dual-stack socket in their familiar form.
    if (v6.is_v4_mapped()) {
      return fmt::format("{}:{}", asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string(),
                         endpoint.port());
    }
    return fmt::format("[{}]:{}", v6.to_string(), endpoint.port());
  }
  return fmt::format("{}:{}", address.to_string(), endpoint.port());
}

}  // namespace peerchat::net
