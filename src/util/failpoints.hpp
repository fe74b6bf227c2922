// util: named crash points for durability tests. PEERCHAT_FAILPOINT=NAME[:N] makes the process
// kill itself (SIGKILL, no cleanup) the Nth time (default 1st) it passes NAME.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace peerchat {

class Failpoints {
 public:
  Failpoints() = default;
  // Parses "NAME" or "NAME:N"; an empty spec disables every point.
  explicit Failpoints(std::string_view spec);
  static Failpoints from_environment();

  // Kills the process if `name` is armed and this is the chosen hit.
  void hit(std::string_view name);

 private:
  std::string armed_;
  std::uint64_t kill_on_ = 1;
  std::uint64_t hits_ = 0;
};

}  // namespace peerchat
