// net: a deadline on the injected Clock. With SystemClock it is an Asio steady timer; with a
// FakeClock it fires only when the test advances that clock, so every timeout, keepalive and
// backoff of a node can run deterministically, in milliseconds of real time.
#pragma once

#include <memory>
#include <system_error>

#include "net/asio_util.hpp"
#include "util/clock.hpp"

namespace peerchat::net {

class Timer {
 public:
  Timer(asio::any_io_executor executor, const Clock& clock);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Setting a deadline cancels a wait in progress (it completes with operation_aborted).
  void expires_at(Clock::TimePoint when);
  void expires_after(Clock::Duration after);
  // {} once the deadline has passed on the clock; asio::error::operation_aborted when
  // cancelled or re-armed. One wait at a time.
  asio::awaitable<std::error_code> wait();
  void cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace peerchat::net
