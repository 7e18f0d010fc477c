// Ports of CPython's Lib/test/test_asyncio/test_locks.py (Python 3.12; the Condition wake-up tests
// are 3.13's). Left out: repr, loop-binding and `await lock` type-error tests (no C++ counterpart) and
// Barrier (tests/aio/locks_test.cpp covers it). tandem's differences, stated where a test meets one:
// misuse raises InvalidStateError (Python: RuntimeError / ValueError), Condition::wait() returns void
// and wait_for() returns bool (Python: True / the predicate's value), and asyncio's `_waiters` lists
// have no counterpart — tests that inspect them check the behaviour that follows instead.
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include "conformance/support.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;
using aio::conformance::acquire_of;
using aio::conformance::done_within;
using aio::conformance::run_async_test;

namespace {

// Appends `tag` to `result` once it holds `p` (the c1/c2/c3 coroutines of the CPython tests).
template <class Primitive>
Task<bool> record_acquire(Primitive& p, std::vector<int>& result, int tag) {
  co_await p.acquire();
  result.push_back(tag);
  co_return true;
}

// ---- Lock ----------------------------------------------------------------------------------------

// LockTests.test_acquire
TEST(AsyncioLock, Acquire) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    std::vector<int> result;
    EXPECT_TRUE(co_await lock.acquire());
    auto t1 = aio::create_task(record_acquire(lock, result, 1));
    auto t2 = aio::create_task(record_acquire(lock, result, 2));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    lock.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    auto t3 = aio::create_task(record_acquire(lock, result, 3));
    lock.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    lock.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    for (auto* t : {&t1, &t2, &t3}) {
      EXPECT_TRUE(t->done());
      EXPECT_TRUE(t->result());
    }
  });
}

// LockTests.test_acquire_cancel (asyncio checks that lock._waiters is empty: here, a release finds
// nobody to wake)
TEST(AsyncioLock, AcquireCancel) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    EXPECT_TRUE(co_await lock.acquire());
    auto task = aio::create_task(acquire_of(lock));
    aio::get_running_loop().call_soon([task]() mutable { task.cancel(); });
    EXPECT_THROW(co_await task, tandem::CancelledError);
    lock.release();
    co_await aio::sleep(0);
    EXPECT_FALSE(lock.locked());
  });
}

// A → acquires, then waits on `blocker` (if any) and releases (LockTests' lockit()).
Task<void> lockit(aio::Lock& lock, aio::Event* blocker) {
  auto guard = co_await lock.scoped();
  if (blocker) co_await blocker->wait();
}

// LockTests.test_cancel_race: A holds the lock, B and C wait; B is cancelled as A releases. The lock
// passes to C, which takes it when it runs: until then locked() is false, as in asyncio (issue 9:
// tandem's lock used to stay locked, handed over at release).
TEST(AsyncioLock, CancelRace) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    aio::Event fa;
    auto ta = aio::create_task(lockit(lock, &fa));
    co_await aio::sleep(0);
    EXPECT_TRUE(lock.locked());
    auto tb = aio::create_task(lockit(lock, nullptr));
    co_await aio::sleep(0);
    auto tc = aio::create_task(lockit(lock, nullptr));
    co_await aio::sleep(0);
    // Create the race and check.
    fa.set();
    tb.cancel();
    co_await aio::sleep(0);
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(ta.done());
    EXPECT_TRUE(tb.cancelled());
    co_await tc;
  });
}

// LockTests.test_cancel_release_race (Python issue 32734): acquire 4 locks, cancel second, release
// first — and only one lock is taken.
TEST(AsyncioLock, CancelReleaseRace) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    int lock_count = 0, call_count = 0;
    auto lockit = [](aio::Lock& lock, int& lock_count, int& call_count) -> Task<void> {
      ++call_count;
      co_await lock.acquire();
      ++lock_count;
    };
    co_await lock.acquire();
    auto t1 = aio::create_task(lockit(lock, lock_count, call_count));
    auto t2 = aio::create_task(lockit(lock, lock_count, call_count));
    auto t3 = aio::create_task(lockit(lock, lock_count, call_count));
    co_await aio::sleep(0);  // start the scheduled tasks
    aio::get_running_loop().call_soon([&] {
      t1.cancel();
      lock.release();
    });
    EXPECT_THROW(co_await t1, tandem::CancelledError);
    EXPECT_EQ(lock_count, 1);  // only one lock was taken
    EXPECT_EQ(call_count, 3);  // while 3 calls were made to lockit()
    EXPECT_TRUE(t1.cancelled() && t2.done());
    t3.cancel();  // clean up the task stuck on acquire
    co_await aio::sleep(0);
    EXPECT_TRUE(t3.cancelled());
  });
}

