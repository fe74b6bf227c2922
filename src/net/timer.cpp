#include "net/timer.hpp"

namespace peerchat::net {

struct Timer::Impl {
  Impl(asio::any_io_executor executor, const Clock& clock_)
      : clock(clock_), fake(clock_.as_fake()), timer(std::move(executor)) {
    if (fake != nullptr) timer.expires_at(asio::steady_timer::time_point::max());
  }

  void unschedule() {
    if (scheduled == 0) return;
    fake->unschedule(scheduled);
    scheduled = 0;
  }
  void cancel() {
    unschedule();
    timer.cancel();
  }

  const Clock& clock;
  const FakeClock* fake;
  // SystemClock (or any clock that is not fake): set to the deadline itself. FakeClock: left at
  // the end of time and cancelled to resume a wait, so that the wait completes through the
  // executor; `fired` then tells a deadline from a cancel.
  asio::steady_timer timer;
  Clock::TimePoint deadline{};
  std::uint64_t scheduled = 0;  // the FakeClock callback of the wait in progress
  bool fired = false;
};

Timer::Timer(asio::any_io_executor executor, const Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(executor), clock)) {}

Timer::~Timer() {
  impl_->cancel();
}

void Timer::expires_at(Clock::TimePoint when) {
  impl_->deadline = when;
  if (impl_->fake == nullptr) {
    // Clock::TimePoint is a steady_clock time point: the same instant for Asio.
    impl_->timer.expires_at(when);
    return;
  }
  impl_->cancel();
}

void Timer::expires_after(Clock::Duration after) {
  expires_at(impl_->clock.now() + after);
}

void Timer::cancel() {
  impl_->cancel();
}

asio::awaitable<std::error_code> Timer::wait() {
  // Only the local copy is used after a suspension: the Timer may be gone by then.
  const auto impl = impl_;
  if (impl->fake == nullptr) {
    auto [error] = co_await impl->timer.async_wait(use_nothrow);
    co_return error;
  }
  impl->fired = false;
  if (impl->fake->now() >= impl->deadline) {
    // Like an expired steady_timer: completes, but through the executor, not inline.
    co_await asio::post(impl->timer.get_executor(), asio::use_awaitable);
    co_return std::error_code{};
  }
  impl->unschedule();
  Impl* waiting = impl.get();  // ~Timer and cancel() unschedule this before it could dangle
  impl->scheduled = impl->fake->schedule(impl->deadline, [waiting] {
    waiting->scheduled = 0;
    waiting->fired = true;
    waiting->timer.cancel();
  });
  co_await impl->timer.async_wait(use_nothrow);
  if (impl->fired) co_return std::error_code{};
  co_return std::error_code(asio::error::operation_aborted);
}

std::size_t run_until_idle(asio::io_context& io) {
  // One handler at a time, so that the bound holds even when handlers keep making more ready
  // (a timer re-armed in the past): such a loop then fails its test instead of hanging it.
  constexpr std::size_t kMaxHandlers = 1'000'000;
  std::size_t ran = 0;
  while (ran < kMaxHandlers) {
    if (io.stopped()) io.restart();
    if (io.poll_one() == 0) break;
    ++ran;
  }
  return ran;
}

std::size_t advance_and_run(asio::io_context& io, FakeClock& clock, Clock::Duration by) {
  constexpr int kMaxSteps = 100'000;
  const auto end = clock.now() + by;
  std::size_t ran = run_until_idle(io);
  for (int step = 0; step < kMaxSteps; ++step) {
    const auto next = clock.next_deadline();
    if (!next || *next > end) break;
    clock.advance_to(*next);
    ran += run_until_idle(io);
  }
  clock.advance_to(end);
  return ran + run_until_idle(io);
}

}  // namespace peerchat::net
