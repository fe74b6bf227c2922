// node: store work from the I/O thread. A job runs on the store worker (store/store_worker.hpp)
// and its completion comes back onto the I/O thread, never running after the node is gone.
#pragma once

#include <memory>
#include <utility>

#include "net/asio_util.hpp"
#include "store/store_worker.hpp"

namespace peerchat::node {

class StoreAccess {
 public:
  StoreAccess(asio::any_io_executor executor, store::StoreWorker& worker)
      : executor_(std::move(executor)), worker_(worker) {}
  ~StoreAccess() { *alive_ = false; }
  StoreAccess(const StoreAccess&) = delete;
  StoreAccess& operator=(const StoreAccess&) = delete;

  // `job(Store&)` on the worker; then `done(result)` on the I/O thread. Jobs run in order.
  template <class Job, class Done>
  void run(Job job, Done done) {
    worker_.submit([job = std::move(job), done = std::move(done), alive = alive_,
                    executor = executor_](store::Store& store) mutable {
      auto result = std::make_shared<decltype(job(store))>(job(store));
      asio::post(executor, [alive = std::move(alive), done = std::move(done),
                            result = std::move(result)]() mutable {
        if (*alive) done(std::move(*result));
      });
    });
  }

  store::StoreWorker& worker() { return worker_; }

 private:
  asio::any_io_executor executor_;
  store::StoreWorker& worker_;
  // Read and written on the I/O thread only; the worker just carries it along.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace peerchat::node