// LockTests.test_finished_waiter_cancelled
TEST(AsyncioLock, FinishedWaiterCancelled) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());
    auto tb = aio::create_task(acquire_of(lock));
    co_await aio::sleep(0);
    // Create a second waiter, wake up the first, and cancel it.
    auto tc = aio::create_task(acquire_of(lock));
    tb.cancel();
    lock.release();
    co_await aio::sleep(0);
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(tb.cancelled());
    co_await tc;
  });
}

// The other order of LockTests.test_finished_waiter_cancelled — release first (B is woken), then
// cancel B before it ran: B's acquire throws CancelledError, its block is not entered, and the lock
// goes to C (issue 9: B used to enter its block and only throw at its next co_await).
TEST(AsyncioLock, WaiterCancelledAfterItWasWokenDoesNotEnterItsBlock) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    co_await lock.acquire();
    auto block = [](aio::Lock& lock, int& entered) -> Task<void> {
      auto guard = co_await lock.scoped();
      ++entered;
      co_await aio::sleep(0);
    };
    int entered_b = 0, entered_c = 0;
    auto tb = aio::create_task(block(lock, entered_b));
    auto tc = aio::create_task(block(lock, entered_c));
    co_await aio::sleep(0);
    lock.release();  // wakes B
    tb.cancel();     // before B ran
    EXPECT_THROW(co_await tb, tandem::CancelledError);
    EXPECT_EQ(entered_b, 0);
    CO_ASSERT_TRUE(co_await done_within(tc));
    EXPECT_EQ(entered_c, 1);
    EXPECT_FALSE(lock.locked());
  });
}

// LockTests.test_release_not_acquired, test_release_no_waiters, test_context_manager
TEST(AsyncioLock, ReleaseAndContextManager) {
  run_async_test([]() -> Task<void> {
    aio::Lock lock;
    EXPECT_THROW(lock.release(), tandem::InvalidStateError);
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());
    lock.release();
    EXPECT_FALSE(lock.locked());
    {
      auto guard = co_await lock.scoped();
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
  });
}

// ---- Event ---------------------------------------------------------------------------------------

Task<void> record_wait(aio::Event& ev, std::vector<int>& result, int tag) {
  const bool set = co_await ev.wait();  // not inside the if: GCC 12 miscompiles that
  if (set) result.push_back(tag);
}

// EventTests.test_wait
TEST(AsyncioEvent, Wait) {
  run_async_test([]() -> Task<void> {
    aio::Event ev;
    EXPECT_FALSE(ev.is_set());
    std::vector<int> result;
    auto t1 = aio::create_task(record_wait(ev, result, 1));
    auto t2 = aio::create_task(record_wait(ev, result, 2));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    auto t3 = aio::create_task(record_wait(ev, result, 3));
    ev.set();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{3, 1, 2}));
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
  });
}

// EventTests.test_wait_on_set, test_clear
TEST(AsyncioEvent, WaitOnSetAndClear) {
  run_async_test([]() -> Task<void> {
    aio::Event ev;
    ev.set();
    EXPECT_TRUE(co_await ev.wait());
    EXPECT_TRUE(ev.is_set());
    ev.clear();
    EXPECT_FALSE(ev.is_set());
  });
}

// EventTests.test_wait_cancel (asyncio checks ev._waiters: here, a set() wakes nobody)
TEST(AsyncioEvent, WaitCancel) {
  run_async_test([]() -> Task<void> {
    aio::Event ev;
    auto wait = aio::create_task([](aio::Event& ev) -> Task<bool> { co_return co_await ev.wait(); }(ev));
    aio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, tandem::CancelledError);
    ev.set();
    co_await aio::sleep(0);
  });
}

