// util: a few threads for blocking work that must stay off the I/O thread (file transfer's
// reads, writes, hashing and fsyncs). Jobs with the same key run one at a time, in the order
// submitted (one transfer's pieces and syncs never race each other); jobs with different keys
// run in parallel. Each job's completion is handed to `post` (the I/O thread's executor), so
// callers see results where they live.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace peerchat {

class WorkerPool {
 public:
  using Post = std::function<void(std::function<void()>)>;

  WorkerPool(std::size_t threads, Post post);
  // Runs every job already submitted (their completions are still posted), then stops.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // `job` runs on a worker; then `done`, if any, is posted.
  void submit(std::uint64_t key, std::function<void()> job, std::function<void()> done = {});
  // Jobs submitted and not yet finished: for callers that bound how far they run ahead.
  std::size_t pending() const;

 private:
  struct Job {
    std::function<void()> work;
    std::function<void()> done;
  };
  void run();

  Post post_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::map<std::uint64_t, std::deque<Job>> queues_;  // by key
  std::deque<std::uint64_t> ready_;                  // keys with work and no job running
  std::size_t pending_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace peerchat
