// net: test support: a coroutine of a transport or a timer, run to a slot the test can check.
#pragma once

#include <memory>
#include <optional>

#include "net/asio_util.hpp"

namespace peerchat::net::testing {

// Spawns `operation` on `io`; its result lands in the returned slot once it completes (the
// test runs `io`). Empty until then, so "not yet" is something a test can assert.
template <class T>
std::shared_ptr<std::optional<T>> spawn_for_result(asio::io_context& io,
                                                   asio::awaitable<T> operation) {
  auto result = std::make_shared<std::optional<T>>();
  asio::co_spawn(
      io,
      [result, operation = std::move(operation)]() mutable -> asio::awaitable<void> {
        result->emplace(co_await std::move(operation));
      },
      asio::detached);
  return result;
}

}  // namespace peerchat::net::testing
