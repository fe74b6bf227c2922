// Test support shared by the unit and integration tests: this host's TCP sockets as the kernel
// lists them in /proc/net/tcp and tcp6, for waiting on connection states (established, bytes
// not yet read) that no event reports.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace peerchat::testing {

struct TcpSocket {
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  bool established = false;
  long unread_bytes = 0;    // rx_queue: received, not yet read by the process that owns it
  unsigned long inode = 0;  // names the socket in /proc/PID/fd, so its owner can be found
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
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
      unsigned long inode = 0;
      if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode)) {
        continue;
      }
      const auto port_of = [](const std::string& address) {
        return static_cast<std::uint16_t>(
            std::stoul(address.substr(address.rfind(':') + 1), nullptr, 16));
      };
      sockets.push_back(TcpSocket{port_of(local), port_of(remote), state == "01",
                                  std::stol(queues.substr(queues.find(':') + 1), nullptr, 16),
                                  inode});
    }
  }
  return sockets;
}

// The inodes of the sockets the given processes hold open.
inline std::set<unsigned long> socket_inodes(std::initializer_list<pid_t> pids) {
  std::set<unsigned long> inodes;
  for (const pid_t pid : pids) {
    std::error_code error;
    const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& fd : std::filesystem::directory_iterator(fds, error)) {
      const std::string target = std::filesystem::read_symlink(fd.path(), error).string();
      if (error || target.rfind("socket:[", 0) != 0) continue;
      inodes.insert(std::stoul(target.substr(8)));
    }
  }
  return inodes;
}

// Established TCP connections between the given processes that were accepted on one of
// `ports`. Both ends must belong to those processes: tests running in parallel on this host
// may dial a port number they believe is free (or an old address of theirs) and land here.
// One reading of the tables; see connections_between.
template <typename Port>
std::size_t connections_once(std::initializer_list<pid_t> pids, const std::vector<Port>& ports) {
  const auto sockets = tcp_sockets();
  const auto owned = socket_inodes(pids);
  const auto ours = [&](const TcpSocket& socket) {
    return socket.established && owned.count(socket.inode) != 0;
  };
  std::size_t count = 0;
  for (const auto& accepted : sockets) {
    if (!ours(accepted) || std::find(ports.begin(), ports.end(),
                                     static_cast<Port>(accepted.local_port)) == ports.end()) {
      continue;
    }
    const bool dialed_by_us = std::any_of(sockets.begin(), sockets.end(), [&](const auto& dialer) {
      return ours(dialer) && dialer.local_port == accepted.remote_port &&
             dialer.remote_port == accepted.local_port;
    });
    if (dialed_by_us) ++count;
  }
  return count;
}

// The kernel lists /proc/net/tcp a page at a time, resuming by position: a socket opened or
// closed anywhere on the host meanwhile (other tests run in parallel) can make one reading skip
// or repeat a line. So a count is only taken when two readings in a row agree (bounded: a
// host whose sockets churn that fast gets the last reading).
template <typename Port>
std::size_t connections_between(std::initializer_list<pid_t> pids, const std::vector<Port>& ports) {
  std::size_t last = connections_once(pids, ports);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::size_t now = connections_once(pids, ports);
    if (now == last) return now;
    last = now;
  }
  return last;
}

}  // namespace peerchat::testing