// EventTests.test_clear_with_waiters
TEST(AsyncioEvent, ClearWithWaiters) {
  run_async_test([]() -> Task<void> {
    aio::Event ev;
    std::vector<int> result;
    auto t = aio::create_task(record_wait(ev, result, 1));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    ev.set();
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    ev.set();
    ev.set();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    EXPECT_TRUE(t.done());
  });
}

// An Event waiter woken by set() and cancelled before it ran throws CancelledError (asyncio's rule;
// issue 9: it used to return).
TEST(AsyncioEvent, WaiterCancelledAfterSetThrows) {
  run_async_test([]() -> Task<void> {
    aio::Event ev;
    std::vector<int> result;
    auto t = aio::create_task(record_wait(ev, result, 1));
    co_await aio::sleep(0);
    ev.set();
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_EQ(result, std::vector<int>{});
  });
}

// ---- Condition -----------------------------------------------------------------------------------

// c1/c2/c3 of ConditionTests.test_wait: acquire, wait, record (and keep the lock, as there).
Task<bool> record_condition_wait(aio::Condition& cond, std::vector<int>& result, int tag) {
  co_await cond.acquire();
  co_await cond.wait();
  result.push_back(tag);
  co_return true;
}

// ConditionTests.test_wait
TEST(AsyncioCondition, Wait) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    std::vector<int> result;
    auto t1 = aio::create_task(record_condition_wait(cond, result, 1));
    auto t2 = aio::create_task(record_condition_wait(cond, result, 2));
    auto t3 = aio::create_task(record_condition_wait(cond, result, 3));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    EXPECT_FALSE(cond.locked());

    EXPECT_TRUE(co_await cond.acquire());
    cond.notify();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    EXPECT_TRUE(cond.locked());

    cond.notify(2);
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(cond.locked());
    for (auto* t : {&t1, &t2, &t3}) EXPECT_TRUE(t->done() && t->result());
  });
}

// ConditionTests.test_wait_cancel
TEST(AsyncioCondition, WaitCancel) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    co_await cond.acquire();
    auto wait = aio::create_task(cond.wait());
    aio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, tandem::CancelledError);
    EXPECT_TRUE(cond.locked());
  });
}

// ConditionTests.test_wait_cancel_contested
TEST(AsyncioCondition, WaitCancelContested) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    co_await cond.acquire();
    EXPECT_TRUE(cond.locked());
    auto wait_task = aio::create_task(cond.wait());
    co_await aio::sleep(0);
    EXPECT_FALSE(cond.locked());
    // Notify, but contest the lock before cancelling
    co_await cond.acquire();
    EXPECT_TRUE(cond.locked());
    cond.notify();
    auto& loop = aio::get_running_loop();
    loop.call_soon([wait_task]() mutable { wait_task.cancel(); });
    loop.call_soon([&cond] { cond.release(); });
    try {
      co_await wait_task;
    } catch (const tandem::CancelledError&) {
    }
    EXPECT_TRUE(cond.locked());
  });
}

// ConditionTests.test_wait_cancel_after_notify (bpo-32841)
TEST(AsyncioCondition, WaitCancelAfterNotify) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    bool waited = false;
    auto waiter = aio::create_task([](aio::Condition& cond, bool& waited) -> Task<void> {
      auto guard = co_await cond.scoped();
      waited = true;  // make sure this area was reached
      co_await cond.wait();
    }(cond, waited));
    co_await aio::sleep(0);  // start waiting
    co_await cond.acquire();
    cond.notify();
    co_await aio::sleep(0);  // get to acquire()
    waiter.cancel();
    co_await aio::sleep(0);  // activate cancellation
    cond.release();
    co_await aio::sleep(0);  // cancellation should occur
    EXPECT_TRUE(waiter.cancelled());
    EXPECT_TRUE(waited);
  });
}

