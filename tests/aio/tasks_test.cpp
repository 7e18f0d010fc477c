// Specification of sleep, gather, wait, as_completed and shield (Python: asyncio.tasks).
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

using aio::testing::fail_after;
using aio::testing::forever;
using aio::testing::nothing;
using aio::testing::value_after;
/// Completes with `v` once `release` is set: a task whose end the test decides.
Task<int> value_when(aio::Event& release, int v) {
  co_await release.wait();
  co_return v;
}

std::size_t pending() { return aio::get_running_loop().pending_task_count(); }

// ---- gather -------------------------------------------------------------------------------------------

TEST(AioGather, VariadicReturnsATupleInArgumentOrder) {
  auto main = []() -> Task<void> {
    auto [a, b, c] = co_await aio::gather(value_after(1, 2ms), value_after(2, 1ms), nothing());
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
    (void)c;  // aio::Unit for a void child
  };
  aio::run(main());
}

TEST(AioGather, AcceptsScheduledTasksToo) {
  auto main = []() -> Task<void> {
    auto t = aio::create_task(value_after(5, 0ms));
    auto [x, y] = co_await aio::gather(t, value_after(6, 0ms));
    EXPECT_EQ(x + y, 11);
  };
  aio::run(main());
}

TEST(AioGather, RangeReturnsAVectorInInputOrder) {
  auto main = []() -> Task<void> {
    std::vector<Task<int>> coros;
    for (int i = 0; i < 10; ++i) coros.push_back(value_after(i, std::chrono::milliseconds(10 - i)));
    auto values = co_await aio::gather(std::move(coros));
    EXPECT_EQ(values, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    auto empty = co_await aio::gather(std::vector<Task<int>>{});
    EXPECT_TRUE(empty.empty());
  };
  aio::run(main());
}

TEST(AioGather, FirstFailureIsRethrownAndTheOthersKeepRunning) {
  auto main = []() -> Task<void> {
    aio::Event release;
    auto slow = aio::create_task(value_when(release, 1));
    try {
      co_await aio::gather(slow, fail_after("first", 1ms), fail_after("second", 2ms));
      ADD_FAILURE();
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "first");
    }
    EXPECT_FALSE(slow.done());
    release.set();
    EXPECT_EQ(co_await slow, 1);
  };
  testing::internal::CaptureStderr();
  aio::run(main());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");  // "second" counts as seen by gather
}

