// Ports of CPython's Lib/test/test_asyncio/test_tasks.py (Python 3.12): the tests of cancellation at a
// suspension point that already completed, current_task(), cancelling()/uncancel() and as_completed().
// asyncio's futures are played by aio::Event (a task waits on one; set() completes it). tandem's
// differences met here: white-box checks of `_must_cancel` / `_fut_waiter` become checks of what the
// task did.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "conformance/support.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;
using aio::conformance::run_async_test;

namespace {

Task<std::string> echo(std::string s) { co_return s; }

// test_as_completed_duplicate_coroutines: a task given twice is yielded once (asyncio takes set(fs)).
// Here with tasks, since a tandem coroutine (Task<T>) cannot be given twice.
TEST(AsyncioTasks, AsCompletedDuplicateTasks) {
  run_async_test([]() -> Task<void> {
    auto c = aio::create_task(echo("ham"));
    std::vector<aio::TaskHandle<std::string>> aws{c, c, aio::create_task(echo("spam"))};
    auto it = aio::as_completed(std::move(aws));
    EXPECT_EQ(it.remaining(), 2u);
    std::vector<std::string> result;
    while (auto t = co_await it.next()) result.push_back(t->result());
    EXPECT_EQ(std::set<std::string>(result.begin(), result.end()), (std::set<std::string>{"ham", "spam"}));
    EXPECT_EQ(result.size(), 2u);
  });
}

// As in asyncio, a task keeps its result for every handle after gather() or wait_for() returned it
// (tandem moved it out of the shared task into the first caller that awaited it as an rvalue).
TEST(AsyncioTasks, ATaskKeepsItsResultAfterGatherAndWaitFor) {
  run_async_test([]() -> Task<void> {
    auto t = aio::create_task(echo("ham"));
    auto [a] = co_await aio::gather(t);
    EXPECT_EQ(a, "ham");
    EXPECT_EQ(co_await aio::wait_for(t, 10s), "ham");
    EXPECT_EQ(t.result(), "ham");
    EXPECT_EQ(co_await aio::create_task(echo("spam")), "spam");  // the only handle: moved out
  });
}

// test_current_task
TEST(AsyncioTasks, CurrentTask) {
  EXPECT_FALSE(aio::current_task().valid());  // no loop: None
  aio::run([]() -> Task<void> {
    aio::TaskHandle<bool> task;
    task = aio::create_task([](aio::TaskHandle<bool>& self) -> Task<bool> {
      co_return aio::current_task() == self;  // (returning the AnyTask itself would make a cycle)
    }(task));
    EXPECT_TRUE(co_await task);
    EXPECT_TRUE(aio::current_task().valid());  // main's
    EXPECT_FALSE(aio::current_task() == task);
  }());
  EXPECT_FALSE(aio::current_task().valid());
}

// test_current_task_with_interleaving_tasks
TEST(AsyncioTasks, CurrentTaskWithInterleavingTasks) {
  run_async_test([]() -> Task<void> {
    aio::Event fut1, fut2;
    aio::TaskHandle<void> task1, task2;
    task1 = aio::create_task([](aio::Event& fut1, aio::Event& fut2, aio::TaskHandle<void>& self) -> Task<void> {
      EXPECT_TRUE(aio::current_task() == self);
      co_await fut1.wait();
      EXPECT_TRUE(aio::current_task() == self);
      fut2.set();
    }(fut1, fut2, task1));
    task2 = aio::create_task([](aio::Event& fut1, aio::Event& fut2, aio::TaskHandle<void>& self) -> Task<void> {
      EXPECT_TRUE(aio::current_task() == self);
      fut1.set();
      co_await fut2.wait();
      EXPECT_TRUE(aio::current_task() == self);
    }(fut1, fut2, task2));
    std::vector<aio::TaskHandle<void>> both{task1, task2};
    co_await aio::wait(std::move(both));
    EXPECT_TRUE(task1.done() && task2.done());
  });
}

// test_cancel_yield: the task is cancelled while its sleep(0) already woke it; it must not get past
// that sleep (issue 9: tandem's sleep returned and the next one threw).
TEST(AsyncioTasks, CancelYield) {
  run_async_test([]() -> Task<void> {
    int sleeps_done = 0;
    auto t = aio::create_task([](int& sleeps_done) -> Task<int> {
      co_await aio::sleep(0);
      ++sleeps_done;
      co_await aio::sleep(0);
      ++sleeps_done;
      co_return 12;
    }(sleeps_done));
    co_await aio::sleep(0);  // start coro
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_EQ(sleeps_done, 0);
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(t.cancel());
  });
}

// test_cancel_at_end: the coroutine ends right after its task was cancelled — the task is cancelled
TEST(AsyncioTasks, CancelAtEnd) {
  run_async_test([]() -> Task<void> {
    auto t = aio::create_task([]() -> Task<int> {
      EXPECT_TRUE(aio::current_task().cancel());
      co_return 12;
    }());
    EXPECT_FALSE(t.cancelled());
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(t.cancel());
  });
}

// test_cancel_task_catching
TEST(AsyncioTasks, CancelTaskCatching) {
  run_async_test([]() -> Task<void> {
    aio::Event fut1, fut2;
    auto t = aio::create_task([](aio::Event& fut1, aio::Event& fut2) -> Task<int> {
      co_await fut1.wait();
      try {
        co_await fut2.wait();
      } catch (const tandem::CancelledError&) {
        co_return 42;
      }
      co_return 0;
    }(fut1, fut2));
    co_await aio::sleep(0);
    fut1.set();
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_EQ(co_await t, 42);
    EXPECT_FALSE(t.cancelled());
  });
}

Task<void> forever() { co_await aio::sleep(1h); }

// test_cancel_both_task_and_inner_future (the inner future is a task here)
TEST(AsyncioTasks, CancelBothTaskAndInnerTask) {
  run_async_test([]() -> Task<void> {
    auto f = aio::create_task(forever());
    auto t = aio::create_task([](aio::TaskHandle<void> f) -> Task<int> {
      co_await f;
      co_return 12;
    }(f));
    co_await aio::sleep(0);
    f.cancel();
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(f.cancelled());
    EXPECT_TRUE(t.cancelled());
  });
}

// The same once the inner task has finished: its waiter, woken but not run yet, is cancelled. As in
// asyncio (its Task.__step throws into the coroutine), the waiter does not get past its await
// (issue 9: tandem's await returned the result and the task went on to its next suspension point).
TEST(AsyncioTasks, CancelledAfterTheAwaitedTaskFinished) {
  run_async_test([]() -> Task<void> {
    aio::Event go;
    auto f = aio::create_task([](aio::Event& go) -> Task<void> { co_await go.wait(); }(go));
    bool went_on = false;
    auto t = aio::create_task([](aio::TaskHandle<void> f, bool& went_on) -> Task<void> {
      co_await f;
      went_on = true;
    }(f, went_on));
    co_await aio::sleep(0);
    go.set();
    co_await aio::sleep(0);  // f finishes and wakes t, which runs after us
    EXPECT_TRUE(f.done());
    EXPECT_FALSE(t.done());
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_FALSE(went_on);
    EXPECT_FALSE(f.cancelled());  // the finished task is left as it was
  });
}

// test_cancelling
TEST(AsyncioTasks, Cancelling) {
  run_async_test([]() -> Task<void> {
    auto t = aio::create_task([]() -> Task<void> { co_await aio::sleep(10s); }());
    EXPECT_EQ(t.cancelling(), 0);
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(t.cancelling(), 1);
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(t.cancelling(), 2);
    EXPECT_THROW(co_await t, tandem::CancelledError);
  });
}

// test_uncancel_basic: the task withdraws the request it handled through current_task()
TEST(AsyncioTasks, UncancelBasic) {
  run_async_test([]() -> Task<void> {
    auto t = aio::create_task([]() -> Task<void> {
      bool caught = false;
      try {
        co_await aio::sleep(10s);
      } catch (const tandem::CancelledError&) {
        caught = true;
      }
      if (caught) {
        aio::current_task().uncancel();
        co_await aio::sleep(10s);
      }
    }());
    co_await aio::sleep(10ms);
    // Cancel the first sleep
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(t.cancelling(), 1);
    EXPECT_FALSE(t.cancelled());  // still not complete
    co_await aio::sleep(10ms);
    // after uncancel()
    EXPECT_EQ(t.cancelling(), 0);
    EXPECT_FALSE(t.cancelled());
    // Cancel the second sleep
    EXPECT_TRUE(t.cancel());
    EXPECT_EQ(t.cancelling(), 1);
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(t.cancelled());
  });
}

}  // namespace
