// store: where store work runs. A Store is one SQLite connection, used by one thread at a
// time; the worker is that thread, so that commits (fdatasync) and history queries of any size
// never stall the I/O thread. Jobs run in submission order, which the message path relies on:
// a batch committed before another is acknowledged before it.
//
// Inline mode runs each job at once on the caller's thread: deterministic single-threaded
// tests of many nodes in one process use it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "store/store.hpp"

namespace peerchat::store {

class StoreWorker {
 public:
  enum class Mode { own_thread, inline_calls };
  StoreWorker(Store& store, Mode mode);
  // Runs every job already submitted, then stops.
  ~StoreWorker();
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  // Queues `job`; it runs with the store on the worker's thread (or at once, inline).
  void submit(std::function<void(Store&)> job);

  // Runs `job` and waits for its result. Start-up and tests only: never from the I/O thread
  // while sessions run.
  template <class Job>
  auto call(Job job) -> std::invoke_result_t<Job, Store&> {
    using R = std::invoke_result_t<Job, Store&>;
    if (mode_ == Mode::inline_calls) return job(store_);
    std::mutex done_mutex;
    std::condition_variable done_signal;
    std::optional<R> result;
    submit([&](Store& store) {
      R value = job(store);
      std::lock_guard lock(done_mutex);
      result.emplace(std::move(value));
      done_signal.notify_one();
    });
    std::unique_lock lock(done_mutex);
    done_signal.wait(lock, [&] { return result.has_value(); });
    return std::move(*result);
  }

  // Jobs submitted and not yet finished (for benchmarks and back-pressure).
  std::size_t backlog() const;

 private:
  void run();

  Store& store_;
  Mode mode_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void(Store&)>> jobs_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace peerchat::store
