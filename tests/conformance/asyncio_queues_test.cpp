// Ports of CPython's Lib/test/test_asyncio/test_queues.py (Python 3.12/3.13; the shutdown tests are
// left out: tandem's queues have no shutdown()). tandem's differences, stated where a test meets one:
// an item put while getters wait is handed straight to the first of them (qsize() no longer counts it,
// full() still does), a freed place is kept for the first waiting putter, and task_done() underflow is
// InvalidStateError (Python: ValueError).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "conformance/support.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;
using aio::conformance::done_within;
using aio::conformance::get_from;
using aio::conformance::put_into;
using aio::conformance::run_async_test;

namespace {

// QueueBasicTests.test_empty
TEST(AsyncioQueues, Empty) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    EXPECT_TRUE(q.empty());
    co_await q.put(1);
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_TRUE(q.empty());
  });
}

// QueueBasicTests.test_full
TEST(AsyncioQueues, Full) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> unbounded;
    EXPECT_FALSE(unbounded.full());
    aio::Queue<int> q(1);
    co_await q.put(1);
    EXPECT_TRUE(q.full());
  });
}

// QueueBasicTests.test_order, LifoQueueTests.test_order, PriorityQueueTests.test_order
TEST(AsyncioQueues, OrderOfEachKind) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> fifo;
    aio::LifoQueue<int> lifo;
    aio::PriorityQueue<int> priority;
    const std::vector<int> items{1, 3, 2};
    for (int i : items) {
      co_await fifo.put(i);
      co_await lifo.put(i);
      co_await priority.put(i);
    }
    std::vector<int> f, l, p;
    for (int i = 0; i < 3; ++i) {
      f.push_back(co_await fifo.get());
      l.push_back(co_await lifo.get());
      p.push_back(co_await priority.get());
    }
    EXPECT_EQ(f, (std::vector<int>{1, 3, 2}));
    EXPECT_EQ(l, (std::vector<int>{2, 3, 1}));
    EXPECT_EQ(p, (std::vector<int>{1, 2, 3}));
  });
}

// QueueBasicTests.test_maxsize
TEST(AsyncioQueues, Maxsize) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(2);
    EXPECT_EQ(q.maxsize(), 2u);
    std::vector<int> have_been_put;
    auto t = aio::create_task([](aio::Queue<int>& q, std::vector<int>& put) -> Task<bool> {
      for (int i = 0; i < 3; ++i) {
        co_await q.put(i);
        put.push_back(i);
      }
      co_return true;
    }(q, have_been_put));
    for (int i = 0; i < 2; ++i) co_await aio::sleep(0);
    EXPECT_EQ(have_been_put, (std::vector<int>{0, 1}));  // the putter is blocked after two items
    EXPECT_EQ(co_await q.get(), 0);
    co_await aio::sleep(0);  // let the putter resume and put the last item
    EXPECT_EQ(have_been_put, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_EQ(co_await q.get(), 2);
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.result());
  });
}

// QueueGetTests.test_blocking_get, test_nonblocking_get, test_nonblocking_get_exception
TEST(AsyncioQueues, GetWithAndWithoutWaiting) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    q.put_nowait(1);
    EXPECT_EQ(co_await q.get(), 1);
    q.put_nowait(2);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_THROW(q.get_nowait(), aio::QueueEmpty);
  });
}

// QueueGetTests.test_blocking_get_wait
TEST(AsyncioQueues, BlockingGetWait) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    aio::Event started;
    bool finished = false;
    auto getter = aio::create_task([](aio::Queue<int>& q, aio::Event& started, bool& finished) -> Task<int> {
      started.set();
      int res = co_await q.get();
      finished = true;
      co_return res;
    }(q, started, finished));
    co_await started.wait();
    EXPECT_FALSE(finished);
    aio::get_running_loop().call_later(10ms, [&q] { q.put_nowait(1); });
    int res = co_await getter;
    EXPECT_TRUE(finished);
    EXPECT_EQ(res, 1);
  });
}

