// Test support shared by the unit and integration tests: this host's TCP sockets as the kernel
// lists them in /proc/net/tcp and tcp6, for waiting on connection states (established, bytes
// not yet read) that no event reports.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace peerchat::testing {

struct TcpSocket {
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  bool established = false;
  long unread_bytes = 0;  // rx_queue: received, not yet read by the process that owns it
};

inline std::vector<TcpSocket> tcp_sockets() {
  std::vector<TcpSocket> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // column titles
    while (std::getline(in, line)) {
      // "sl local_address:PORT rem_address:PORT st tx_queue:rx_queue ...", all in hex.
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      if (!(fields >> slot >> local >> remote >> state >> queues)) continue;
      const auto port_of = [](const std::string& address) {
        return static_cast<std::uint16_t>(
            std::stoul(address.substr(address.rfind(':') + 1), nullptr, 16));
      };
      sockets.push_back(TcpSocket{port_of(local), port_of(remote), state == "01",
                                  std::stol(queues.substr(queues.find(':') + 1), nullptr, 16)});
    }
  }
  return sockets;
}

}  // namespace peerchat::testing