// ConditionTests.test_wait_unacquired, test_notify_unacquired, test_notify_all_unacquired
TEST(AsyncioCondition, Unacquired) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    EXPECT_THROW(co_await cond.wait(), tandem::InvalidStateError);
    EXPECT_THROW(cond.notify(), tandem::InvalidStateError);
    EXPECT_THROW(cond.notify_all(), tandem::InvalidStateError);
  });
}

// ConditionTests.test_wait_for
TEST(AsyncioCondition, WaitFor) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    bool presult = false;
    std::vector<int> result;
    auto t = aio::create_task([](aio::Condition& cond, bool& presult, std::vector<int>& result) -> Task<bool> {
      co_await cond.acquire();
      const bool holds = co_await cond.wait_for([&presult] { return presult; });
      if (holds) {
        result.push_back(1);
        cond.release();
      }
      co_return true;
    }(cond, presult, result));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    presult = true;
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    EXPECT_TRUE(t.done() && t.result());
  });
}

// ConditionTests.test_wait_for_unacquired: a true predicate returns at once, lock or no lock
TEST(AsyncioCondition, WaitForUnacquired) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    EXPECT_TRUE(co_await cond.wait_for([] { return true; }));
    EXPECT_THROW(co_await cond.wait_for([] { return false; }), tandem::InvalidStateError);
  });
}

// c1/c2/c3 of ConditionTests.test_notify: acquire, wait, record, release.
Task<bool> record_notified(aio::Condition& cond, std::vector<int>& result, int tag) {
  co_await cond.acquire();
  co_await cond.wait();
  result.push_back(tag);
  cond.release();
  co_return true;
}

// ConditionTests.test_notify
TEST(AsyncioCondition, Notify) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    std::vector<int> result;
    auto t1 = aio::create_task(record_notified(cond, result, 1));
    auto t2 = aio::create_task(record_notified(cond, result, 2));
    auto t3 = aio::create_task(record_notified(cond, result, 3));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    co_await cond.acquire();
    cond.notify(1);
    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    co_await cond.acquire();
    cond.notify(1);
    cond.notify(2048);
    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    for (auto* t : {&t1, &t2, &t3}) EXPECT_TRUE(t->done() && t->result());
  });
}

// ConditionTests.test_notify_all
TEST(AsyncioCondition, NotifyAll) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    std::vector<int> result;
    auto t1 = aio::create_task(record_notified(cond, result, 1));
    auto t2 = aio::create_task(record_notified(cond, result, 2));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{});
    co_await cond.acquire();
    cond.notify_all();
    cond.release();
    co_await aio::sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    EXPECT_TRUE(t1.done() && t2.done());
  });
}

// ConditionTests.test_context_manager, test_explicit_lock
TEST(AsyncioCondition, ContextManagerAndExplicitLock) {
  run_async_test([]() -> Task<void> {
    auto check = [](aio::Lock& lock, aio::Condition& cond) -> Task<void> {
      EXPECT_EQ(&cond.lock(), &lock);
      EXPECT_FALSE(lock.locked());
      EXPECT_FALSE(cond.locked());
      {
        auto guard = co_await cond.scoped();
        EXPECT_TRUE(lock.locked());
        EXPECT_TRUE(cond.locked());
      }
      EXPECT_FALSE(lock.locked());
      EXPECT_FALSE(cond.locked());
      {
        auto guard = co_await lock.scoped();
        EXPECT_TRUE(lock.locked());
        EXPECT_TRUE(cond.locked());
      }
      EXPECT_FALSE(lock.locked());
      EXPECT_FALSE(cond.locked());
    };
    aio::Condition own;
    co_await check(own.lock(), own);
    aio::Lock lock;
    aio::Condition shared(lock);
    co_await check(lock, shared);
  });
}

// ConditionTests.test_timeout_in_block (0.05 s instead of 0.5)
TEST(AsyncioCondition, TimeoutInBlock) {
  run_async_test([]() -> Task<void> {
    aio::Condition condition;
    auto guard = co_await condition.scoped();
    EXPECT_THROW(co_await aio::wait_for(condition.wait(), 50ms), tandem::TimeoutError);
    EXPECT_TRUE(condition.locked());  // held again, as the guard expects
  });
}

