// Specification of the bridges between the loop and tandem::Future: co_await on a Future and
// run_coroutine_threadsafe (Python: asyncio.wrap_future, asyncio.run_coroutine_threadsafe).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "aio/support.hpp"
#include "tandem/aio.hpp"
#include "tandem/thread_pool.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

using aio::testing::value_after;

TEST(AioAwaitFuture, DoesNotBlockTheLoopWhileAnotherThreadWorks) {
  auto main = []() -> Task<int> {
    tandem::Promise<int> promise;
    auto fut = promise.get_future();
    int ticks = 0;
    bool finished = false;
    auto ticker = aio::create_task([](int& ticks, bool& finished, tandem::Promise<int>& p) -> Task<void> {
      while (!finished) {
        if (++ticks == 3) p.set_result(42);  // completes from "elsewhere" once the loop has been running
        co_await aio::sleep(0);
      }
    }(ticks, finished, promise));
    int v = co_await fut;
    finished = true;
    co_await ticker;
    EXPECT_GE(ticks, 3);
    co_return v;
  };
  EXPECT_EQ(aio::run(main()), 42);
}

TEST(AioAwaitFuture, CompletedOnAnotherThread) {
  auto main = []() -> Task<int> {
    tandem::Promise<int> promise;
    auto fut = promise.get_future();
    std::thread producer([p = std::move(promise)]() mutable { p.set_result(7); });
    int v = co_await fut;
    producer.join();
    co_return v;
  };
  EXPECT_EQ(aio::run(main()), 7);
}

TEST(AioAwaitFuture, RethrowsTheProducersException) {
  auto main = []() -> Task<void> {
    tandem::ThreadPoolExecutor pool(2);
    EXPECT_THROW(co_await pool.submit([]() -> int { throw std::out_of_range("from the pool"); }), std::out_of_range);
    EXPECT_EQ(co_await aio::run_in_executor(pool, [](int a, int b) { return a * b; }, 6, 7), 42);
  };
  aio::run(main());
}

TEST(AioAwaitFuture, CancellingTheWaiterIgnoresTheLateResult) {
  auto main = []() -> Task<void> {
    tandem::Promise<int> promise;
    auto fut = promise.get_future();
    promise.set_running_or_notify_cancel();  // "running": cannot be cancelled any more
    auto waiter = aio::create_task([](tandem::Future<int> f) -> Task<int> { co_return co_await f; }(fut));
    co_await aio::sleep(0);
    waiter.cancel();
    EXPECT_THROW(co_await waiter, tandem::CancelledError);
    promise.set_result(1);  // arrives after the waiter left: nothing happens
    co_await aio::sleep(1ms);
  };
  aio::run(main());
}

TEST(AioAwaitFuture, CancellingTheWaiterCancelsAPendingFuture) {
  auto main = []() -> Task<void> {
    tandem::Promise<int> promise;
    auto fut = promise.get_future();
    auto waiter = aio::create_task([](tandem::Future<int> f) -> Task<int> { co_return co_await aio::wrap_future(f); }(fut));
    co_await aio::sleep(0);
    waiter.cancel();
    EXPECT_THROW(co_await waiter, tandem::CancelledError);
    EXPECT_TRUE(fut.cancelled());
  };
  aio::run(main());
}

TEST(AioRunCoroutineThreadsafe, ReturnsACoreFutureToTheCallingThread) {
  auto main = []() -> Task<int> {
    auto& loop = aio::get_running_loop();
    std::atomic<int> got{0};
    auto done = co_await aio::to_thread([&] {
      auto f = aio::run_coroutine_threadsafe(value_after(5, 1ms), loop);
      got = f.result();  // blocks this pool thread, not the loop
      return true;
    });
    EXPECT_TRUE(done);
    co_return got.load();
  };
  EXPECT_EQ(aio::run(main()), 5);
}

TEST(AioRunCoroutineThreadsafe, ExceptionsAndCancellationCrossOver) {
  auto main = []() -> Task<void> {
    auto& loop = aio::get_running_loop();
    co_await aio::to_thread([&] {
      auto failing = aio::run_coroutine_threadsafe(
          []() -> Task<int> {
            co_await aio::sleep(0);
            throw std::runtime_error("in the loop");
          }(),
          loop);
      EXPECT_THROW(failing.result(), std::runtime_error);
      auto endless = aio::run_coroutine_threadsafe(value_after(1, 1h), loop);
      EXPECT_TRUE(endless.cancel());  // still pending for the caller: cancels the task in the loop
      EXPECT_THROW(endless.result(), tandem::CancelledError);
    });
    for (int i = 0; i < 10 && aio::get_running_loop().pending_task_count() > 1; ++i) co_await aio::sleep(1ms);
    EXPECT_EQ(aio::get_running_loop().pending_task_count(), 1u);
  };
  aio::run(main());
}

TEST(AioRunCoroutineThreadsafe, ALoopThatNeverRunsItBreaksThePromise) {
  tandem::Future<int> fut;
  {
    aio::EventLoop loop;
    fut = aio::run_coroutine_threadsafe(value_after(1, 0ms), loop);
  }
  EXPECT_THROW(fut.result(), tandem::BrokenPromise);
}

TEST(AioAwaitFuture, CompletionAfterTheLoopIsGoneIsHarmless) {
  tandem::Promise<int> promise;
  auto fut = promise.get_future();
  promise.set_running_or_notify_cancel();  // running: the waiter's cancellation cannot cancel it
  aio::run([](tandem::Future<int> f) -> Task<void> {
    aio::create_task([](tandem::Future<int> f) -> Task<void> { (void)co_await f; }(f));
    co_await aio::sleep(0);  // main returns: run() cancels the waiter and closes the loop
  }(fut));
  std::thread late([p = std::move(promise)]() mutable { p.set_result(1); });  // posts to a closed loop
  late.join();
  EXPECT_EQ(fut.result(), 1);
}

}  // namespace
