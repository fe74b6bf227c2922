// util: time as a dependency, so tests can drive timeouts without sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace peerchat {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time for timeouts and keepalive.
  virtual TimePoint now() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for message timestamps only.
  virtual std::int64_t wall_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  std::int64_t wall_ms() const override { return wall_ms_; }
  void advance(Duration by) {
    now_ += by;
    wall_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(by).count();
  }

 private:
  TimePoint now_{std::chrono::hours(1)};
  std::int64_t wall_ms_ = 1'700'000'000'000;
};

}  // namespace peerchat