// ConditionTests.test_cancelled_error_re_aquire: cancelled while re-acquiring the lock, the waiter
// still holds it when the CancelledError (with the cancel message) comes out of wait_for().
TEST(AsyncioCondition, CancelledErrorReAcquire) {
  run_async_test([]() -> Task<void> {
    aio::Condition cond;
    bool wake = false;
    auto task = aio::create_task([](aio::Condition& cond, bool& wake) -> Task<void> {
      auto guard = co_await cond.scoped();
      std::exception_ptr raised;
      try {
        co_await cond.wait_for([&wake] { return wake; });
      } catch (const tandem::CancelledError&) {
        raised = std::current_exception();
      }
      EXPECT_TRUE(raised);
      EXPECT_TRUE(cond.locked());
      if (raised) std::rethrow_exception(raised);  // the same exception, unmodified
    }(cond, wake));
    co_await aio::sleep(0);  // the task is waiting on the condition
    co_await cond.acquire();
    wake = true;
    cond.notify();
    co_await aio::sleep(0);  // the task is now trying to re-acquire the lock: cancel it there
    task.cancel("foo");
    cond.release();
    try {
      co_await task;
      ADD_FAILURE() << "expected CancelledError";
    } catch (const tandem::CancelledError& e) {
      EXPECT_STREQ(e.what(), "foo");
    }
  });
}

// The consumer of ConditionTests.test_cancelled_wakeup and test_cancelled_wakeup_relock.
Task<void> consume(aio::Condition& condition, int& state) {
  auto guard = co_await condition.scoped();
  for (;;) {
    co_await condition.wait_for([&state] { return state != 0; });
    if (state < 0) co_return;
    state -= 1;
  }
}

// Produces one item and wakes one consumer; `cancel_first` cancels it before it ran (`settle`
// false) or while it re-acquires the lock (`settle` true). The other consumer must consume it.
Task<void> wakeup_not_lost(bool settle) {
  aio::Condition condition;
  int state = 0;
  auto c0 = aio::create_task(consume(condition, state));
  auto c1 = aio::create_task(consume(condition, state));
  co_await aio::sleep(0);  // wait for them to settle
  {
    auto guard = co_await condition.scoped();
    state += 1;  // produce one item and wake up one
    condition.notify(1);
    if (settle) co_await aio::sleep(0);  // the woken task now waits to re-acquire the lock
    c0.cancel();
    // Now wait for the item to be consumed; if it is not, the notify was lost to the cancel().
    try {
      co_await aio::timeout(10ms, condition.wait_for([&state] { return state == 0; }));
    } catch (const tandem::TimeoutError&) {
    }
    EXPECT_EQ(state, 0);
    state = -1;  // clean up
    condition.notify_all();
  }
  co_await c1;
  EXPECT_TRUE(c0.cancelled());
}

// ConditionTests.test_cancelled_wakeup (Python 3.13): cancelled after notify() woke it, before it ran
// — its notification goes to the other consumer (issue 9: it was lost).
TEST(AsyncioCondition, CancelledWakeup) {
  run_async_test([]() -> Task<void> { co_await wakeup_not_lost(false); });
}

// ConditionTests.test_cancelled_wakeup_relock (Python 3.13): cancelled while re-acquiring the lock
TEST(AsyncioCondition, CancelledWakeupRelock) {
  run_async_test([]() -> Task<void> { co_await wakeup_not_lost(true); });
}

// ---- Semaphore -----------------------------------------------------------------------------------

// SemaphoreTests.test_initial_value_zero, test_release_no_waiters, test_release_not_acquired
TEST(AsyncioSemaphore, InitialValueAndRelease) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore zero(0);
    EXPECT_TRUE(zero.locked());
    aio::Semaphore sem;
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());
    sem.release();
    EXPECT_FALSE(sem.locked());
    aio::BoundedSemaphore bounded;
    EXPECT_THROW(bounded.release(), tandem::InvalidStateError);  // Python: ValueError
  });
}

