#include "net/timer.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "net/net_test_support.hpp"

namespace peerchat::net {
namespace {

using namespace std::chrono_literals;

// Starts one wait; its result lands in the returned slot once the coroutine has resumed.
std::shared_ptr<std::optional<std::error_code>> start_wait(asio::io_context& io, Timer& timer) {
  auto result = testing::spawn_for_result(io, timer.wait());
  run_until_idle(io);  // the coroutine is now suspended in wait()
  return result;
}

class FakeTimerTest : public ::testing::Test {
 protected:
  FakeClock clock;  // before io: coroutine frames holding timers die with io
  asio::io_context io;
};

TEST_F(FakeTimerTest, DoesNotFireBeforeTheDeadlineHoweverLongRealTimePasses) {
  // Line the fake clock up with the real one, so that a timer wrongly armed on real time would
  // expire 1 ms from now.
  clock.advance_to(std::chrono::steady_clock::now());
  Timer timer(io.get_executor(), clock);
  timer.expires_after(1ms);
  auto result = start_wait(io, timer);
  // A bounded stretch of real time, many times the deadline: the absence of an event cannot
  // be waited for any other way.
  const auto until = std::chrono::steady_clock::now() + 30ms;
  while (std::chrono::steady_clock::now() < until) io.run_for(5ms);
  EXPECT_FALSE(result->has_value());
  EXPECT_EQ(clock.scheduled(), 1u);
}

TEST_F(FakeTimerTest, FiresThroughTheExecutorAfterAdvancePastTheDeadline) {
  Timer timer(io.get_executor(), clock);
  timer.expires_after(10s);
  auto result = start_wait(io, timer);
  clock.advance(9s);
  run_until_idle(io);
  EXPECT_FALSE(result->has_value());

  clock.advance(1s);
  EXPECT_FALSE(result->has_value()) << "resumed inside advance(), not through the executor";
  run_until_idle(io);
  ASSERT_TRUE(result->has_value());
  EXPECT_FALSE(**result);
  EXPECT_EQ(clock.scheduled(), 0u);
}

TEST_F(FakeTimerTest, ADeadlineAlreadyPastCompletesAtOnceButNotInline) {
  Timer timer(io.get_executor(), clock);
  timer.expires_at(clock.now() - 1s);
  auto result = start_wait(io, timer);
  ASSERT_TRUE(result->has_value());
  EXPECT_FALSE(**result);
}

TEST_F(FakeTimerTest, CancelGivesOperationAborted) {
  Timer timer(io.get_executor(), clock);
  timer.expires_after(10s);
  auto result = start_wait(io, timer);
  timer.cancel();
  EXPECT_EQ(clock.scheduled(), 0u);
  run_until_idle(io);
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(**result, asio::error::operation_aborted);
}

TEST_F(FakeTimerTest, ReArmingAbortsTheWaitAndTheNewDeadlineCounts) {
  Timer timer(io.get_executor(), clock);
  timer.expires_after(10s);
  auto first = start_wait(io, timer);
  timer.expires_after(20s);
  run_until_idle(io);
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(**first, asio::error::operation_aborted);

  auto second = start_wait(io, timer);
  clock.advance(10s);
  run_until_idle(io);
  EXPECT_FALSE(second->has_value()) << "fired at the old deadline";
  clock.advance(10s);
  run_until_idle(io);
  ASSERT_TRUE(second->has_value());
  EXPECT_FALSE(**second);
}

TEST_F(FakeTimerTest, DestructionWhileScheduledIsSafe) {
  auto timer = std::make_unique<Timer>(io.get_executor(), clock);
  timer->expires_after(10s);
  auto result = start_wait(io, *timer);
  EXPECT_EQ(clock.scheduled(), 1u);
  timer.reset();
  EXPECT_EQ(clock.scheduled(), 0u);
  clock.advance(1min);  // nothing left to call into freed memory (ASan would say)
  run_until_idle(io);
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(**result, asio::error::operation_aborted);
}

TEST_F(FakeTimerTest, AdvanceAndRunLetsARearmingTimerFireAtEachDeadline) {
  Timer timer(io.get_executor(), clock);
  int ticks = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 100; ++i) {
          timer.expires_after(1s);
          if (co_await timer.wait()) co_return;
          ++ticks;
        }
      },
      asio::detached);
  advance_and_run(io, clock, 10s);
  EXPECT_EQ(ticks, 10);
  // A bare advance() jumps over the deadlines the coroutine has not armed yet.
  clock.advance(10s);
  run_until_idle(io);
  EXPECT_EQ(ticks, 11);
  timer.cancel();
  run_until_idle(io);
}

TEST(SystemTimerTest, FiresOnRealTime) {
  SystemClock clock;
  asio::io_context io;
  Timer timer(io.get_executor(), clock);
  timer.expires_after(2ms);
  auto result = start_wait(io, timer);
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!result->has_value() && std::chrono::steady_clock::now() < give_up) io.run_for(1ms);
  ASSERT_TRUE(result->has_value());
  EXPECT_FALSE(**result);
}

TEST(SystemTimerTest, CancelGivesOperationAborted) {
  SystemClock clock;
  asio::io_context io;
  Timer timer(io.get_executor(), clock);
  timer.expires_after(1h);
  auto result = start_wait(io, timer);
  timer.cancel();
  run_until_idle(io);
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(**result, asio::error::operation_aborted);
}

}  // namespace
}  // namespace peerchat::net
