#include "net/failures.hpp"

#include <fmt/format.h>

#include <chrono>
#include <string>

namespace peerchat::net {

Failure listen_failure(Code code, std::uint16_t port, std::string_view cause) {
  switch (code) {
    case Code::port_in_use:
      return {code, fmt::format("port {} is already in use; pick another with --port", port)};
    case Code::port_forbidden:
      return {code, fmt::format("no permission to listen on port {}; use a port above 1023", port)};
    default:
      return {Code::listen_failed, fmt::format("cannot listen on port {}: {}", port, cause)};
  }
}

Failure resolve_failure(std::string_view host, std::string_view cause) {
  return {Code::resolve_failed,
          fmt::format("cannot resolve host '{}': {}; check the name", host, cause)};
}

Failure timeout_failure(std::string_view address, Clock::Duration timeout) {
  // Whole seconds as the node has always said them ("10 s"); tests' short timeouts in ms.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  const std::string within =
      ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{} ms", ms);
  return {Code::timeout, fmt::format("no answer from {} within {}; check the address and that no "
                                     "firewall is in the way",
                                     address, within)};
}

Failure refused_failure(std::string_view address) {
  return {Code::connection_refused, fmt::format("nobody is listening at {} (connection refused); "
                                                "is the peer running on that port?",
                                                address)};
}

Failure connect_failure(std::string_view address, std::string_view cause) {
  return {Code::connect_failed, fmt::format("cannot connect to {}: {}", address, cause)};
}

}  // namespace peerchat::net
