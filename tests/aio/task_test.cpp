// Specification of Task<T>, TaskHandle<T>, the loop's callbacks and aio::run (Python: asyncio.tasks).
#include <gtest/gtest.h>
#include <unistd.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

Task<int> answer() { co_return 42; }
Task<int> add(int a, int b) { co_return a + co_await answer() - 42 + b; }
Task<void> fail(std::string what) {
  co_await aio::sleep(0);
  throw std::runtime_error(what);
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

TEST(AioTask, RunReturnsTheResultOfMain) { EXPECT_EQ(aio::run(answer()), 42); }

TEST(AioTask, NestedAwaitsRunInline) { EXPECT_EQ(aio::run(add(1, 2)), 3); }

TEST(AioTask, IsLazyUntilAwaited) {
  bool ran = false;
  auto body = [&]() -> Task<void> {
    ran = true;
    co_return;
  };
  {
    auto t = body();
    EXPECT_FALSE(ran);
  }  // destroyed unstarted: frame freed, nothing runs
  EXPECT_FALSE(ran);
  aio::run(body());
  EXPECT_TRUE(ran);
}

TEST(AioTask, ExceptionsPropagateThroughAwaits) {
  auto main = []() -> Task<void> { co_await fail("boom"); };
  EXPECT_THROW(
      {
        try {
          aio::run(main());
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      std::runtime_error);
}

TEST(AioTask, DeepNestingOfAwaitsCompletes) {
  struct R {
    static Task<int> depth(int n) {
      if (n == 0) co_return 0;
      co_return 1 + co_await depth(n - 1);
    }
  };
  EXPECT_EQ(aio::run(R::depth(5000)), 5000);  // at -O0 GCC does not make symmetric transfer a tail call
}

TEST(AioTask, MoveOnlyResults) {
  auto make = []() -> Task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); };
  auto main = [&]() -> Task<int> {
    auto p = co_await make();
    auto h = aio::create_task(make());
    auto q = co_await std::move(h);
    co_return *p + *q;
  };
  EXPECT_EQ(aio::run(main()), 14);
}

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

TEST(AioCreateTask, RunsConcurrentlyAndCanBeAwaited) {
  std::vector<std::string> log;
  auto worker = [&](std::string name, int steps) -> Task<int> {
    for (int i = 0; i < steps; ++i) {
      log.push_back(name + std::to_string(i));
      co_await aio::sleep(0);
    }
    co_return steps;
  };
  auto main = [&]() -> Task<int> {
    auto a = aio::create_task(worker("a", 2));
    auto b = aio::create_task(worker("b", 2));
    co_return co_await a + co_await b;
  };
  EXPECT_EQ(aio::run(main()), 4);
  EXPECT_EQ(log, (std::vector<std::string>{"a0", "b0", "a1", "b1"}));
}

TEST(AioCreateTask, NamesDefaultToTaskN) {
  auto main = []() -> Task<void> {
    auto named = aio::create_task(answer(), "spinner");
    auto unnamed = aio::create_task(answer());
    EXPECT_EQ(named.name(), "spinner");
    EXPECT_EQ(unnamed.name().rfind("Task-", 0), 0u);
    unnamed.set_name("renamed");
    EXPECT_EQ(unnamed.name(), "renamed");
    EXPECT_EQ(aio::current_task_name(), "main");
    co_await named;
    co_await unnamed;
  };
  aio::run(main());
}

TEST(AioCreateTask, ResultBeforeDoneIsAnError) {
  auto main = []() -> Task<void> {
    auto t = aio::create_task(answer());
    EXPECT_FALSE(t.done());
    EXPECT_THROW(t.result(), tandem::InvalidStateError);
    EXPECT_EQ(co_await t, 42);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.result(), 42);
    EXPECT_EQ(t.exception(), nullptr);
  };
  aio::run(main());
}

TEST(AioCreateTask, DoneCallbacksRunOnTheLoopAfterCompletion) {
  std::vector<std::string> log;
  auto main = [&]() -> Task<void> {
    auto t = aio::create_task(answer());
    t.add_done_callback([&](const aio::TaskHandle<int>& h) { log.push_back("cb " + std::to_string(h.done())); });
    co_await t;
    log.push_back("awaited");
    co_await aio::sleep(0);
    t.add_done_callback([&](const aio::TaskHandle<int>&) { log.push_back("late"); });  // already done: soon
    co_await aio::sleep(0);
  };
  aio::run(main());
  EXPECT_EQ(log, (std::vector<std::string>{"awaited", "cb 1", "late"}));
}

TEST(AioCreateTask, UnretrievedFailureIsReportedWhenTheTaskIsDestroyed) {
  testing::internal::CaptureStderr();
  auto main = []() -> Task<void> {
    aio::create_task(fail("lost error"), "careless");
    co_await aio::sleep(0);
    co_await aio::sleep(0);
  };
  aio::run(main());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("never retrieved"), std::string::npos) << err;
  EXPECT_NE(err.find("careless"), std::string::npos) << err;
  EXPECT_NE(err.find("lost error"), std::string::npos) << err;
}