TEST(AioGather, FailuresInTheSameIterationAreNotReportedAsLost) {
  auto yield_then_fail = [](std::string what) -> Task<int> {
    co_await aio::sleep(0);  // both children resume, and fail, in the same loop iteration
    throw std::runtime_error(what);
  };
  auto main = [&]() -> Task<void> {
    std::vector<Task<int>> coros;
    coros.push_back(yield_then_fail("one"));
    coros.push_back(yield_then_fail("two"));
    EXPECT_THROW(co_await aio::gather(std::move(coros)), std::runtime_error);
    EXPECT_THROW(co_await aio::gather(yield_then_fail("a"), yield_then_fail("b")), std::runtime_error);
  };
  testing::internal::CaptureStderr();
  aio::run(main());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(AioGather, ReturnExceptionsCollectsOutcomes) {
  auto main = []() -> Task<void> {
    auto cancelled = aio::create_task(value_after(0, 1h));
    cancelled.cancel();
    auto [ok, bad, c] = co_await aio::gather(aio::return_exceptions, value_after(3, 1ms), fail_after("x", 0ms),
                                             cancelled);
    EXPECT_TRUE(ok.has_value());
    EXPECT_EQ(ok.value(), 3);
    EXPECT_FALSE(bad.has_value());
    EXPECT_THROW(std::rethrow_exception(bad.error()), std::runtime_error);
    EXPECT_THROW(c.value(), tandem::CancelledError);
    std::vector<Task<int>> coros;
    coros.push_back(value_after(1, 0ms));
    coros.push_back(fail_after("y", 0ms));
    auto outcomes = co_await aio::gather(aio::return_exceptions, std::move(coros));
    CO_ASSERT_TRUE(outcomes.size() == 2u);
    EXPECT_TRUE(outcomes[0]);
    EXPECT_FALSE(outcomes[1]);
  };
  aio::run(main());
}

TEST(AioGather, CancellingTheWaiterCancelsEveryChild) {
  auto main = []() -> Task<void> {
    auto a = aio::create_task(forever());
    auto b = aio::create_task(forever());
    auto g = aio::create_task([](aio::TaskHandle<void> a, aio::TaskHandle<void> b) -> Task<void> {
      co_await aio::gather(a, b);
    }(a, b));
    co_await aio::sleep(1ms);
    g.cancel();
    EXPECT_THROW(co_await g, tandem::CancelledError);
    EXPECT_TRUE(a.cancelled());
    EXPECT_TRUE(b.cancelled());
    EXPECT_EQ(pending(), 1u);
  };
  aio::run(main());
}

TEST(AioGather, OfManyTasksThatEachYieldOnce) {
  auto main = []() -> Task<long> {
    std::vector<Task<int>> coros;
    for (int i = 0; i < 20000; ++i)
      coros.push_back([](int i) -> Task<int> {
        co_await aio::sleep(0);
        co_return i;
      }(i));
    auto values = co_await aio::gather(std::move(coros));
    long sum = 0;
    for (int v : values) sum += v;
    co_return sum;
  };
  EXPECT_EQ(aio::run(main()), 20000L * 19999 / 2);
}

// ---- wait ------------------------------------------------------------------------------------------------

TEST(AioWait, FirstCompletedReturnsDoneAndPending) {
  auto main = []() -> Task<void> {
    std::vector<aio::TaskHandle<int>> ts{aio::create_task(value_after(1, 1ms)), aio::create_task(value_after(2, 1h))};
    auto [done, still] = co_await aio::wait(ts, tandem::FIRST_COMPLETED);
    CO_ASSERT_TRUE(done.size() == 1u);
    EXPECT_EQ(done[0].result(), 1);
    CO_ASSERT_TRUE(still.size() == 1u);
    EXPECT_FALSE(still[0].done());
    still[0].cancel();
  };
  aio::run(main());
}

TEST(AioWait, FirstExceptionIgnoresCancellationsAndTimeoutReturnsWhatIsDone) {
  auto main = []() -> Task<void> {
    std::vector<aio::TaskHandle<int>> ts{aio::create_task(value_after(1, 1ms)), aio::create_task(fail_after("f", 2ms)),
                                         aio::create_task(value_after(3, 1h))};
    auto r = co_await aio::wait(ts, tandem::FIRST_EXCEPTION);
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_EQ(r.pending.size(), 1u);
    EXPECT_NE(r.done[1].exception(), nullptr);
    auto r2 = co_await aio::wait(r.pending, tandem::ALL_COMPLETED, 2ms);  // times out: no exception
    EXPECT_TRUE(r2.done.empty());
    EXPECT_EQ(r2.pending.size(), 1u);
    EXPECT_FALSE(ts[2].done());  // wait never cancels
    ts[2].cancel();
    EXPECT_EQ(pending(), 2u);  // main and the unwinding task
  };
  aio::run(main());
}

TEST(AioWait, CancellingTheWaiterLeavesTheTasksRunning) {
  auto main = []() -> Task<void> {
    aio::Event release;
    std::vector<aio::TaskHandle<int>> ts{aio::create_task(value_when(release, 1))};
    auto w = aio::create_task([](std::vector<aio::TaskHandle<int>> ts) -> Task<void> { co_await aio::wait(ts); }(ts));
    co_await aio::sleep(0);
    w.cancel();
    EXPECT_THROW(co_await w, tandem::CancelledError);
    EXPECT_FALSE(ts[0].done());
    release.set();
    EXPECT_EQ(co_await ts[0], 1);
  };
  aio::run(main());
}

TEST(AioWait, TasksOfDifferentResultTypes) {
  // Python: done, pending = await asyncio.wait({count_task, name_task}).
  auto main = []() -> Task<void> {
    aio::Event release;
    auto count = aio::create_task(value_after(3, 0ms));
    auto name = aio::create_task([](aio::Event& release) -> Task<std::string> {
      co_await release.wait();
      co_return std::string("seven");
    }(release));
    // GCC 12 rejects a braced list inside a co_await expression: the list is formed before it.
    auto first = aio::wait({count, name}, tandem::FIRST_COMPLETED);
    auto [done, still] = co_await std::move(first);
    CO_ASSERT_TRUE(done.size() == 1u && still.size() == 1u);
    EXPECT_TRUE(done[0] == count);
    EXPECT_TRUE(still[0] == name);
    EXPECT_EQ(count.result(), 3);
    release.set();
    std::vector<aio::AnyTask> both{count, name};
    auto all = co_await aio::wait(both);
    EXPECT_EQ(all.done.size(), 2u);
    EXPECT_TRUE(all.pending.empty());
    EXPECT_EQ(name.result(), "seven");
    co_await all.done[1];  // an AnyTask can be awaited for its outcome
  };
  aio::run(main());
}

// ---- as_completed -----------------------------------------------------------------------------------------

TEST(AioAsCompleted, YieldsInCompletionOrder) {
  auto main = []() -> Task<void> {
    std::vector<Task<int>> coros;
    coros.push_back(value_after(3, 3ms));
    coros.push_back(value_after(1, 1ms));
    coros.push_back(value_after(2, 2ms));
    auto it = aio::as_completed(std::move(coros));
    std::vector<int> order;
    while (auto t = co_await it.next()) order.push_back(t->result());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  };
  aio::run(main());
}

TEST(AioAsCompleted, TimesOutWithTasksLeft) {
  auto main = []() -> Task<void> {
    std::vector<aio::TaskHandle<int>> ts{aio::create_task(value_after(1, 0ms)), aio::create_task(value_after(2, 1h))};
    auto it = aio::as_completed(ts, 5ms);
    auto first = co_await it.next();
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->result(), 1);
    EXPECT_THROW(co_await it.next(), tandem::TimeoutError);
    ts[1].cancel();
  };
  aio::run(main());
}

