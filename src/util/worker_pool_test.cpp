#include "util/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>

namespace peerchat {
namespace {

// A stand-in for the I/O thread: completions wait here until the test runs them.
struct Posted {
  std::mutex mutex;
  std::vector<std::function<void()>> jobs;
  void post(std::function<void()> job) {
    std::lock_guard lock(mutex);
    jobs.push_back(std::move(job));
  }
  std::size_t run() {
    std::vector<std::function<void()>> now;
    {
      std::lock_guard lock(mutex);
      now.swap(jobs);
    }
    for (auto& job : now) job();
    return now.size();
  }
};

TEST(WorkerPool, OneKeysJobsRunInOrderAndEachCompletionIsPosted) {
  Posted posted;
  std::vector<int> order;
  std::mutex order_mutex;
  int completions = 0;
  {
    WorkerPool pool(3, [&](std::function<void()> job) { posted.post(std::move(job)); });
    for (int i = 0; i < 200; ++i) {
      pool.submit(
          7,
          [&, i] {
            std::lock_guard lock(order_mutex);
            order.push_back(i);
          },
          [&] { ++completions; });
    }
  }  // drains everything submitted
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(completions, 0);  // completions run where they are posted, not on the workers
  EXPECT_EQ(posted.run(), 200u);
  EXPECT_EQ(completions, 200);
}

TEST(WorkerPool, OtherKeysRunWhileOneKeyIsBusy) {
  Posted posted;
  WorkerPool pool(2, [&](std::function<void()> job) { posted.post(std::move(job)); });
  std::promise<void> second_ran;
  auto second = second_ran.get_future();
  std::atomic<bool> first_saw_second{false};
  // Key 1's job waits (bounded) for key 2's job: with one key at a time this would time out.
  pool.submit(1, [&] {
    first_saw_second = second.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  });
  pool.submit(2, [&] { second_ran.set_value(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (pool.pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_TRUE(first_saw_second);
}

}  // namespace
}  // namespace peerchat
