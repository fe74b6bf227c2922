#include "util/failpoints.hpp"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace peerchat {

Failpoints::Failpoints(std::string_view spec) {
  const auto colon = spec.find(':');
  armed_ = std::string(spec.substr(0, colon));
  if (colon != std::string_view::npos) {
    const auto count = spec.substr(colon + 1);
    std::from_chars(count.data(), count.data() + count.size(), kill_on_);
    if (kill_on_ == 0) kill_on_ = 1;
  }
}

Failpoints Failpoints::from_environment() {
  const char* spec = std::getenv("PEERCHAT_FAILPOINT");
  return spec != nullptr ? Failpoints(spec) : Failpoints();
}

void Failpoints::hit(std::string_view name) {
  if (armed_.empty() || name != armed_) return;
  if (++hits_ < kill_on_) return;
  static constexpr char kMessage[] = "peerchat: failpoint reached, killing the process\n";
  [[maybe_unused]] auto ignored = ::write(2, kMessage, sizeof kMessage - 1);
  ::kill(::getpid(), SIGKILL);
}

}  // namespace peerchat
