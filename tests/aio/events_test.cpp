// Specification of the event loop: callbacks, timers, fd readers, debug mode, teardown and
// call_soon_threadsafe (Python: asyncio.events, asyncio.base_events).
#include <gtest/gtest.h>
#include <unistd.h>
#include <stdlib.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

// ---- the loop's callbacks ---------------------------------------------------------------------------------

TEST(AioLoop, CallSoonRunsInFifoOrderAfterTheCurrentStep) {
  std::vector<int> order;
  auto main = [&]() -> Task<void> {
    auto& loop = aio::get_running_loop();
    loop.call_soon([&] { order.push_back(1); });
    loop.call_soon([&] { order.push_back(2); });
    order.push_back(0);
    co_await aio::sleep(0);
    order.push_back(3);
  };
  aio::run(main());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(AioLoop, CallLaterOrdersByDeadlineAndCancelLeavesNoResidue) {
  std::vector<int> order;
  auto main = [&]() -> Task<void> {
    auto& loop = aio::get_running_loop();
    loop.call_later(3ms, [&] { order.push_back(3); });
    loop.call_later(1ms, [&] { order.push_back(1); });
    auto h = loop.call_later(2ms, [&] { order.push_back(2); });
    h.cancel();
    EXPECT_TRUE(h.cancelled());
    co_await aio::sleep(10ms);
    h.cancel();  // harmless twice
  };
  aio::run(main());
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
}

TEST(AioLoop, CallbackExceptionsAreReportedNotPropagated) {
  std::string reported;
  auto main = [&]() -> Task<int> {
    auto& loop = aio::get_running_loop();
    loop.set_report_sink([&](std::string_view s) { reported = s; });
    loop.call_soon([] { throw std::runtime_error("bad callback"); });
    co_await aio::sleep(0);
    co_return 1;
  };
  EXPECT_EQ(aio::run(main()), 1);
  EXPECT_NE(reported.find("bad callback"), std::string::npos);
}

TEST(AioLoop, ManySleepingTasksWakeInDeadlineOrder) {
  constexpr int kTasks = 100000;
  auto main = []() -> Task<long> {
    long sum = 0;
    std::vector<aio::TaskHandle<void>> tasks;
    tasks.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i)
      tasks.push_back(aio::create_task([](long& s, int i) -> Task<void> {
        co_await aio::sleep(std::chrono::microseconds(i % 1000));
        s += 1;
      }(sum, i)));
    for (auto& t : tasks) co_await t;
    EXPECT_EQ(aio::get_running_loop().pending_task_count(), 1u);
    co_return sum;
  };
  EXPECT_EQ(aio::run(main()), kTasks);
}

TEST(AioLoop, StepsHoldingTheLoopAreNamedInDebugMode) {
  std::vector<std::string> reports;
  auto main = [&]() -> Task<void> {
    auto& loop = aio::get_running_loop();
    loop.set_report_sink([&](std::string_view s) { reports.emplace_back(s); });
    loop.set_slow_callback_duration(0ns);  // every step counts as slow: deterministic
    auto t = aio::create_task([]() -> Task<void> { co_return; }(), "blocker");
    co_await t;
  };
  aio::run(main(), aio::LoopOptions{.debug = true});
  bool named = false;
  for (auto& r : reports) named = named || r.find("'blocker'") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST(AioLoop, DebugModeFollowsTheEnvironmentUnlessSetExplicitly) {
  auto main = []() -> Task<bool> { co_return aio::get_running_loop().get_debug(); };
  ::setenv("TANDEM_AIO_DEBUG", "1", 1);
  bool from_env = aio::run(main());
  bool overridden = aio::run(main(), aio::LoopOptions{.debug = false});
  ::setenv("TANDEM_AIO_DEBUG", "0", 1);
  bool off = aio::run(main());
  ::unsetenv("TANDEM_AIO_DEBUG");
  EXPECT_TRUE(from_env);
  EXPECT_FALSE(overridden);
  EXPECT_FALSE(off);
}

TEST(AioLoop, AnEventLoopDestroyedWithPendingTasksFreesTheirFrames) {
  struct Flag {
    bool* destroyed;
    ~Flag() { *destroyed = true; }
  };
  bool destroyed = false;
  {
    aio::EventLoop loop;
    auto t = loop.create_task([](bool* d) -> Task<void> {
      Flag f{d};
      co_await aio::sleep(1h);
    }(&destroyed));
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();  // the task starts and parks on its timer
    EXPECT_FALSE(t.done());
    EXPECT_EQ(loop.timer_count(), 1u);
  }
  EXPECT_TRUE(destroyed);
}

TEST(AioLoop, AnEventLoopDestroyedWithWokenTasksStillQueuedFreesThem) {
  // The ready queue holds its own reference: a task woken but not yet run when the loop goes away is
  // freed exactly once (ASan checks), and its frame's destructors run.
  int destroyed = 0;
  struct Count {
    int* n;
    ~Count() { ++*n; }
  };
  {
    aio::Event go;
    aio::EventLoop loop;
    for (int i = 0; i < 3; ++i)
      loop.create_task([](aio::Event& e, int* n) -> Task<void> {
        Count c{n};
        co_await e.wait();
        co_await aio::sleep(1h);
      }(go, &destroyed));
    loop.call_soon([&] {
      loop.call_soon([&] {
        go.set();  // wakes all three into the ready queue...
        loop.stop();  // ...and the loop stops before they run
      });
    });
    loop.run_forever();
    EXPECT_EQ(loop.pending_task_count(), 3u);
  }
  EXPECT_EQ(destroyed, 3);
}

TEST(AioLoop, AddReaderCallsBackWhileTheFdIsReadable) {
  auto main = []() -> Task<std::string> {
    auto& loop = aio::get_running_loop();
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    std::string got;
    aio::Event done;
    loop.add_reader(fds[0], [&] {
      char buf[16];
      auto n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
      if (got.size() >= 5) done.set();
    });
    EXPECT_EQ(::write(fds[1], "hel", 3), 3);
    co_await aio::sleep(1ms);
    EXPECT_EQ(::write(fds[1], "lo", 2), 2);
    co_await done.wait();
    EXPECT_TRUE(loop.remove_reader(fds[0]));
    EXPECT_FALSE(loop.remove_reader(fds[0]));
    ::close(fds[0]);
    ::close(fds[1]);
    co_return got;
  };
  EXPECT_EQ(aio::run(main()), "hello");
}

TEST(AioLoop, DebugModeIsOffUnlessAsked) {
  auto main = []() -> Task<bool> { co_return aio::get_running_loop().get_debug(); };
  EXPECT_FALSE(aio::run(main(), aio::LoopOptions{.debug = false}));
  EXPECT_TRUE(aio::run(main(), aio::LoopOptions{.debug = true}));
}

TEST(AioCallSoonThreadsafe, FromManyThreadsWakesTheLoop) {
  constexpr int kThreads = 4, kEach = 1000;
  auto main = []() -> Task<int> {
    auto& loop = aio::get_running_loop();
    int received = 0;
    tandem::Promise<void> all_in;
    auto all_in_future = all_in.get_future();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < kEach; ++i)
          loop.call_soon_threadsafe([&] {
            if (++received == kThreads * kEach) all_in.set_result();
          });
      });
    co_await all_in_future;
    for (auto& th : threads) th.join();
    co_return received;
  };
  EXPECT_EQ(aio::run(main()), kThreads * kEach);
}

}  // namespace
