// Specification of Task<T> and TaskHandle<T>: awaiting, create_task, results, cancel (Python: a
// coroutine object and asyncio.Task).
#include <gtest/gtest.h>
#include <unistd.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

using aio::testing::answer;
Task<int> add(int a, int b) { co_return a + co_await answer() - 42 + b; }
Task<void> fail(std::string what) {
  co_await aio::sleep(0);
  throw std::runtime_error(what);
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

TEST(AioAwait, SeveralTasksAwaitingOneTaskAreAllWoken) {
  // A task keeps its first waiter in a slot and the others apart: every one of them must be told,
  // and one that gives up (shielded, cancelled) must be forgotten without disturbing the rest.
  auto main = []() -> Task<int> {
    aio::Event go;
    auto target = aio::create_task([](aio::Event& e) -> Task<int> {
      co_await e.wait();
      co_return 5;
    }(go));
    std::vector<aio::TaskHandle<int>> waiters;
    for (int i = 0; i < 4; ++i)
      waiters.push_back(aio::create_task([](aio::TaskHandle<int> t) -> Task<int> { co_return co_await t; }(target)));
    auto quitter = aio::create_task([](aio::TaskHandle<int> t) -> Task<int> { co_return co_await aio::shield(t); }(target));
    std::vector<aio::TaskHandle<int>> just_target(1, target);
    auto gatherer = aio::create_task(aio::gather(std::move(just_target)));
    co_await aio::sleep(0);  // everyone parks on target
    co_await aio::sleep(0);
    quitter.cancel();
    co_await aio::sleep(0);
    EXPECT_TRUE(quitter.cancelled());
    EXPECT_FALSE(target.done());
    go.set();
    int sum = 0;
    for (auto& w : waiters) sum += co_await w;
    sum += (co_await gatherer).at(0);
    co_return sum;
  };
  EXPECT_EQ(aio::run(main()), 25);
}

}  // namespace
