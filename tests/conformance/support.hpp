// Helpers for the ports of CPython's Lib/test/test_asyncio (one file here per CPython test module,
// asyncio_<module>_test.cpp). Each TEST names, in a comment, the CPython test it mirrors; where tandem
// differs on purpose (docs/asyncio.md), the test says so and checks tandem's behaviour.
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

namespace tandem::aio::conformance {

/// Runs `body` as IsolatedAsyncioTestCase runs an `async def test_...`: as the main task of a fresh
/// loop. Then checks what tandem's tests check after every scenario: no timer armed, no task left
/// but main.
template <class Body>
void run_async_test(Body body) {
  aio::run([&]() -> Task<void> {
    co_await body();
    for (int i = 0; i < 3; ++i) co_await sleep(0);  // let cancelled leftovers finish unwinding
    auto& loop = get_running_loop();
    EXPECT_EQ(loop.timer_count(), 0u) << "a timer outlived the test";
    EXPECT_EQ(loop.pending_task_count(), 1u) << "a task outlived the test";
  }());
}

/// Lets the loop turn up to `turns` times, until `t` is done; returns whether it is. Used before
/// awaiting a task that a bug would leave waiting forever, so that the bug fails the test instead of
/// hanging it.
template <class Handle>
Task<bool> done_within(const Handle& t, int turns = 10) {
  for (int i = 0; i < turns && !t.done(); ++i) co_await sleep(0);
  co_return t.done();
}

/// asyncio's create_task(q.get()), create_task(q.put(x)), create_task(lock.acquire()): here these are
/// awaitables, and a task needs a coroutine around them.
template <class Queue>
auto get_from(Queue& q) -> Task<decltype(q.get_nowait())> {
  co_return co_await q.get();
}
template <class Queue, class Item>
Task<void> put_into(Queue& q, Item item) {
  co_await q.put(std::move(item));
}

template <class Primitive>
Task<bool> acquire_of(Primitive& p) {
  co_return co_await p.acquire();
}

}  // namespace tandem::aio::conformance