TEST(AioCreateTask, RetrievedFailureIsNotReported) {
  testing::internal::CaptureStderr();
  auto main = []() -> Task<void> {
    auto t = aio::create_task(fail("seen"));
    try {
      co_await t;
    } catch (const std::runtime_error&) {
    }
  };
  aio::run(main());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// ---- cancellation -----------------------------------------------------------------------------------

TEST(AioCancel, SleepingTaskGetsCancelledErrorAndEndsCancelled) {
  auto sleeper = []() -> Task<void> { co_await aio::sleep(1h); };
  auto main2 = [&]() -> Task<void> {
    auto t = aio::create_task(sleeper(), "sleeper");
    co_await aio::sleep(0);  // let it reach its sleep
    EXPECT_TRUE(t.cancel("stop it"));
    EXPECT_FALSE(t.done());
    try {
      co_await t;
      ADD_FAILURE() << "awaiting a cancelled task must throw";
    } catch (const tandem::CancelledError& e) {
      EXPECT_STREQ(e.what(), "stop it");
    }
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(t.cancel());  // already done
    EXPECT_THROW(t.result(), tandem::CancelledError);
    EXPECT_EQ(aio::get_running_loop().pending_task_count(), 1u);  // only main: no residue
  };
  aio::run(main2());
}

TEST(AioCancel, UnwindsNestedAwaitsRunsDestructorsAndCanBeCaught) {
  std::vector<std::string> log;
  struct Guard {
    std::vector<std::string>* log;
    std::string name;
    ~Guard() { log->push_back("~" + name); }
  };
  auto inner = [&]() -> Task<void> {
    Guard g{&log, "inner"};
    co_await aio::sleep(1h);
  };
  auto middle = [&]() -> Task<void> {
    Guard g{&log, "middle"};
    co_await inner();
  };
  auto outer = [&]() -> Task<int> {
    try {
      co_await middle();
    } catch (const tandem::CancelledError&) {
      log.push_back("caught");
    }
    co_return 7;  // swallowing the cancellation: the task completes normally
  };
  auto main = [&]() -> Task<void> {
    auto t = aio::create_task(outer());
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_EQ(co_await t, 7);
    EXPECT_FALSE(t.cancelled());
  };
  aio::run(main());
  EXPECT_EQ(log, (std::vector<std::string>{"~inner", "~middle", "caught"}));
}

TEST(AioCancel, BeforeTheTaskStartsItNeverRuns) {
  bool ran = false;
  auto body = [&]() -> Task<void> {
    ran = true;
    co_return;
  };
  auto main = [&]() -> Task<void> {
    auto t = aio::create_task(body());
    t.cancel();
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(t.cancelled());
  };
  aio::run(main());
  EXPECT_FALSE(ran);
}

TEST(AioCancel, WhileRunningHitsTheNextSuspensionPoint) {
  std::vector<std::string> log;
  auto self_cancel = [&]() -> Task<void> {
    EXPECT_TRUE(aio::cancel_current_task());
    log.push_back("still running");
    try {
      co_await aio::sleep(0);
    } catch (const tandem::CancelledError&) {
      log.push_back("cancelled at sleep(0)");
      throw;
    }
  };
  auto main = [&]() -> Task<void> {
    auto t = aio::create_task(self_cancel());
    EXPECT_THROW(co_await t, tandem::CancelledError);
  };
  aio::run(main());
  EXPECT_EQ(log, (std::vector<std::string>{"still running", "cancelled at sleep(0)"}));
}

TEST(AioCancel, RequestAfterTheLastSuspensionMarksTheTaskCancelled) {
  auto main = []() -> Task<void> {
    auto t = aio::create_task([]() -> Task<int> {
      aio::cancel_current_task();
      co_return 1;  // no suspension point left: asyncio still ends it cancelled
    }());
    EXPECT_THROW(co_await t, tandem::CancelledError);
    EXPECT_TRUE(t.cancelled());
  };
  aio::run(main());
}

TEST(AioCancel, AwaitingATaskPropagatesTheCancellationToIt) {
  auto sleeper = []() -> Task<void> { co_await aio::sleep(1h); };
  auto waiter = [](aio::TaskHandle<void> t) -> Task<void> { co_await t; };
  auto main2 = [&]() -> Task<void> {
    auto inner = aio::create_task(sleeper());
    auto outer = aio::create_task(waiter(inner));
    co_await aio::sleep(0);
    outer.cancel();
    EXPECT_THROW(co_await outer, tandem::CancelledError);
    EXPECT_TRUE(inner.cancelled());
  };
  aio::run(main2());
}

TEST(AioCancel, CancellingAndUncancelCountRequests) {
  auto main = []() -> Task<void> {
    auto t = aio::create_task([]() -> Task<void> { co_await aio::sleep(1h); }());
    co_await aio::sleep(0);
    EXPECT_EQ(t.cancelling(), 0);
    t.cancel();
    t.cancel();
    EXPECT_EQ(t.cancelling(), 2);
    EXPECT_EQ(t.uncancel(), 1);
    EXPECT_THROW(co_await t, tandem::CancelledError);
  };
  aio::run(main());
}

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

}  // namespace
