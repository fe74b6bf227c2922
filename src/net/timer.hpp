// net: a deadline on the injected Clock. With SystemClock it is an Asio steady timer; with a
// FakeClock it fires only when the test advances that clock, so every timeout, keepalive and
// backoff of a node can run deterministically, in milliseconds of real time.
#pragma once

#include <cstddef>
#include <memory>
#include <system_error>

#include "net/asio_util.hpp"
#include "util/clock.hpp"

namespace peerchat::net {

// The clock must outlive the timer. The timer may be destroyed while a wait is suspended: the
// wait then ends with operation_aborted.
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
  // cancelled or re-armed. One wait at a time. A wait on a FakeClock resumes through the
  // executor after the advance() that passed its deadline, never inside advance().
  asio::awaitable<std::error_code> wait();
  void cancel();

 private:
  struct Impl;
  // Shared with a wait in progress, which must still be able to finish after ~Timer.
  std::shared_ptr<Impl> impl_;
};

// Tests: runs `io` until no handler is ready and returns how many ran; at most a million, so
// a runaway loop fails its test rather than hanging it. In-process sockets deliver
// synchronously, so "idle" means every coroutine waits on a timer or a peer.
std::size_t run_until_idle(asio::io_context& io);

// Tests: moves `clock` forward by `by` one due deadline at a time, running `io` until idle
// after each, so that a timer re-armed by the coroutine it woke (the next keepalive, the next
// redial) fires within the same span, as it would in real time. Returns the handlers run.
std::size_t advance_and_run(asio::io_context& io, FakeClock& clock, Clock::Duration by);

}  // namespace peerchat::net
