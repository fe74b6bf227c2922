#include "store/store_worker.hpp"

namespace peerchat::store {

StoreWorker::StoreWorker(Store& store, Mode mode) : store_(store), mode_(mode) {
  if (mode_ == Mode::own_thread) thread_ = std::thread([this] { run(); });
}

StoreWorker::~StoreWorker() {
  if (mode_ != Mode::own_thread) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void StoreWorker::submit(std::function<void(Store&)> job) {
  if (mode_ == Mode::inline_calls) {
    job(store_);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

std::size_t StoreWorker::backlog() const {
  std::lock_guard lock(mutex_);
  return jobs_.size() + running_;
}

void StoreWorker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything submitted has run
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job(store_);
    lock.lock();
    --running_;
  }
}

}  // namespace peerchat::store
