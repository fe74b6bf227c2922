// InputFlow: lines handed over in batches keep their order, and a line that must wait holds
// every later one. (The reader blocking on a full window is covered end to end by
// tests/integration/backpressure_test.cpp.)
#include "cli/input_flow.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace peerchat::cli {
namespace {

// A stand-in for the I/O thread: posted work waits here until the test runs it.
struct Loop {
  std::mutex mutex;
  std::deque<std::function<void()>> work;
  void post(std::function<void()> job) {
    std::lock_guard lock(mutex);
    work.push_back(std::move(job));
  }
  std::size_t run() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard lock(mutex);
      now.swap(work);
    }
    for (auto& job : now) job();
    return now.size();
  }
};

TEST(InputFlow, BatchesKeepOrderAndAWaitingLineHoldsTheRest) {
  Loop loop;
  std::vector<std::string> ran;
  bool room = true;
  InputFlow flow(
      [&](const std::string& line) {
        if (line == "wait" && !room) return false;
        ran.push_back(line);
        return true;
      },
      [&](std::function<void()> job) { loop.post(std::move(job)); }, 8);
  room = false;
  ASSERT_TRUE(flow.submit_all({"a", "wait", "b"}));
  ASSERT_TRUE(flow.submit_all({"c"}));
  EXPECT_EQ(loop.run(), 2u);  // one hand-over per batch
  EXPECT_EQ(ran, (std::vector<std::string>{"a"}));
  EXPECT_EQ(flow.waiting(), 3u);
  room = true;
  flow.retry();
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "wait", "b", "c"}));
  EXPECT_EQ(flow.waiting(), 0u);
}

}  // namespace
}  // namespace peerchat::cli