// SemaphoreTests.test_acquire
TEST(AsyncioSemaphore, Acquire) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(3);
    std::vector<int> result;
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_FALSE(sem.locked());
    auto t1 = aio::create_task(record_acquire(sem, result, 1));
    auto t2 = aio::create_task(record_acquire(sem, result, 2));
    auto t3 = aio::create_task(record_acquire(sem, result, 3));
    co_await aio::sleep(0);
    EXPECT_EQ(result, std::vector<int>{1});
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.value(), 0u);
    auto t4 = aio::create_task(record_acquire(sem, result, 4));
    sem.release();
    sem.release();
    EXPECT_EQ(sem.value(), 0u);
    co_await aio::sleep(0);
    EXPECT_EQ(sem.value(), 0u);
    EXPECT_EQ(result.size(), 3u);
    EXPECT_TRUE(sem.locked());
    EXPECT_TRUE(t1.done() && t1.result());
    int done = 0;
    for (auto* t : {&t2, &t3, &t4}) done += t->done() ? 1 : 0;
    EXPECT_EQ(done, 2);
    sem.release();  // clean up the locked semaphore
    std::vector<aio::TaskHandle<bool>> race{t2, t3, t4};
    co_await aio::gather(std::move(race));
  });
}

// SemaphoreTests.test_acquire_cancel
TEST(AsyncioSemaphore, AcquireCancel) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem;
    co_await sem.acquire();
    auto acquire = aio::create_task(acquire_of(sem));
    aio::get_running_loop().call_soon([acquire]() mutable { acquire.cancel(); });
    EXPECT_THROW(co_await acquire, tandem::CancelledError);
    sem.release();
    EXPECT_EQ(sem.value(), 1u);  // nobody took the permit
  });
}

// SemaphoreTests.test_acquire_cancel_before_awoken
TEST(AsyncioSemaphore, AcquireCancelBeforeAwoken) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(0);
    auto t1 = aio::create_task(acquire_of(sem));
    auto t2 = aio::create_task(acquire_of(sem));
    auto t3 = aio::create_task(acquire_of(sem));
    auto t4 = aio::create_task(acquire_of(sem));
    co_await aio::sleep(0);
    t1.cancel();
    t2.cancel();
    sem.release();
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    EXPECT_TRUE(t3.done());
    EXPECT_FALSE(t4.done());
    t3.cancel();
    t4.cancel();
    co_await aio::sleep(0);
  });
}

// SemaphoreTests.test_acquire_hang
TEST(AsyncioSemaphore, AcquireHang) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(0);
    auto t1 = aio::create_task(acquire_of(sem));
    auto t2 = aio::create_task(acquire_of(sem));
    co_await aio::sleep(0);
    t1.cancel();
    sem.release();
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    EXPECT_TRUE(sem.locked());
    EXPECT_TRUE(t2.done());
  });
}

// SemaphoreTests.test_acquire_no_hang: t2 is handed the permit and cancelled before it runs. asyncio
// never enters its `async with` block, and the permit is free again (issue 9: tandem entered it).
TEST(AsyncioSemaphore, AcquireNoHang) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(1);
    aio::TaskHandle<void> t2;
    auto t1 = aio::create_task([](aio::Semaphore& sem, aio::TaskHandle<void>& t2) -> Task<void> {
      {
        auto guard = co_await sem.scoped();
        co_await aio::sleep(0);
      }
      t2.cancel();
    }(sem, t2));
    t2 = aio::create_task([](aio::Semaphore& sem) -> Task<void> {
      auto guard = co_await sem.scoped();
      ADD_FAILURE() << "the block of a cancelled acquire was entered";
    }(sem));
    auto [r1, r2] = co_await aio::gather(aio::return_exceptions, t1, t2);
    EXPECT_TRUE(r1.has_value());
    EXPECT_FALSE(r2.has_value());
    EXPECT_THROW(r2.value(), tandem::CancelledError);
    EXPECT_TRUE(co_await aio::wait_for(acquire_of(sem), 1s));
  });
}

