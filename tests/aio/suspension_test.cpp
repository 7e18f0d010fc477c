// Specification of detail/suspension.hpp, the one suspension and cancellation protocol every aio
// awaitable follows. Cancellation at every kind of suspension point: the parked task gets
// CancelledError (with the message given to cancel()), ends cancelled, and leaves no timer, waiter or
// task behind; and the awaitables built on the protocol stay small.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

Task<void> forever() { co_await aio::sleep(1h); }

// Runs `parked` as a task until it is suspended, cancels it (`cancels` times before it runs again),
// and checks the outcome and the residue.
Task<void> expect_cancelled_at(Task<void> parked, int steps = 3, int cancels = 1) {
  auto t = aio::create_task(std::move(parked), "parked");
  for (int i = 0; i < steps; ++i) co_await aio::sleep(0);
  EXPECT_FALSE(t.done()) << "the task did not park";
  for (int i = 0; i < cancels; ++i) EXPECT_TRUE(t.cancel("stop here"));
  EXPECT_EQ(t.cancelling(), cancels);
  try {
    co_await t;
    ADD_FAILURE() << "expected CancelledError";
  } catch (const tandem::CancelledError& e) {
    EXPECT_STREQ(e.what(), "stop here");
  }
  EXPECT_TRUE(t.cancelled());
}

// Runs a test body, then checks that nothing is left: no timer armed, no task but main pending.
template <class Body>
void in_loop(Body body) {
  aio::run([&]() -> Task<void> {
    co_await body();
    for (int i = 0; i < 3; ++i) co_await aio::sleep(0);  // let cancelled leftovers finish unwinding
    auto& loop = aio::get_running_loop();
    EXPECT_EQ(loop.timer_count(), 0u);
    EXPECT_EQ(loop.pending_task_count(), 1u);
  }());
}

TEST(AioCancelAt, Sleep) {
  in_loop([]() -> Task<void> { co_await expect_cancelled_at(forever()); });
}

TEST(AioCancelAt, SleepZero) {
  in_loop([]() -> Task<void> {
    co_await expect_cancelled_at([]() -> Task<void> {
      for (;;) co_await aio::sleep(0);
    }());
  });
}

TEST(AioCancelAt, EventWait) {
  in_loop([]() -> Task<void> {
    aio::Event ev;
    co_await expect_cancelled_at([](aio::Event& ev) -> Task<void> { co_await ev.wait(); }(ev));
    ev.set();
    co_await aio::sleep(0);
  });
}

TEST(AioCancelAt, LockAcquire) {
  in_loop([]() -> Task<void> {
    aio::Lock lock;
    co_await lock.acquire();
    co_await expect_cancelled_at([](aio::Lock& l) -> Task<void> { co_await l.acquire(); }(lock));
    lock.release();
    EXPECT_FALSE(lock.locked());  // not handed to the cancelled waiter
  });
}

TEST(AioCancelAt, SemaphoreAcquire) {
  in_loop([]() -> Task<void> {
    aio::Semaphore sem(0);
    co_await expect_cancelled_at([](aio::Semaphore& s) -> Task<void> { co_await s.acquire(); }(sem));
    sem.release();
    EXPECT_EQ(sem.value(), 1u);
  });
}

TEST(AioCancelAt, ConditionWait) {
  in_loop([]() -> Task<void> {
    aio::Condition cond;
    co_await expect_cancelled_at([](aio::Condition& c) -> Task<void> {
      auto guard = co_await c.scoped();
      co_await c.wait();
    }(cond));
    EXPECT_FALSE(cond.locked());
    auto g = co_await cond.scoped();
    cond.notify_all();  // no waiter left to notify
  });
}

TEST(AioCancelAt, BarrierWait) {
  in_loop([]() -> Task<void> {
    aio::Barrier barrier(2);
    co_await expect_cancelled_at([](aio::Barrier& b) -> Task<void> { co_await b.wait(); }(barrier));
    EXPECT_EQ(barrier.n_waiting(), 0u);
  });
}

