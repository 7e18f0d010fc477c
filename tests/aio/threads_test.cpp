// Specification of running blocking work off the loop (Python: asyncio.to_thread).
#include <gtest/gtest.h>

#include <thread>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using aio::Task;

namespace {

TEST(AioToThread, RunsBlockingWorkOffTheLoop) {
  auto main = []() -> Task<bool> {
    auto loop_thread = std::this_thread::get_id();
    auto worker_thread = co_await aio::to_thread([] { return std::this_thread::get_id(); });
    co_return worker_thread != loop_thread;
  };
  EXPECT_TRUE(aio::run(main()));
}

}  // namespace
