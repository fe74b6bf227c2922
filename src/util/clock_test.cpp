#include "util/clock.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace peerchat {
namespace {

using namespace std::chrono_literals;

TEST(FakeClockTest, RunsDueCallbacksInDeadlineOrderEachAtItsOwnTime) {
  FakeClock clock;
  const auto start = clock.now();
  std::vector<std::pair<int, Clock::Duration>> ran;
  auto record = [&](int which) {
    return [&, which] { ran.emplace_back(which, clock.now() - start); };
  };
  clock.schedule(start + 3s, record(3));
  clock.schedule(start + 1s, record(1));
  clock.schedule(start + 2s, record(2));
  clock.schedule(start + 9s, record(9));
  EXPECT_TRUE(ran.empty()) << "schedule() must never run a callback itself";

  clock.advance(5s);
  const std::vector<std::pair<int, Clock::Duration>> expected{{1, 1s}, {2, 2s}, {3, 3s}};
  EXPECT_EQ(ran, expected);
  EXPECT_EQ(clock.now(), start + 5s);
  EXPECT_EQ(clock.next_deadline(), start + 9s);
}

TEST(FakeClockTest, ACallbackMayScheduleAnotherThatRunsInTheSameAdvance) {
  FakeClock clock;
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    clock.schedule(clock.now() + 1s, tick);
  };
  clock.schedule(clock.now() + 1s, tick);
  clock.advance(10s);
  EXPECT_EQ(ticks, 10);
  EXPECT_EQ(clock.scheduled(), 1u);
}

TEST(FakeClockTest, ACallbackReschedulingItselfAtTheSameTimeIsReportedNotLoopedOn) {
  FakeClock clock;
  std::function<void()> again = [&] { clock.schedule(clock.now(), again); };
  clock.schedule(clock.now(), again);
  EXPECT_THROW(clock.advance(1s), std::logic_error);
}

TEST(FakeClockTest, UnscheduledCallbacksDoNotRun) {
  FakeClock clock;
  bool ran = false;
  const auto id = clock.schedule(clock.now() + 1s, [&] { ran = true; });
  clock.unschedule(id);
  clock.unschedule(id);  // twice, and an unknown id: ignored
  clock.unschedule(0);
  clock.advance(1min);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(clock.next_deadline().has_value());
}

TEST(FakeClockTest, AdvanceToNextJumpsToTheEarliestDeadline) {
  FakeClock clock;
  const auto start = clock.now();
  int ran = 0;
  clock.schedule(start + 7s, [&] { ++ran; });
  clock.schedule(start + 7s, [&] { ++ran; });
  EXPECT_TRUE(clock.advance_to_next());
  EXPECT_EQ(clock.now(), start + 7s);
  EXPECT_EQ(ran, 2);
  EXPECT_FALSE(clock.advance_to_next());
}

TEST(FakeClockTest, WallTimeMovesWithMonotonicTime) {
  FakeClock clock;
  const auto wall = clock.wall_ms();
  clock.advance(1500ms);
  EXPECT_EQ(clock.wall_ms(), wall + 1500);
  EXPECT_EQ(clock.as_fake(), &clock);
  EXPECT_EQ(SystemClock().as_fake(), nullptr);
}

}  // namespace
}  // namespace peerchat