TEST(AioCancelAt, QueueGetPutJoin) {
  in_loop([]() -> Task<void> {
    aio::Queue<int> q(1);
    co_await expect_cancelled_at([](aio::Queue<int>& q) -> Task<void> { (void)co_await q.get(); }(q));
    q.put_nowait(1);
    EXPECT_EQ(q.qsize(), 1u);  // not handed to the cancelled getter
    co_await expect_cancelled_at([](aio::Queue<int>& q) -> Task<void> { co_await q.put(2); }(q));
    EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_TRUE(q.empty());  // the cancelled put's item was dropped
    co_await expect_cancelled_at([](aio::Queue<int>& q) -> Task<void> { co_await q.join(); }(q));
  });
}

TEST(AioCancelAt, AwaitingATaskCancelsItToo) {
  in_loop([]() -> Task<void> {
    auto inner = aio::create_task(forever());
    co_await expect_cancelled_at([](aio::TaskHandle<void> t) -> Task<void> { co_await t; }(inner));
    EXPECT_TRUE(inner.cancelled());
  });
}

TEST(AioCancelAt, GatherCancelsItsChildren) {
  in_loop([]() -> Task<void> {
    auto a = aio::create_task(forever());
    co_await expect_cancelled_at([](aio::TaskHandle<void> a) -> Task<void> { co_await aio::gather(a, forever()); }(a));
    EXPECT_TRUE(a.cancelled());
  });
}

TEST(AioCancelAt, WaitAndAsCompletedLeaveTheTasksAlone) {
  in_loop([]() -> Task<void> {
    std::vector<aio::TaskHandle<void>> ts{aio::create_task(forever())};
    co_await expect_cancelled_at([](std::vector<aio::TaskHandle<void>> ts) -> Task<void> { co_await aio::wait(ts); }(ts));
    co_await expect_cancelled_at([](std::vector<aio::TaskHandle<void>> ts) -> Task<void> {
      auto it = aio::as_completed(ts, 1h);
      co_await it.next();
    }(ts));
    EXPECT_FALSE(ts[0].done());
    ts[0].cancel();
  });
}

TEST(AioCancelAt, ShieldLeavesTheInnerTaskRunning) {
  in_loop([]() -> Task<void> {
    auto inner = aio::create_task(forever());
    co_await expect_cancelled_at([](aio::TaskHandle<void> t) -> Task<void> { co_await aio::shield(t); }(inner));
    EXPECT_FALSE(inner.done());
    inner.cancel();
  });
}

// The one suspension rule (detail::Suspension): a second cancel() before the task ran again changes
// nothing at any kind of suspension point — the co_await throws once and nothing is left behind.
TEST(AioCancelAt, ASecondCancelBeforeTheTaskRanIsTheSameEverywhere) {
  in_loop([]() -> Task<void> {
    const int twice = 2;
    co_await expect_cancelled_at(forever(), 3, twice);
    aio::Event never;
    co_await expect_cancelled_at([](aio::Event& e) -> Task<void> { co_await e.wait(); }(never), 3, twice);
    auto inner = aio::create_task(forever());
    co_await expect_cancelled_at([](aio::TaskHandle<void> t) -> Task<void> { co_await aio::shield(t); }(inner), 3, twice);
    std::vector<aio::TaskHandle<void>> ts{inner};
    co_await expect_cancelled_at([](std::vector<aio::TaskHandle<void>> ts) -> Task<void> { co_await aio::wait(ts); }(ts), 3,
                                 twice);
    co_await expect_cancelled_at([](std::vector<aio::TaskHandle<void>> ts) -> Task<void> {
      auto it = aio::as_completed(ts);
      co_await it.next();
    }(ts), 3, twice);
    tandem::Promise<int> promise;
    co_await expect_cancelled_at([](tandem::Future<int> f) -> Task<void> { (void)co_await f; }(promise.get_future()), 3,
                                 twice);
    EXPECT_FALSE(inner.done());
    EXPECT_EQ(inner.cancelling(), 0);
    inner.cancel();
    // Awaiting a task passes each request on: the awaited task sees both.
    auto target = aio::create_task(forever());
    co_await expect_cancelled_at([](aio::TaskHandle<void> t) -> Task<void> { co_await t; }(target), 3, twice);
    EXPECT_TRUE(target.cancelled());
    EXPECT_EQ(target.cancelling(), 2);
  });
}

