#include "util/worker_pool.hpp"

namespace peerchat {

WorkerPool::WorkerPool(std::size_t threads, Post post) : post_(std::move(post)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void WorkerPool::submit(std::uint64_t key, std::function<void()> job, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    auto& queue = queues_[key];
    // A key with queued jobs is either ready or has one running: it is not added twice.
    if (queue.empty()) ready_.push_back(key);
    queue.push_back(Job{std::move(job), std::move(done)});
    ++pending_;
  }
  work_.notify_one();
}

std::size_t WorkerPool::pending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

void WorkerPool::run() {
  while (true) {
    std::uint64_t key = 0;
    Job job;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (ready_.empty()) return;  // stopping, and nothing left to run
      key = ready_.front();
      ready_.pop_front();
      // The job stays at the front of its queue while it runs, so the key is not ready.
      job = std::move(queues_[key].front());
    }
    job.work();
    if (job.done) post_(std::move(job.done));
    {
      std::lock_guard lock(mutex_);
      auto it = queues_.find(key);
      it->second.pop_front();
      --pending_;
      if (it->second.empty()) {
        queues_.erase(it);
      } else {
        ready_.push_back(key);
        work_.notify_one();
      }
    }
  }
}

}  // namespace peerchat
