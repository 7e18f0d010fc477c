// Ports of CPython's Lib/test/test_asyncio/test_timeouts.py (Python 3.12). `async with
// asyncio.timeout(d) as cm: body` is written out with aio::Timeout: construct it, run the body, and
// pass how the body ended to cm.exit(). Left out: repr tests, exception-chaining (__cause__ /
// __context__) checks, and the tests that block the loop with time.sleep. tandem's difference met
// here: misuse raises InvalidStateError (Python: RuntimeError).
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

#include "conformance/support.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;
using aio::conformance::run_async_test;

namespace {

/// Runs `body` inline and returns how it ended (nullptr: normally) — the inside of an `async with`.
Task<std::exception_ptr> outcome_of(Task<void> body) {
  try {
    co_await std::move(body);
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

aio::TimePoint now() { return aio::get_running_loop().time(); }

Task<void> sleeping(aio::Duration d) { co_await aio::sleep(d); }

// test_timeout_basic, test_timeout_at_basic
TEST(AsyncioTimeouts, TimeoutBasic) {
  run_async_test([]() -> Task<void> {
    const auto deadline = now() + 10ms;
    aio::Timeout cm(deadline);
    auto error = co_await outcome_of(sleeping(10s));
    EXPECT_THROW(cm.exit(error), tandem::TimeoutError);
    EXPECT_TRUE(cm.expired());
    EXPECT_EQ(cm.when(), deadline);
    EXPECT_THROW(co_await aio::timeout(10ms, []() -> Task<void> { co_await aio::sleep(10s); }()),
                 tandem::TimeoutError);
  });
}

// test_nested_timeouts: only the outermost scope raises TimeoutError
TEST(AsyncioTimeouts, NestedTimeouts) {
  run_async_test([]() -> Task<void> {
    const auto deadline = now() + 10ms;
    aio::Timeout cm1(deadline);
    bool cancelled = false;
    auto inner = [](aio::TimePoint deadline, bool& cancelled) -> Task<void> {
      aio::Timeout cm2(deadline);
      auto error = co_await outcome_of(sleeping(10s));
      try {
        cm2.exit(error);
      } catch (const tandem::CancelledError&) {
        cancelled = true;
        EXPECT_TRUE(cm2.expired());
        throw;
      }
    };
    auto error = co_await outcome_of(inner(deadline, cancelled));
    EXPECT_THROW(cm1.exit(error), tandem::TimeoutError);
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(cm1.expired());
  });
}

// test_waiter_cancelled
TEST(AsyncioTimeouts, WaiterCancelled) {
  run_async_test([]() -> Task<void> {
    bool cancelled = false;
    EXPECT_THROW(co_await aio::timeout(10ms, [](bool& cancelled) -> Task<void> {
                   try {
                     co_await aio::sleep(10s);
                   } catch (const tandem::CancelledError&) {
                     cancelled = true;
                     throw;
                   }
                 }(cancelled)),
                 tandem::TimeoutError);
    EXPECT_TRUE(cancelled);
  });
}

// test_timeout_not_called, test_timeout_disabled
TEST(AsyncioTimeouts, NotCalledAndDisabled) {
  run_async_test([]() -> Task<void> {
    aio::Timeout cm(now() + 10s);
    cm.exit(co_await outcome_of(sleeping(10ms)));
    EXPECT_FALSE(cm.expired());
    EXPECT_GT(*cm.when(), now());
    aio::Timeout disabled(std::nullopt);
    disabled.exit(co_await outcome_of(sleeping(10ms)));
    EXPECT_FALSE(disabled.expired());
    EXPECT_FALSE(disabled.when().has_value());
  });
}

// test_timeout_zero
TEST(AsyncioTimeouts, TimeoutZero) {
  run_async_test([]() -> Task<void> {
    const auto t0 = now();
    aio::Timeout cm(now());
    auto error = co_await outcome_of(sleeping(10s));
    EXPECT_THROW(cm.exit(error), tandem::TimeoutError);
    EXPECT_TRUE(cm.expired());
    EXPECT_LE(t0, *cm.when());
    EXPECT_LE(*cm.when(), now());
  });
}

// test_timeout_zero_sleep_zero: even sleep(0) is a suspension point the expired deadline interrupts
// (issue 9: tandem's sleep(0) completed and the scope ended normally with expired() true).
TEST(AsyncioTimeouts, TimeoutZeroSleepZero) {
  run_async_test([]() -> Task<void> {
    aio::Timeout cm(now());
    auto error = co_await outcome_of(sleeping(0s));
    EXPECT_THROW(cm.exit(error), tandem::TimeoutError);
    EXPECT_TRUE(cm.expired());
    EXPECT_THROW(co_await aio::timeout(0s, []() -> Task<void> { co_await aio::sleep(0); }()), tandem::TimeoutError);
  });
}

// test_timeout_in_the_past_sleep_zero
TEST(AsyncioTimeouts, TimeoutInThePastSleepZero) {
  run_async_test([]() -> Task<void> {
    const auto t0 = now();
    aio::Timeout cm(now() - 11s);
    auto error = co_await outcome_of(sleeping(0s));
    EXPECT_THROW(cm.exit(error), tandem::TimeoutError);
    EXPECT_TRUE(cm.expired());
    EXPECT_GE(t0, *cm.when());
    EXPECT_THROW(co_await aio::timeout(-11s, []() -> Task<void> { co_await aio::sleep(0); }()), tandem::TimeoutError);
  });
}

// A body that never suspends is not interrupted, even by a deadline that has passed (asyncio: the
// expiry is a callback that never gets to run before the scope ends).
TEST(AsyncioTimeouts, TimeoutZeroWithoutSuspending) {
  run_async_test([]() -> Task<void> {
    aio::Timeout cm(now());
    cm.exit(co_await outcome_of([]() -> Task<void> { co_return; }()));
    EXPECT_FALSE(cm.expired());
  });
}

// test_foreign_exception_passed
TEST(AsyncioTimeouts, ForeignExceptionPassed) {
  run_async_test([]() -> Task<void> {
    aio::Timeout cm(now() + 10ms);
    auto error = co_await outcome_of([]() -> Task<void> {
      throw std::out_of_range("KeyError");
      co_return;
    }());
    EXPECT_THROW(cm.exit(error), std::out_of_range);
    EXPECT_FALSE(cm.expired());
  });
}

// test_foreign_exception_on_timeout: an exception raised while unwinding from the expiry wins
TEST(AsyncioTimeouts, ForeignExceptionOnTimeout) {
  run_async_test([]() -> Task<void> {
    auto crash = []() -> Task<void> {
      try {
        co_await aio::sleep(1s);
      } catch (...) {
      }
      throw std::domain_error("1/0");  // Python: `finally: 1/0`
    };
    EXPECT_THROW(co_await aio::timeout(10ms, crash()), std::domain_error);
  });
}

// test_foreign_cancel_doesnt_timeout_if_not_expired
TEST(AsyncioTimeouts, ForeignCancelDoesNotTimeOutIfNotExpired) {
  run_async_test([]() -> Task<void> {
    aio::Timeout cm(now() + 10s);
    auto error = co_await outcome_of([]() -> Task<void> {
      aio::current_task().cancel();
      co_await aio::sleep(10s);
    }());
    EXPECT_THROW(cm.exit(error), tandem::CancelledError);
    EXPECT_FALSE(cm.expired());
    aio::current_task().uncancel();  // IsolatedAsyncioTestCase's own task would end here
  });
}

// test_outer_task_is_not_cancelled
TEST(AsyncioTimeouts, OuterTaskIsNotCancelled) {
  run_async_test([]() -> Task<void> {
    auto task = aio::create_task([]() -> Task<void> {
      EXPECT_THROW(co_await aio::timeout(1ms, []() -> Task<void> { co_await aio::sleep(10s); }()),
                   tandem::TimeoutError);
    }());
    co_await task;
    EXPECT_FALSE(task.cancelled());
    EXPECT_TRUE(task.done());
  });
}

// test_reschedule
TEST(AsyncioTimeouts, Reschedule) {
  run_async_test([]() -> Task<void> {
    aio::Event entered;
    aio::Timeout* cm = nullptr;
    const auto deadline1 = now() + 10s;
    const auto deadline2 = deadline1 + 20s;
    auto task = aio::create_task([](aio::TimePoint when, aio::Event& entered, aio::Timeout*& cm) -> Task<void> {
      aio::Timeout scope(when);
      cm = &scope;
      entered.set();
      auto error = co_await outcome_of(sleeping(50s));
      cm = nullptr;
      EXPECT_FALSE(scope.expired());
      scope.exit(error);
    }(deadline1, entered, cm));
    co_await entered.wait();
    EXPECT_EQ(cm->when(), deadline1);
    cm->reschedule(deadline2);
    EXPECT_EQ(cm->when(), deadline2);
    cm->reschedule(std::nullopt);
    EXPECT_FALSE(cm->when().has_value());
    task.cancel();
    EXPECT_THROW(co_await task, tandem::CancelledError);
  });
}

// test_timeout_after_cancellation: a scope entered while a cancellation is pending still times out
TEST(AsyncioTimeouts, TimeoutAfterCancellation) {
  run_async_test([]() -> Task<void> {
    auto error = co_await outcome_of([]() -> Task<void> {
      aio::current_task().cancel();
      co_await aio::sleep(1s);  // work which will be cancelled
    }());
    EXPECT_TRUE(error);
    // finally: some cleanup, under a timeout of 0
    EXPECT_THROW(co_await aio::timeout(0s, []() -> Task<void> { co_await aio::sleep(1s); }()), tandem::TimeoutError);
    aio::current_task().uncancel();
  });
}

// test_cancel_in_timeout_after_cancellation
TEST(AsyncioTimeouts, CancelInTimeoutAfterCancellation) {
  run_async_test([]() -> Task<void> {
    auto error = co_await outcome_of([]() -> Task<void> {
      aio::current_task().cancel();
      co_await aio::sleep(1s);
    }());
    EXPECT_TRUE(error);
    EXPECT_THROW(co_await aio::timeout(1s,
                                       []() -> Task<void> {
                                         aio::current_task().cancel();
                                         co_await aio::sleep(2s);
                                       }()),
                 tandem::CancelledError);
    aio::current_task().uncancel();
    aio::current_task().uncancel();
  });
}

// test_timeout_finished, test_timeout_expired, test_timeout_expiring
TEST(AsyncioTimeouts, RescheduleAfterTheEnd) {
  run_async_test([]() -> Task<void> {
    aio::Timeout finished(now() + 10ms);
    finished.exit(nullptr);
    EXPECT_THROW(finished.reschedule(now() + 20ms), tandem::InvalidStateError);

    aio::Timeout expired(now() + 10ms);
    auto error = co_await outcome_of(sleeping(1s));
    EXPECT_THROW(expired.exit(error), tandem::TimeoutError);
    EXPECT_THROW(expired.reschedule(now() + 20ms), tandem::InvalidStateError);

    aio::Timeout expiring(now() + 10ms);
    EXPECT_THROW(co_await aio::sleep(1s), tandem::CancelledError);
    EXPECT_THROW(expiring.reschedule(now() + 20ms), tandem::InvalidStateError);
    expiring.exit(nullptr);  // the block ends normally: no TimeoutError
  });
}

}  // namespace
