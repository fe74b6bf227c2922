#include "net/timer.hpp"

namespace peerchat::net {

// Interim: an Asio steady timer at the clock's time point (right for SystemClock).
struct Timer::Impl {
  Impl(asio::any_io_executor executor, const Clock& on) : timer(std::move(executor)), clock(on) {}
  asio::steady_timer timer;
  const Clock& clock;
};

Timer::Timer(asio::any_io_executor executor, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(executor), clock)) {}
Timer::~Timer() = default;

void Timer::expires_at(Clock::TimePoint when) {
  impl_->timer.expires_at(when);
}
void Timer::expires_after(Clock::Duration after) {
  impl_->timer.expires_at(impl_->clock.now() + after);
}
asio::awaitable<std::error_code> Timer::wait() {
  auto [error] = co_await impl_->timer.async_wait(use_nothrow);
  co_return error;
}
void Timer::cancel() {
  impl_->timer.cancel();
}

}  // namespace peerchat::net
