// Helpers shared by the aio tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "tandem/aio.hpp"

// gtest's ASSERT_* return void, which a coroutine cannot do. `c` may co_await: it is evaluated into a
// variable first, because GCC 12 miscompiles a co_await inside an if condition (docs/asyncio.md).
#define CO_ASSERT_TRUE(c)                 \
  do {                                    \
    const bool co_assert_holds_ = (c);    \
    if (!co_assert_holds_) {              \
      ADD_FAILURE() << "expected " #c;    \
      co_return;                          \
    }                                     \
  } while (0)

namespace tandem::aio::testing {

/// A task that completes with `v` after `d` of loop time.
inline Task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await sleep(d);
  co_return v;
}

/// A task that fails with std::runtime_error(what) after `d` of loop time.
inline Task<int> fail_after(std::string what, std::chrono::milliseconds d) {
  co_await sleep(d);
  throw std::runtime_error(what);
}

/// A task that sleeps for an hour: it ends only by cancellation.
inline Task<void> forever() { co_await sleep(std::chrono::hours(1)); }

/// A task that completes at once.
inline Task<void> nothing() { co_return; }

/// A task that completes with 42 at once.
inline Task<int> answer() { co_return 42; }

}  // namespace tandem::aio::testing