// SemaphoreTests.test_acquire_fifo_order
TEST(AsyncioSemaphore, AcquireFifoOrder) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(1);
    std::vector<std::string> result;
    auto coro = [](aio::Semaphore& sem, std::vector<std::string>& result, std::string tag) -> Task<void> {
      co_await sem.acquire();
      result.push_back(tag + "_1");
      co_await aio::sleep(10ms);
      sem.release();
      co_await sem.acquire();
      result.push_back(tag + "_2");
      co_await aio::sleep(10ms);
      sem.release();
    };
    co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
      tg.create_task(coro(sem, result, "c1"));
      tg.create_task(coro(sem, result, "c2"));
      tg.create_task(coro(sem, result, "c3"));
      co_return;
    });
    EXPECT_EQ(result, (std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
  });
}

// SemaphoreTests.test_acquire_fifo_order_2: c2 releases and acquires again while c3 was woken but
// has not run: c2 waits behind it (asyncio 3.12's FIFO rule).
TEST(AsyncioSemaphore, AcquireFifoOrder2) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(1);
    std::vector<int> result;
    auto t1 = aio::create_task(record_acquire(sem, result, 1));
    auto t2 = aio::create_task([](aio::Semaphore& sem, std::vector<int>& result) -> Task<bool> {
      co_await sem.acquire();
      result.push_back(2);
      sem.release();
      co_await sem.acquire();
      result.push_back(4);
      co_return true;
    }(sem, result));
    auto t3 = aio::create_task(record_acquire(sem, result, 3));
    co_await aio::sleep(0);
    sem.release();
    sem.release();
    co_await aio::gather(t1, t2, t3);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
  });
}

// SemaphoreTests.test_acquire_fifo_order_3
TEST(AsyncioSemaphore, AcquireFifoOrder3) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(0);
    std::vector<int> result;
    auto t1 = aio::create_task(record_acquire(sem, result, 1));
    auto t2 = aio::create_task(record_acquire(sem, result, 2));
    auto t3 = aio::create_task(record_acquire(sem, result, 3));
    co_await aio::sleep(0);
    t1.cancel();
    co_await aio::sleep(0);
    sem.release();
    sem.release();
    co_await aio::gather(aio::return_exceptions, t1, t2, t3);
    EXPECT_EQ(result, (std::vector<int>{2, 3}));
  });
}

// SemaphoreTests.test_acquire_fifo_order_4: a successful acquire() wakes the tasks that waited
// behind it although permits were free (asyncio 3.12's FIFO rule).
TEST(AsyncioSemaphore, AcquireFifoOrder4) {
  run_async_test([]() -> Task<void> {
    aio::Semaphore sem(0);
    std::vector<int> result;
    aio::TaskHandle<bool> t4;
    auto t1 = aio::create_task([](aio::Semaphore& sem, std::vector<int>& result, aio::TaskHandle<bool>& t4) -> Task<bool> {
      // First task immediately waits for the semaphore. It will be woken by c2.
      EXPECT_EQ(sem.value(), 0u);
      co_await sem.acquire();
      // We should have woken up all waiting tasks now.
      EXPECT_EQ(sem.value(), 0u);
      // Create a fourth task. It should run after c3, not c2.
      t4 = aio::create_task([](std::vector<int>& result) -> Task<bool> {
        result.push_back(4);
        co_return true;
      }(result));
      result.push_back(1);
      co_return true;
    }(sem, result, t4));
    auto t2 = aio::create_task([](aio::Semaphore& sem, std::vector<int>& result) -> Task<bool> {
      // The second task begins by releasing the semaphore three times, for c1, c2, and c3.
      sem.release();
      sem.release();
      sem.release();
      EXPECT_EQ(sem.value(), 2u);
      EXPECT_TRUE(sem.locked());  // because c1 has not woken up yet
      co_await sem.acquire();
      result.push_back(2);
      co_return true;
    }(sem, result));
    auto t3 = aio::create_task([](aio::Semaphore& sem, std::vector<int>& result) -> Task<bool> {
      co_await sem.acquire();
      EXPECT_TRUE(sem.locked());
      result.push_back(3);
      co_return true;
    }(sem, result));
    co_await aio::sleep(0);
    // Three tasks are in the queue, the first has not woken up yet.
    EXPECT_EQ(sem.value(), 2u);
    co_await aio::sleep(0);
    co_await aio::gather(t1, t2, t3, t4);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
  });
}

}  // namespace