TEST(AioAsCompleted, TasksOfDifferentResultTypesInCompletionOrder) {
  auto main = []() -> Task<void> {
    aio::Event go_text, go_fail;
    auto number = aio::create_task(value_after(1, 0ms));
    auto text = aio::create_task([](aio::Event& go) -> Task<std::string> {
      co_await go.wait();
      co_return std::string("two");
    }(go_text));
    auto failing = aio::create_task([](aio::Event& go) -> Task<void> {
      co_await go.wait();
      throw std::runtime_error("three");
    }(go_fail));
    auto it = aio::as_completed({failing, text, number, text});  // a repeat is yielded once
    auto first = co_await it.next();
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_TRUE(*first == number);
    go_fail.set();
    auto second = co_await it.next();
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_TRUE(*second == failing);
    EXPECT_THROW(co_await *second, std::runtime_error);
    go_text.set();
    auto third = co_await it.next();
    CO_ASSERT_TRUE(third.has_value());
    EXPECT_TRUE(*third == text);
    EXPECT_EQ(text.result(), "two");
    auto end = co_await it.next();
    EXPECT_FALSE(end.has_value());
  };
  aio::run(main());
}

// ---- shield ---------------------------------------------------------------------------------------------------

TEST(AioShield, CancellingTheWaiterDoesNotCancelTheShieldedTask) {
  auto main = []() -> Task<void> {
    aio::Event release;
    auto inner = aio::create_task(value_when(release, 9));
    auto outer = aio::create_task([](aio::TaskHandle<int> t) -> Task<int> { co_return co_await aio::shield(t); }(inner));
    co_await aio::sleep(0);
    outer.cancel();
    EXPECT_THROW(co_await outer, tandem::CancelledError);
    EXPECT_FALSE(inner.done());
    release.set();
    EXPECT_EQ(co_await inner, 9);
  };
  aio::run(main());
}

