// net: the failures a transport reports, worded once, so that TCP and the in-process network
// (and so the node's events and scripts that read them) say the same thing for the same fault.
#pragma once

#include <cstdint>
#include <string_view>

#include "util/clock.hpp"
#include "util/outcome.hpp"

namespace peerchat::net {

// `code` is port_in_use, port_forbidden or listen_failed; `cause` is used by listen_failed only.
Failure listen_failure(Code code, std::uint16_t port, std::string_view cause);
Failure resolve_failure(std::string_view host, std::string_view cause);
Failure timeout_failure(std::string_view address, Clock::Duration timeout);
Failure refused_failure(std::string_view address);
Failure connect_failure(std::string_view address, std::string_view cause);

}  // namespace peerchat::net