TEST(AioCancelAt, AwaitingACoreFuture) {
  in_loop([]() -> Task<void> {
    std::atomic<bool> started{false}, release{false};
    tandem::ThreadPoolExecutor pool(1);
    auto fut = pool.submit([&] {
      started = true;
      while (!release.load()) std::this_thread::yield();
      return 1;
    });
    while (!started.load()) co_await aio::sleep(0);  // running: the future can no longer be cancelled
    co_await expect_cancelled_at([](tandem::Future<int> f) -> Task<void> { (void)co_await f; }(fut));
    release = true;
    EXPECT_EQ(co_await fut, 1);  // the running work was not interrupted
  });
}

TEST(AioCancelAt, StreamRead) {
  in_loop([]() -> Task<void> {
    auto server = co_await aio::start_server(
        [](aio::StreamReader, aio::StreamWriter) -> Task<void> { co_await aio::sleep(1h); }, "127.0.0.1", 0);
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    co_await expect_cancelled_at([](aio::StreamReader r) -> Task<void> { (void)co_await r.read(10); }(conn.reader), 5);
    server.close();
    server.close_clients();
    co_await server.wait_closed();
  });
}

TEST(AioCancelAt, SubprocessWait) {
  in_loop([]() -> Task<void> {
    std::vector<std::string> args{"60"};
    auto p = co_await aio::create_subprocess_exec("sleep", std::move(args));
    co_await expect_cancelled_at([](aio::Process p) -> Task<void> { (void)co_await p.wait(); }(p));
    p.kill();
    EXPECT_EQ(co_await p.wait(), -9);
  });
}

TEST(AioCancelAt, TaskGroupJoinCancelsTheChildren) {
  in_loop([]() -> Task<void> {
    co_await expect_cancelled_at([]() -> Task<void> {
      co_await aio::task_group([](aio::TaskGroup& tg) -> Task<void> {
        tg.create_task(forever());
        tg.create_task(forever());
        co_return;
      });
    }());
  });
}

TEST(AioCancelAt, InsideATimeoutScopeStaysCancellation) {
  in_loop([]() -> Task<void> { co_await expect_cancelled_at([]() -> Task<void> { co_await aio::timeout(1h, forever()); }()); });
}

TEST(AioCancelAt, DeepInsideNestedCoroutines) {
  struct Chain {
    static Task<void> level(int n) {
      if (n == 0)
        co_await aio::sleep(1h);
      else
        co_await level(n - 1);
    }
  };
  in_loop([]() -> Task<void> { co_await expect_cancelled_at(Chain::level(50)); });
}

// Awaitables live in the coroutine frame of every task that waits on something: the one suspension
// protocol (detail::Suspension) must not make them bigger than the hand-written ones were.
TEST(AioLayout, AwaitablesInEveryFrameStaySmall) {
  static_assert(sizeof(void*) == 8, "sizes below are for 64-bit targets");
  EXPECT_LE(sizeof(aio::detail::SleepAwaiter), 48u);
  EXPECT_LE((sizeof(aio::detail::AwaitTask<int, false>)), 40u);
  EXPECT_LE(sizeof(aio::detail::FutureAwaiter<int>), 48u);
  EXPECT_LE(sizeof(aio::Event::Wait), 48u);
}

}  // namespace