// QueueGetTests.test_get_cancelled_race
TEST(AsyncioQueues, GetCancelledRace) {
  run_async_test([]() -> Task<void> {
    aio::Queue<std::string> q;
    auto t1 = aio::create_task(get_from(q));
    auto t2 = aio::create_task(get_from(q));
    co_await aio::sleep(0);
    t1.cancel();
    co_await aio::sleep(0);
    EXPECT_TRUE(t1.done());
    co_await q.put("a");
    co_await aio::sleep(0);
    EXPECT_EQ(co_await t2, "a");
  });
}

// QueueGetTests.test_get_with_waiting_putters
TEST(AsyncioQueues, GetWithWaitingPutters) {
  run_async_test([]() -> Task<void> {
    aio::Queue<std::string> q(1);
    auto a = aio::create_task(put_into(q, std::string("a")));
    auto b = aio::create_task(put_into(q, std::string("b")));
    EXPECT_EQ(co_await q.get(), "a");
    EXPECT_EQ(co_await q.get(), "b");
  });
}

// QueueGetTests.test_why_are_getters_waiting
TEST(AsyncioQueues, WhyAreGettersWaiting) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(1);
    co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
      tg.create_task([](aio::Queue<int>& q) -> Task<void> {  // producer
        for (int i = 0; i < 5; ++i) co_await q.put(i);
      }(q));
      tg.create_task([](aio::Queue<int>& q) -> Task<void> {  // consumer
        for (int i = 0; i < 5; ++i) (void)co_await q.get();
      }(q));
      co_return;
    });
    EXPECT_TRUE(q.empty());
  });
}

// QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters
TEST(AsyncioQueues, CancelledGettersAreNotHeld) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(5);
    EXPECT_THROW(co_await aio::wait_for(get_from(q), 100ms), tandem::TimeoutError);
    // asyncio checks len(queue._getters) == 0; here: an item put now is not handed to the dead getter.
    q.put_nowait(1);
    EXPECT_EQ(q.qsize(), 1u);
  });
}

// QueuePutTests.test_blocking_put, test_nonblocking_put, test_nonblocking_put_exception
TEST(AsyncioQueues, PutWithAndWithoutWaiting) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> unbounded;
    co_await unbounded.put(1);  // no maxsize: does not wait
    EXPECT_EQ(co_await unbounded.get(), 1);
    aio::Queue<int> q(1);
    q.put_nowait(1);
    EXPECT_THROW(q.put_nowait(2), aio::QueueFull);
  });
}

// QueuePutTests.test_blocking_put_wait
TEST(AsyncioQueues, BlockingPutWait) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(1);
    aio::Event started;
    bool finished = false;
    aio::get_running_loop().call_later(10ms, [&q] { (void)q.get_nowait(); });
    auto putter = aio::create_task([](aio::Queue<int>& q, aio::Event& started, bool& finished) -> Task<void> {
      started.set();
      co_await q.put(1);
      co_await q.put(2);
      finished = true;
    }(q, started, finished));
    co_await started.wait();
    EXPECT_FALSE(finished);
    co_await putter;
    EXPECT_TRUE(finished);
  });
}

// QueuePutTests.test_get_cancel_drop_one_pending_reader: the reader is handed item 1 and cancelled
// before it runs. asyncio throws CancelledError at its get() and item 1 stays first in the queue.
TEST(AsyncioQueues, GetCancelDropOnePendingReader) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    auto reader = aio::create_task(get_from(q));
    co_await aio::sleep(0);
    q.put_nowait(1);
    q.put_nowait(2);
    reader.cancel();
    bool cancelled = false;
    int result = 0;
    try {
      result = co_await reader;
    } catch (const tandem::CancelledError&) {
      cancelled = true;
    }
    if (cancelled) {  // try again
      reader = aio::create_task(get_from(q));
      result = co_await reader;
    }
    EXPECT_EQ(result, 1) << "2 means item 1 was dropped";
  });
}

