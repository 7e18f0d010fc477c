// Helpers shared by the aio tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>

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

}  // namespace tandem::aio::testing
