// Specification of Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier (asyncio.locks).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

std::size_t pending() { return aio::get_running_loop().pending_task_count(); }

TEST(AioEvent, SetWakesEveryWaiterAndLaterWaitsReturnAtOnce) {
  auto main = []() -> Task<int> {
    aio::Event ev;
    int woke = 0;
    std::vector<aio::TaskHandle<void>> ts;
    for (int i = 0; i < 3; ++i)
      ts.push_back(aio::create_task([](aio::Event& ev, int& woke) -> Task<void> {
        EXPECT_TRUE(co_await ev.wait());
        ++woke;
      }(ev, woke)));
    co_await aio::sleep(0);
    EXPECT_EQ(woke, 0);
    ev.set();
    co_await aio::gather(std::move(ts));
    EXPECT_TRUE(co_await ev.wait());
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    co_return woke;
  };
  EXPECT_EQ(aio::run(main()), 3);
}

TEST(AioEvent, CancelledWaitLeavesNoWaiter) {
  auto main = []() -> Task<void> {
    aio::Event ev;
    auto t = aio::create_task([](aio::Event& ev) -> Task<void> { co_await ev.wait(); }(ev));
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    ev.set();  // nobody left to wake (the waiter's frame is gone: ASan would see a use after free)
    co_await aio::sleep(0);
  };
  aio::run(main());
}

TEST(AioLock, SerializesCriticalSectionsInFifoOrder) {
  auto main = []() -> Task<std::string> {
    aio::Lock lock;
    std::string log;
    auto worker = [](aio::Lock& lock, std::string& log, char c) -> Task<void> {
      auto guard = co_await lock.scoped();
      log += c;
      co_await aio::sleep(0);
      log += c;
    };
    co_await aio::gather(worker(lock, log, 'a'), worker(lock, log, 'b'), worker(lock, log, 'c'));
    EXPECT_FALSE(lock.locked());
    co_return log;
  };
  EXPECT_EQ(aio::run(main()), "aabbcc");
}

TEST(AioLock, CancelledAcquireLeavesNoWaiterAndTheLockPassesOn) {
  auto main = []() -> Task<void> {
    aio::Lock lock;
    co_await lock.acquire();
    auto cancelled = aio::create_task([](aio::Lock& l) -> Task<void> {
      co_await l.acquire();
      l.release();
    }(lock));
    auto next = aio::create_task([](aio::Lock& l) -> Task<int> {
      auto g = co_await l.scoped();
      co_return 1;
    }(lock));
    co_await aio::sleep(0);
    cancelled.cancel();
    EXPECT_THROW(co_await cancelled, tandem::CancelledError);
    lock.release();
    EXPECT_EQ(co_await next, 1);
    EXPECT_FALSE(lock.locked());
    EXPECT_THROW(lock.release(), tandem::InvalidStateError);
  };
  aio::run(main());
}

TEST(AioSemaphore, LimitsConcurrency) {
  auto main = []() -> Task<int> {
    aio::Semaphore sem(2);
    int inside = 0, peak = 0;
    std::vector<Task<void>> ws;
    for (int i = 0; i < 6; ++i)
      ws.push_back([](aio::Semaphore& s, int& inside, int& peak) -> Task<void> {
        auto permit = co_await s.scoped();
        peak = std::max(peak, ++inside);
        co_await aio::sleep(1ms);
        --inside;
      }(sem, inside, peak));
    co_await aio::gather(std::move(ws));
    EXPECT_EQ(sem.value(), 2u);
    co_return peak;
  };
  EXPECT_EQ(aio::run(main()), 2);
}

TEST(AioSemaphore, CancelledAcquireDoesNotLeakAPermit) {
  auto main = []() -> Task<void> {
    aio::Semaphore sem(1);
    co_await sem.acquire();
    auto t = aio::create_task([](aio::Semaphore& s) -> Task<void> { co_await s.acquire(); }(sem));
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    sem.release();
    EXPECT_EQ(sem.value(), 1u);
  };
  aio::run(main());
}

TEST(AioBoundedSemaphore, RefusesTooManyReleases) {
  auto main = []() -> Task<void> {
    aio::BoundedSemaphore sem(1);
    co_await sem.acquire();
    sem.release();
    EXPECT_THROW(sem.release(), tandem::InvalidStateError);
  };
  aio::run(main());
}

TEST(AioCondition, NotifyWakesWaitersWhichHoldTheLockAgain) {
  auto main = []() -> Task<std::vector<int>> {
    aio::Condition cond;
    std::vector<int> items, consumed;
    auto consumer = [](aio::Condition& c, std::vector<int>& items, std::vector<int>& out) -> Task<void> {
      auto g = co_await c.scoped();
      co_await c.wait_for([&] { return !items.empty(); });
      EXPECT_TRUE(c.locked());
      out.push_back(items.back());
      items.pop_back();
    };
    auto a = aio::create_task(consumer(cond, items, consumed));
    auto b = aio::create_task(consumer(cond, items, consumed));
    co_await aio::sleep(0);
    {
      auto g = co_await cond.scoped();
      items = {1, 2};
      cond.notify_all();
    }
    co_await a;
    co_await b;
    EXPECT_THROW(cond.notify(), tandem::InvalidStateError);  // not holding the lock
    co_return consumed;
  };
  EXPECT_EQ(aio::run(main()), (std::vector<int>{2, 1}));
}

TEST(AioCondition, CancelledWaitStillReacquiresTheLock) {
  auto main = []() -> Task<void> {
    aio::Condition cond;
    bool held_after_cancel = false;
    auto t = aio::create_task([](aio::Condition& c, bool& held) -> Task<void> {
      co_await c.acquire();
      try {
        co_await c.wait();
      } catch (const tandem::CancelledError&) {
        held = c.locked();
        c.release();
        throw;
      }
    }(cond, held_after_cancel));
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(held_after_cancel);
    EXPECT_FALSE(cond.locked());
  };
  aio::run(main());
}

TEST(AioBarrier, ReleasesAllPartiesWithDistinctIndices) {
  auto main = []() -> Task<std::size_t> {
    aio::Barrier barrier(3);
    std::vector<Task<std::size_t>> ws;
    for (int i = 0; i < 3; ++i)
      ws.push_back([](aio::Barrier& b) -> Task<std::size_t> { co_return co_await b.wait(); }(barrier));
    auto idx = co_await aio::gather(std::move(ws));
    std::sort(idx.begin(), idx.end());
    EXPECT_EQ(idx, (std::vector<std::size_t>{0, 1, 2}));
    co_return barrier.n_waiting();
  };
  EXPECT_EQ(aio::run(main()), 0u);
}

TEST(AioBarrier, AbortBreaksWaitersAndCancelledWaitersLeave) {
  auto main = []() -> Task<void> {
    aio::Barrier barrier(3);
    auto w1 = aio::create_task([](aio::Barrier& b) -> Task<std::size_t> { co_return co_await b.wait(); }(barrier));
    auto w2 = aio::create_task([](aio::Barrier& b) -> Task<std::size_t> { co_return co_await b.wait(); }(barrier));
    co_await aio::sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 2u);
    w2.cancel();
    EXPECT_THROW(co_await w2, tandem::CancelledError);
    EXPECT_EQ(barrier.n_waiting(), 1u);
    barrier.abort();
    EXPECT_THROW(co_await w1, aio::BrokenBarrierError);
    EXPECT_THROW(co_await barrier.wait(), aio::BrokenBarrierError);
    barrier.reset();
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(pending(), 1u);
  };
  aio::run(main());
}

}  // namespace