// The same with a LifoQueue and a PriorityQueue (tandem's addition): the item goes back where
// asyncio's would have stayed — below the later ones, or in its place by priority.
TEST(AsyncioQueues, GetCancelDropOnePendingReaderLifoAndPriority) {
  run_async_test([]() -> Task<void> {
    aio::LifoQueue<int> lifo;
    aio::PriorityQueue<int> priority;
    auto r1 = aio::create_task(get_from(lifo));
    auto r2 = aio::create_task(get_from(priority));
    co_await aio::sleep(0);
    lifo.put_nowait(1);
    lifo.put_nowait(2);
    priority.put_nowait(5);
    priority.put_nowait(3);
    priority.put_nowait(4);
    r1.cancel();
    r2.cancel();
    EXPECT_THROW(co_await r1, tandem::CancelledError);
    EXPECT_THROW(co_await r2, tandem::CancelledError);
    EXPECT_EQ(lifo.get_nowait(), 2);
    EXPECT_EQ(lifo.get_nowait(), 1);
    EXPECT_EQ(priority.get_nowait(), 3);
    EXPECT_EQ(priority.get_nowait(), 4);
    EXPECT_EQ(priority.get_nowait(), 5);
  });
}

// QueuePutTests.test_get_cancel_drop_many_pending_readers
TEST(AsyncioQueues, GetCancelDropManyPendingReaders) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    aio::TaskHandle<int> reader2, reader3;
    bool all_served = false;
    co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
      auto reader1 = tg.create_task(get_from(q));
      reader2 = tg.create_task(get_from(q));
      reader3 = tg.create_task(get_from(q));
      co_await aio::sleep(0);
      q.put_nowait(1);
      q.put_nowait(2);
      reader1.cancel();
      EXPECT_THROW(co_await reader1, tandem::CancelledError);
      const bool served = co_await done_within(reader3);
      if (!served) {
        ADD_FAILURE() << "reader3 waits for an item that was put";
        reader2.cancel();
        reader3.cancel();
        co_return;
      }
      (void)co_await reader3;
      all_served = true;
    });
    if (!all_served) co_return;
    // It is undefined in which order concurrent readers receive results.
    EXPECT_EQ(reader2.result() + reader3.result(), 3);
    EXPECT_NE(reader2.result(), reader3.result());
  });
}

// QueuePutTests.test_put_cancel_drop: the writer is woken (a place freed) and cancelled before it
// runs; asyncio does not put its item, so putting it again leaves exactly one.
TEST(AsyncioQueues, PutCancelDrop) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(1);
    q.put_nowait(1);
    // putting a second item in the queue has to block (qsize=1)
    auto writer = aio::create_task(put_into(q, 2));
    co_await aio::sleep(0);
    EXPECT_EQ(q.get_nowait(), 1);
    writer.cancel();
    bool cancelled = false;
    try {
      co_await writer;
    } catch (const tandem::CancelledError&) {
      cancelled = true;
    }
    if (cancelled) {  // try again
      writer = aio::create_task(put_into(q, 2));
      const bool put = co_await done_within(writer);
      if (!put) {
        ADD_FAILURE() << "the second put waits: the cancelled put's item was put";
        writer.cancel();
        co_return;
      }
    }
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_EQ(q.qsize(), 0u);
  });
}

// QueuePutTests.test_put_cancelled
TEST(AsyncioQueues, PutCancelled) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    auto t = aio::create_task([](aio::Queue<int>& q) -> Task<bool> {
      co_await q.put(1);
      co_return true;
    }(q));
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.result());
  });
}

// QueuePutTests.test_put_cancelled_race
TEST(AsyncioQueues, PutCancelledRace) {
  run_async_test([]() -> Task<void> {
    aio::Queue<std::string> q(1);
    auto put_a = aio::create_task(put_into(q, std::string("a")));
    auto put_b = aio::create_task(put_into(q, std::string("b")));
    auto put_c = aio::create_task(put_into(q, std::string("X")));
    co_await aio::sleep(0);
    EXPECT_TRUE(put_a.done());
    EXPECT_FALSE(put_b.done());
    put_c.cancel();
    co_await aio::sleep(0);
    EXPECT_TRUE(put_c.done());
    EXPECT_EQ(q.get_nowait(), "a");
    co_await aio::sleep(0);
    EXPECT_EQ(q.get_nowait(), "b");
    co_await put_b;
  });
}

