// Specification of TaskGroup, structured concurrency (Python: asyncio.TaskGroup).
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

using aio::testing::fail_after;
using aio::testing::forever;
using aio::testing::nothing;

// ---- TaskGroup ---------------------------------------------------------------------------------------------------

TEST(AioTaskGroup, WaitsForEveryChild) {
  auto main = []() -> Task<int> {
    int sum = 0;
    co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
      for (int i = 1; i <= 3; ++i)
        tg.create_task([](int& s, int i) -> Task<void> {
          co_await aio::sleep(std::chrono::milliseconds(i));
          s += i;
        }(sum, i));
      co_return;
    });
    co_return sum;
  };
  EXPECT_EQ(aio::run(main()), 6);
}

TEST(AioTaskGroup, FirstFailureCancelsSiblingsAndTheBodyThenRethrows) {
  std::vector<std::string> log;
  auto main = [&]() -> Task<void> {
    try {
      co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
        tg.create_task([](std::vector<std::string>& log) -> Task<void> {
          try {
            co_await aio::sleep(1h);
          } catch (const tandem::CancelledError&) {
            log.push_back("sibling cancelled");
            throw;
          }
        }(log));
        tg.create_task(fail_after("child failed", 1ms));
        try {
          co_await aio::sleep(1h);
        } catch (const tandem::CancelledError&) {
          log.push_back("body cancelled");
          throw;
        }
      });
      ADD_FAILURE();
    } catch (const std::runtime_error& e) {
      log.push_back(e.what());
    }
    co_await aio::sleep(0);  // the group withdrew its cancellation of this task
    log.push_back("continues");
  };
  aio::run(main());
  EXPECT_EQ(log, (std::vector<std::string>{"sibling cancelled", "body cancelled", "child failed", "continues"}));
}

TEST(AioTaskGroup, SeveralFailuresBecomeAnExceptionGroup) {
  auto main = []() -> Task<std::size_t> {
    try {
      co_await aio::task_group([](aio::TaskGroup& tg) -> Task<void> {
        tg.create_task(fail_after("a", 1ms));
        tg.create_task([]() -> Task<void> {
          try {
            co_await aio::sleep(1h);
          } catch (const tandem::CancelledError&) {
          }
          throw std::logic_error("b while unwinding");
        }());
        co_return;
      });
    } catch (const aio::ExceptionGroup& g) {
      EXPECT_NE(std::string(g.what()).find("b while unwinding"), std::string::npos);
      co_return g.exceptions().size();
    }
    co_return 0;
  };
  EXPECT_EQ(aio::run(main()), 2u);
}

TEST(AioTaskGroup, BodyFailureCancelsChildren) {
  auto main = []() -> Task<bool> {
    aio::TaskHandle<void> child;
    try {
      co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
        child = tg.create_task(forever());
        co_await aio::sleep(0);
        throw std::runtime_error("body");
      });
    } catch (const std::runtime_error&) {
      co_return child.cancelled();
    }
    co_return false;
  };
  EXPECT_TRUE(aio::run(main()));
}

TEST(AioTaskGroup, ExternalCancellationCancelsChildrenAndPropagates) {
  auto main = []() -> Task<void> {
    aio::TaskHandle<void> child;
    auto t = aio::create_task([](aio::TaskHandle<void>& child) -> Task<void> {
      co_await aio::task_group([&](aio::TaskGroup& tg) -> Task<void> {
        child = tg.create_task(forever());
        co_return;  // now waiting in join
      });
    }(child));
    co_await aio::sleep(1ms);
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(child.cancelled());
  };
  aio::run(main());
}

TEST(AioTaskGroup, NoNewTasksAfterItIsDone) {
  auto main = []() -> Task<void> {
    aio::TaskGroup tg;
    tg.create_task(nothing());
    co_await tg.join();
    EXPECT_THROW(tg.create_task(nothing()), tandem::InvalidStateError);
  };
  aio::run(main());
}

}  // namespace
