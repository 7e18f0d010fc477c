// Ports of CPython's Lib/test/test_asyncio/test_waitfor.py (Python 3.12, whose wait_for is
// asyncio.timeout plus a special case for timeout <= 0). Left out: timeout=None (aio::wait_for always
// takes a duration) and the shield tests (aio::shield() gives an awaitable, not a task to wait_for).
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance/support.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;
using aio::conformance::run_async_test;

namespace {

// SlowTask: runs for kTaskTimeout of loop time, ignoring cancel requests.
constexpr auto kTaskTimeout = 200ms;
Task<void> slow_task_run(bool& exited) {
  const auto exit_at = aio::get_running_loop().time() + kTaskTimeout;
  for (;;) {
    const auto to_sleep = exit_at - aio::get_running_loop().time();
    if (to_sleep <= to_sleep.zero()) break;
    try {
      co_await aio::sleep(to_sleep);
    } catch (const tandem::CancelledError&) {
    }
  }
  exited = true;
}

// AsyncioWaitForTest.test_asyncio_wait_for_cancelled
TEST(AsyncioWaitFor, WaitForCancelled) {
  run_async_test([]() -> Task<void> {
    bool exited = false;
    auto waitfortask = aio::create_task(aio::wait_for(slow_task_run(exited), kTaskTimeout * 2));
    co_await aio::sleep(0);
    waitfortask.cancel();
    std::vector<aio::TaskHandle<void>> one{waitfortask};
    co_await aio::wait(std::move(one));
    EXPECT_TRUE(exited);
  });
}

// AsyncioWaitForTest.test_asyncio_wait_for_timeout: the task ignores the cancellation and finishes,
// so wait_for returns normally
TEST(AsyncioWaitFor, WaitForTimeout) {
  run_async_test([]() -> Task<void> {
    bool exited = false;
    try {
      co_await aio::wait_for(slow_task_run(exited), kTaskTimeout / 2);
    } catch (const tandem::TimeoutError&) {
    }
    EXPECT_TRUE(exited);
  });
}

// test_wait_for_timeout_less_then_0_or_0_future_done
TEST(AsyncioWaitFor, TimeoutZeroTaskDone) {
  run_async_test([]() -> Task<void> {
    auto fut = aio::create_task([]() -> Task<std::string> { co_return "done"; }());
    co_await aio::sleep(0);
    EXPECT_TRUE(fut.done());
    EXPECT_EQ(co_await aio::wait_for(fut, 0s), "done");
    EXPECT_TRUE(fut.done());
  });
}

// test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started (issue 9: tandem ran the coroutine
// and returned its value)
TEST(AsyncioWaitFor, TimeoutZeroCoroutineIsNotStarted) {
  run_async_test([]() -> Task<void> {
    bool foo_started = false;
    auto foo = [](bool& started) -> Task<int> {
      started = true;
      co_return 1;
    };
    EXPECT_THROW(co_await aio::wait_for(foo(foo_started), 0s), tandem::TimeoutError);
    EXPECT_FALSE(foo_started);
    EXPECT_THROW(co_await aio::wait_for(foo(foo_started), -1s), tandem::TimeoutError);
    EXPECT_FALSE(foo_started);
  });
}

// foo() of the tests below: runs until cancelled, then says so.
Task<std::string> sleeping_foo(bool& running, aio::Event* started) {
  running = true;
  if (started) started->set();
  try {
    co_await aio::sleep(10s);
  } catch (...) {
    running = false;
    throw;
  }
  running = false;
  co_return "done";
}

// test_wait_for_timeout_less_then_0_or_0
TEST(AsyncioWaitFor, TimeoutZeroOrLess) {
  run_async_test([]() -> Task<void> {
    const std::vector<std::chrono::seconds> timeouts{0s, -1s};
    for (auto timeout : timeouts) {
      SCOPED_TRACE(timeout.count());
      bool foo_running = false;
      aio::Event started;
      auto fut = aio::create_task(sleeping_foo(foo_running, &started));
      co_await started.wait();
      EXPECT_THROW(co_await aio::wait_for(fut, timeout), tandem::TimeoutError);
      EXPECT_TRUE(fut.done());
      EXPECT_TRUE(fut.cancelled());  // cancelled because of the timeout
      EXPECT_FALSE(foo_running);
    }
  });
}

// test_wait_for
TEST(AsyncioWaitFor, WaitFor) {
  run_async_test([]() -> Task<void> {
    bool foo_running = false;
    auto fut = aio::create_task(sleeping_foo(foo_running, nullptr));
    EXPECT_THROW(co_await aio::wait_for(fut, 100ms), tandem::TimeoutError);
    EXPECT_TRUE(fut.done());
    EXPECT_TRUE(fut.cancelled());
    EXPECT_FALSE(foo_running);
  });
}

// test_wait_for_race_condition
TEST(AsyncioWaitFor, RaceCondition) {
  run_async_test([]() -> Task<void> {
    aio::Event ready;
    auto fut = aio::create_task([](aio::Event& ready) -> Task<std::string> {
      co_await ready.wait();
      co_return "ok";
    }(ready));
    aio::get_running_loop().call_soon([&ready] { ready.set(); });
    EXPECT_EQ(co_await aio::wait_for(fut, 200ms), "ok");
  });
}

// test_wait_for_cancellation_race_condition, test_wait_for_cancel_suppressed (GH-86296): a coroutine
// that swallows the cancellation and returns a value — wait_for returns the value
TEST(AsyncioWaitFor, CancelSuppressed) {
  run_async_test([]() -> Task<void> {
    auto return_42 = []() -> Task<int> {
      try {
        co_await aio::sleep(10s);
      } catch (const tandem::CancelledError&) {
        co_return 42;
      }
      co_return 0;
    };
    EXPECT_EQ(co_await aio::wait_for(return_42(), 10ms), 42);
  });
}

// inner() of the two tests below: unwinding from its cancellation takes a while.
Task<void> slow_to_unwind(bool& task_done) {
  bool cancelled = false;
  try {
    co_await aio::sleep(10s);
  } catch (const tandem::CancelledError&) {
    cancelled = true;
  }
  if (cancelled) {
    co_await aio::sleep(1ms);
    task_done = true;
    throw tandem::CancelledError("re-raised");
  }
  task_done = true;
}

// test_wait_for_waits_for_task_cancellation
TEST(AsyncioWaitFor, WaitsForTaskCancellation) {
  run_async_test([]() -> Task<void> {
    bool task_done = false;
    auto inner_task = aio::create_task(slow_to_unwind(task_done));
    EXPECT_THROW(co_await aio::wait_for(inner_task, 1ms), tandem::TimeoutError);
    EXPECT_TRUE(task_done);
  });
}

// test_wait_for_waits_for_task_cancellation_w_timeout_0
TEST(AsyncioWaitFor, WaitsForTaskCancellationWithTimeoutZero) {
  run_async_test([]() -> Task<void> {
    bool task_done = false;
    auto inner_task = aio::create_task(slow_to_unwind(task_done));
    co_await aio::sleep(1ms);
    EXPECT_THROW(co_await aio::wait_for(inner_task, 0s), tandem::TimeoutError);
    EXPECT_TRUE(task_done);
  });
}

// test_wait_for_reraises_exception_during_cancellation
TEST(AsyncioWaitFor, ReraisesExceptionDuringCancellation) {
  run_async_test([]() -> Task<void> {
    struct FooException : std::runtime_error {
      FooException() : std::runtime_error("foo") {}
    };
    auto inner_task = aio::create_task([]() -> Task<void> {
      try {
        co_await aio::sleep(200ms);
      } catch (...) {
      }
      throw FooException();  // Python: `finally: raise FooException`
    }());
    // Let the inner task start and park in its sleep, as it has in CPython's test by the time the
    // timeout fires; otherwise a stalled machine can let the 1 ms pass before its first step, and a task
    // cancelled before it ran never reaches its handler (TimeoutError, not FooException).
    co_await aio::sleep(0ms);
    EXPECT_THROW(co_await aio::wait_for(inner_task, 1ms), FooException);
  });
}

// test_cancel_wait_for (Python issue #23219): cancelling the wait cancels the task
TEST(AsyncioWaitFor, CancelWaitFor) {
  run_async_test([]() -> Task<void> {
    aio::Event never;
    auto task = aio::create_task([](aio::Event& never) -> Task<void> { co_await never.wait(); }(never));
    auto wait = aio::create_task(aio::wait_for(task, 60s));
    aio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, tandem::CancelledError);
    EXPECT_TRUE(task.cancelled());
  });
}

// test_wait_for_issue86296: the waiting task is cancelled after the awaited task completed
TEST(AsyncioWaitFor, Issue86296) {
  run_async_test([]() -> Task<void> {
    auto inner_task = aio::create_task([]() -> Task<std::string> { co_return "done"; }());
    bool reached_end = false;
    auto task = aio::create_task([](aio::TaskHandle<std::string> inner, bool& reached_end) -> Task<void> {
      co_await aio::wait_for(inner, 100s);
      co_await aio::sleep(1s);
      reached_end = true;
    }(inner_task, reached_end));
    EXPECT_FALSE(task.done());
    co_await aio::sleep(0);  // run the task
    task.cancel();
    EXPECT_THROW(co_await task, tandem::CancelledError);
    EXPECT_TRUE(inner_task.done());
    EXPECT_EQ(co_await inner_task, "done");
    EXPECT_FALSE(reached_end);
  });
}

}  // namespace
