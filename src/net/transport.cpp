#include "net/transport.hpp"

#include <sys/socket.h>

namespace peerchat::net {

bool is_tcp(const StreamSocket& socket) {
  std::error_code error;
  const int family = socket.local_endpoint(error).protocol().family();
  return !error && (family == AF_INET || family == AF_INET6);
}

}  // namespace peerchat::net
