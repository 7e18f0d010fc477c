// Specification of timeout scopes and wait_for (Python: asyncio.timeouts, asyncio.wait_for).
#include <gtest/gtest.h>

#include <chrono>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

using aio::testing::forever;
using aio::testing::value_after;

// ---- timeouts ------------------------------------------------------------------------------------------------

TEST(AioTimeout, ExpiryTurnsCancellationIntoTimeoutError) {
  std::vector<std::string> log;
  auto guarded = [&]() -> Task<void> {
    try {
      co_await aio::sleep(1h);
    } catch (const tandem::CancelledError&) {
      log.push_back("unwound");
      throw;
    }
  };
  auto main = [&]() -> Task<void> {
    EXPECT_THROW(co_await aio::timeout(2ms, guarded()), tandem::TimeoutError);
    EXPECT_EQ(aio::get_running_loop().pending_task_count(), 1u);
    co_await aio::sleep(0);  // the task is not left with a pending cancellation
    log.push_back("after");
  };
  aio::run(main());
  EXPECT_EQ(log, (std::vector<std::string>{"unwound", "after"}));
}

TEST(AioTimeout, FastEnoughReturnsTheValueAndDisarms) {
  auto main = []() -> Task<int> {
    int v = co_await aio::timeout(1h, value_after(4, 0ms));
    co_await aio::sleep(1ms);
    co_return v;
  };
  EXPECT_EQ(aio::run(main()), 4);
}

TEST(AioTimeout, ExternalCancellationStaysCancellation) {
  auto main = []() -> Task<void> {
    auto t = aio::create_task([]() -> Task<void> { co_await aio::timeout(1h, forever()); }());
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(t.cancelled());
  };
  aio::run(main());
}

TEST(AioTimeout, NestedScopesReportTheOneThatExpired) {
  auto main = []() -> Task<std::string> {
    try {
      co_await aio::timeout(1h, [](void) -> Task<void> {
        try {
          co_await aio::timeout(1ms, forever());
        } catch (const tandem::TimeoutError&) {
          throw std::runtime_error("inner expired");
        }
      }());
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "none";
  };
  EXPECT_EQ(aio::run(main()), "inner expired");
}

TEST(AioTimeout, ScopeCanBeRescheduled) {
  auto main = []() -> Task<bool> {
    aio::Timeout scope(std::nullopt);
    EXPECT_FALSE(scope.when().has_value());
    scope.reschedule(aio::get_running_loop().time() + 1ms);
    std::exception_ptr err;
    try {
      co_await aio::sleep(1h);
    } catch (...) {
      err = std::current_exception();
    }
    try {
      scope.exit(err);
    } catch (const tandem::TimeoutError&) {
      co_return scope.expired();
    }
    co_return false;
  };
  EXPECT_TRUE(aio::run(main()));
}

TEST(AioWaitFor, CancelsTheTaskAtTheDeadlineAndWaitsForIt) {
  auto main = []() -> Task<void> {
    auto t = aio::create_task(value_after(1, 1h));
    EXPECT_THROW(co_await aio::wait_for(t, 2ms), tandem::TimeoutError);
    EXPECT_TRUE(t.cancelled());
    EXPECT_EQ(co_await aio::wait_for(value_after(2, 0ms), 1h), 2);
  };
  aio::run(main());
}

}  // namespace
