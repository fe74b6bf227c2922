// util: time as a dependency, so tests can drive timeouts without sleeping.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

namespace peerchat {

class FakeClock;

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time for timeouts and keepalive.
  virtual TimePoint now() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for message timestamps only.
  virtual std::int64_t wall_ms() const = 0;
  // The FakeClock behind this clock, if any: timers on it must wait for the test to advance
  // it, not for real time (net::Timer). A virtual rather than dynamic_cast, so that a clock
  // wrapping a FakeClock can hand it through.
  virtual const FakeClock* as_fake() const { return nullptr; }
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

// A clock that moves only when told to. Timers on it (net::Timer) register a callback for
// their deadline; advancing the clock runs the callbacks that came due, in deadline order.
// Single-threaded: schedule, unschedule and advance on one thread (the test's I/O thread).
class FakeClock final : public Clock {
 public:
  using Callback = std::function<void()>;

  TimePoint now() const override { return now_; }
  std::int64_t wall_ms() const override {
    return kStartWallMs +
           std::chrono::duration_cast<std::chrono::milliseconds>(now_ - kStart).count();
  }
  const FakeClock* as_fake() const override { return this; }

  // Runs `callback` from the advance() that reaches `when` (a deadline already past runs at
  // the next advance, even by zero), never from inside schedule(). const, like now(): timers
  // hold the clock as const Clock&, and scheduling does not move time. Returns a nonzero id.
  std::uint64_t schedule(TimePoint when, Callback callback) const {
    const std::uint64_t id = ++last_id_;
    due_.emplace(Key{when, id}, std::move(callback));
    deadlines_.emplace(id, when);
    return id;
  }
  // Forgets a callback; an id that already ran, or 0, is ignored.
  void unschedule(std::uint64_t id) const {
    const auto found = deadlines_.find(id);
    if (found == deadlines_.end()) return;
    due_.erase(Key{found->second, id});
    deadlines_.erase(found);
  }
  std::size_t scheduled() const { return due_.size(); }
  std::optional<TimePoint> next_deadline() const {
    if (due_.empty()) return std::nullopt;
    return due_.begin()->first.first;
  }

  // Moves time forward by `by`, stopping at each due deadline to run its callbacks (so each
  // sees now() equal to its deadline); callbacks may schedule more, which run in the same
  // call if they fall within `by`.
  void advance(Duration by) { advance_to(now_ + by); }
  // Moves time to `when` (or leaves it, if that is in the past) and runs what came due.
  void advance_to(TimePoint when) {
    // A callback that keeps scheduling itself at a time already due would never let this
    // return; that is a bug in the caller, so it is reported instead of looping forever.
    constexpr int kMaxCallbacks = 100'000;
    for (int ran = 0; !due_.empty() && due_.begin()->first.first <= std::max(when, now_); ++ran) {
      if (ran == kMaxCallbacks) {
        throw std::logic_error("FakeClock: over 100000 callbacks came due in one advance");
      }
      auto first = due_.begin();
      now_ = std::max(now_, first->first.first);
      Callback callback = std::move(first->second);
      deadlines_.erase(first->first.second);
      due_.erase(first);
      callback();
    }
    now_ = std::max(now_, when);
  }
  // Jumps to the earliest deadline and runs what is due there; false when nothing is scheduled.
  bool advance_to_next() {
    const auto next = next_deadline();
    if (!next) return false;
    advance_to(*next);
    return true;
  }

 private:
  using Key = std::pair<TimePoint, std::uint64_t>;  // ties run in the order they were scheduled
  static constexpr TimePoint kStart{std::chrono::hours(1)};
  static constexpr std::int64_t kStartWallMs = 1'700'000'000'000;

  TimePoint now_{kStart};
  mutable std::uint64_t last_id_ = 0;
  mutable std::map<Key, Callback> due_;
  mutable std::map<std::uint64_t, TimePoint> deadlines_;
};

}  // namespace peerchat