// QueuePutTests.test_put_with_waiting_getters
TEST(AsyncioQueues, PutWithWaitingGetters) {
  run_async_test([]() -> Task<void> {
    aio::Queue<std::string> q;
    auto t = aio::create_task(get_from(q));
    co_await aio::sleep(0);
    co_await q.put("a");
    EXPECT_EQ(co_await t, "a");
  });
}

// QueuePutTests.test_why_are_putters_waiting
TEST(AsyncioQueues, WhyArePuttersWaiting) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(2);
    co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
      tg.create_task([](aio::Queue<int>& q) -> Task<void> {  // getter
        co_await aio::sleep(0);
        const auto num = q.qsize();
        for (std::size_t i = 0; i < num; ++i) (void)q.get_nowait();
      }(q));
      for (int i = 0; i < 4; ++i) tg.create_task(put_into(q, i));
      co_return;
    });
    EXPECT_EQ(q.qsize(), 2u);
  });
}

// QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters
TEST(AsyncioQueues, CancelledPutsAreNotHeld) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(1);
    q.put_nowait(1);
    auto put_task = aio::create_task(put_into(q, 1));
    co_await aio::sleep(0);
    put_task.cancel();
    EXPECT_THROW(co_await put_task, tandem::CancelledError);
    // asyncio checks len(queue._putters) == 0; here: the place freed next is not kept for the dead putter.
    EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_FALSE(q.full());
    q.put_nowait(2);
    EXPECT_EQ(q.qsize(), 1u);
  });
}

// QueuePutTests.test_cancelled_put_silence_value_error_exception: get_nowait() wakes the putter, which
// is then cancelled before it runs. Plus (tandem): its item is not put, and its kept place is freed.
TEST(AsyncioQueues, CancelledPutAfterItWasWoken) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(1);
    q.put_nowait(1);
    auto put_task = aio::create_task(put_into(q, 2));
    co_await aio::sleep(0);
    EXPECT_EQ(q.get_nowait(), 1);
    put_task.cancel();
    EXPECT_THROW(co_await put_task, tandem::CancelledError);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
  });
}

// tandem's difference, and where it agrees: an item handed to a getter that has not run yet still
// takes its place (asyncio: it is still in the queue, so full() is true there too), but qsize()
// counts only what get_nowait() could take (asyncio's qsize() would be 1).
TEST(AsyncioQueues, ItemHandedToAWokenGetterStillTakesItsPlace) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q(1);
    auto reader = aio::create_task(get_from(q));
    co_await aio::sleep(0);
    q.put_nowait(1);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(2), aio::QueueFull);
    EXPECT_EQ(q.qsize(), 0u);
    EXPECT_EQ(co_await reader, 1);
    EXPECT_FALSE(q.full());
  });
}

// _QueueJoinTestMixin.test_task_done_underflow (Python raises ValueError)
TEST(AsyncioQueues, TaskDoneUnderflow) {
  aio::Queue<int> q;
  EXPECT_THROW(q.task_done(), tandem::InvalidStateError);
}

// _QueueJoinTestMixin.test_task_done, for each kind of queue
template <class Q>
Task<void> two_workers_and_join() {
  Q q;
  for (int i = 0; i < 100; ++i) q.put_nowait(i);
  int accumulator = 0;
  bool running = true;
  co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
    for (int w = 0; w < 2; ++w)
      tg.create_task([](Q& q, int& accumulator, bool& running) -> Task<void> {
        while (running) {
          accumulator += co_await q.get();
          q.task_done();
        }
      }(q, accumulator, running));
    co_await q.join();
    EXPECT_EQ(accumulator, 4950);
    running = false;  // close the workers
    for (int w = 0; w < 2; ++w) q.put_nowait(0);
  });
}
TEST(AsyncioQueues, TaskDoneAndJoin) {
  run_async_test(two_workers_and_join<aio::Queue<int>>);
  run_async_test(two_workers_and_join<aio::LifoQueue<int>>);
  run_async_test(two_workers_and_join<aio::PriorityQueue<int>>);
}

// _QueueJoinTestMixin.test_join_empty_queue
TEST(AsyncioQueues, JoinEmptyQueue) {
  run_async_test([]() -> Task<void> {
    aio::Queue<int> q;
    co_await q.join();
    co_await q.join();
  });
}

}  // namespace
