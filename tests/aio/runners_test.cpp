// Specification of aio::run, the entry point (Python: asyncio.run).
#include <gtest/gtest.h>

#include <chrono>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

using aio::testing::answer;

TEST(AioRun, CannotBeCalledFromARunningLoop) {
  auto main = []() -> Task<void> {
    EXPECT_THROW(aio::run(answer()), tandem::InvalidStateError);
    co_return;
  };
  aio::run(main());
}

TEST(AioRun, CancelsTasksLeftBehindAndLetsThemCleanUp) {
  auto cleaned = std::make_shared<bool>(false);
  auto forever = [](std::shared_ptr<bool> flag) -> Task<void> {
    try {
      co_await aio::sleep(1h);
    } catch (const tandem::CancelledError&) {
      *flag = true;
      throw;
    }
  };
  auto main = [&]() -> Task<void> {
    aio::create_task(forever(cleaned));
    co_await aio::sleep(0);
  };
  aio::run(main());
  EXPECT_TRUE(*cleaned);
}

}  // namespace