TEST(AioShield, WaitForAShieldedTaskTimesOutAndTheTaskRunsOn) {
  // Python: await asyncio.wait_for(asyncio.shield(task), 0.001) raises TimeoutError; task runs on.
  auto main = []() -> Task<void> {
    aio::Event release;
    auto inner = aio::create_task(value_when(release, 9));
    EXPECT_THROW(co_await aio::wait_for(aio::shield(inner), 1ms), tandem::TimeoutError);
    EXPECT_FALSE(inner.done());
    EXPECT_EQ(inner.cancelling(), 0);  // the timeout cancelled the wait, not the task
    EXPECT_THROW(co_await aio::wait_for(aio::shield(inner), 0ms), tandem::TimeoutError);  // no time at all
    EXPECT_FALSE(inner.done());
    release.set();
    EXPECT_EQ(co_await aio::wait_for(aio::shield(inner), 1h), 9);
    EXPECT_EQ(co_await aio::wait_for(aio::shield(inner), 0ms), 9);  // done already: its result
    EXPECT_EQ(aio::get_running_loop().timer_count(), 0u);
  };
  aio::run(main());
}

TEST(AioShield, CancellingTheOuterTaskOfWaitForShieldLeavesTheInnerRunning) {
  auto main = []() -> Task<void> {
    aio::Event release;
    auto inner = aio::create_task(value_when(release, 4));
    auto outer = aio::create_task(
        [](aio::TaskHandle<int> t) -> Task<int> { co_return co_await aio::wait_for(aio::shield(t), 1h); }(inner));
    co_await aio::sleep(0);
    outer.cancel();
    EXPECT_THROW(co_await outer, tandem::CancelledError);  // cancelled from outside: not a timeout
    EXPECT_FALSE(inner.done());
    release.set();
    EXPECT_EQ(co_await inner, 4);
  };
  aio::run(main());
}

// ---- sleep passed where a coroutine goes ------------------------------------------------------------------------

TEST(AioSleep, CreateTaskOfASleepIsATaskThatCanBeAwaitedOrCancelled) {
  // Python: asyncio.create_task(asyncio.sleep(d)).
  auto main = []() -> Task<void> {
    auto nap = aio::create_task(aio::sleep(1ms), "nap");
    EXPECT_EQ(nap.name(), "nap");
    co_await nap;
    EXPECT_TRUE(nap.done());
    EXPECT_FALSE(nap.cancelled());
    auto long_nap = aio::create_task(aio::sleep(1h));
    co_await aio::sleep(0);
    long_nap.cancel();
    EXPECT_THROW(co_await long_nap, tandem::CancelledError);
    EXPECT_EQ(aio::get_running_loop().timer_count(), 0u);
  };
  aio::run(main());
}

TEST(AioSleep, ShieldAndWaitForTakeASleep) {
  auto main = []() -> Task<void> {
    EXPECT_THROW(co_await aio::wait_for(aio::sleep(1h), 1ms), tandem::TimeoutError);
    co_await aio::wait_for(aio::sleep(0), 1h);
    auto shielded = aio::shield(aio::sleep(1h));
    auto sleeper = shielded.task();
    EXPECT_THROW(co_await aio::wait_for(std::move(shielded), 1ms), tandem::TimeoutError);
    EXPECT_FALSE(sleeper.done());  // the shield kept the sleep alive
    sleeper.cancel();
    EXPECT_THROW(co_await sleeper, tandem::CancelledError);
    co_await aio::shield(aio::sleep(1ms));
    EXPECT_EQ(aio::get_running_loop().timer_count(), 0u);
  };
  aio::run(main());
}

}  // namespace

TEST(AioGather, TheSameTaskTwiceCountsTwice) {
  auto main = []() -> Task<std::vector<int>> {
    auto t = aio::create_task(aio::testing::value_after(7, 1ms));
    std::vector<aio::TaskHandle<int>> twice(2, t);
    co_return co_await aio::gather(std::move(twice));
  };
  EXPECT_EQ(aio::run(main()), (std::vector<int>{7, 7}));
}

