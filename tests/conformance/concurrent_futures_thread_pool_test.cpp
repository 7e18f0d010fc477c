// Ported from CPython's Lib/test/test_concurrent_futures (test_thread_pool.py, executor.py, test_wait.py,
// test_as_completed.py, test_shutdown.py): the checks that cover ThreadPoolExecutor's edges. Each test
// names the CPython test it mirrors; tandem's documented differences are stated where they apply.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tandem/futures.hpp"
#include "tandem/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ThreadPoolExecutor;

// test_thread_pool.py: ThreadPoolExecutorTest.test_max_workers_negative — 0 and -1 raise ValueError
// "max_workers must be greater than 0" (here std::invalid_argument naming max_workers).
TEST(CpythonThreadPool, MaxWorkersNegativeOrZeroIsRefused) {
  for (int n : {0, -1}) {
    try {
      ThreadPoolExecutor pool(n);
      FAIL() << "max_workers=" << n << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("max_workers"), std::string::npos) << e.what();
    }
  }
  ThreadPoolExecutor::Options o;
  o.max_workers = static_cast<std::size_t>(-1);  // a negative count that went through std::size_t
  EXPECT_THROW(ThreadPoolExecutor{o}, std::invalid_argument);
}

// executor.py: ExecutorTest.test_map_timeout — map(time.sleep, [0, 0, 6], timeout=5) yields two results,
// then raises TimeoutError. Here the third call waits on a gate instead of sleeping 6 s.
TEST(CpythonThreadPool, MapTimeoutRaisesAfterTheReadyResults) {
  ThreadPoolExecutor pool(3);
  tandem::Promise<void> gate;
  auto gate_future = gate.get_future();
  auto wait_or_not = [gate_future](int i) {
    if (i == 2) gate_future.wait();
    return i;
  };
  std::vector<int> results;
  auto r = pool.map(wait_or_not, std::vector<int>{0, 1, 2}, 1, 100ms);
  try {
    for (int v : r) results.push_back(v);
    FAIL() << "expected TimeoutError";
  } catch (const tandem::TimeoutError&) {
  }
  EXPECT_EQ(results, (std::vector<int>{0, 1}));
  gate.set_result();
}

// executor.py: ExecutorTest.test_map_exception — the exception surfaces when its item is reached.
TEST(CpythonThreadPool, MapExceptionSurfacesAtItsItem) {
  ThreadPoolExecutor pool(2);
  auto div = pool.map(
      [](int x) {
        if (x == 0) throw std::domain_error("division by zero");
        return 10 / x;
      },
      std::vector<int>{5, 0, 2});
  auto it = div.begin();
  EXPECT_EQ(*it, 2);
  EXPECT_THROW(++it, std::domain_error);
}

// test_shutdown.py: ThreadPoolShutdownTest.test_cancel_futures — with few workers, shutdown(cancel_futures)
// cancels many of 50 queued sleeps.
TEST(CpythonThreadPool, ShutdownCancelFuturesCancelsTheQueuedOnes) {
  ThreadPoolExecutor pool(5);
  std::vector<Future<void>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(pool.submit([] { std::this_thread::sleep_for(100ms); }));
  pool.shutdown(true, true);
  int cancelled = 0;
  for (auto& f : fs) cancelled += f.cancelled();
  EXPECT_GT(cancelled, 20);
}

// tandem's difference: CPython deadlocks when a task waits on futures of its own full pool. tandem's
// workers run queued work while they wait — through result(), wait() and as_completed() alike.
TEST(CpythonThreadPool, WaitAndAsCompletedInsideATaskOfAOneWorkerPoolMakeProgress) {
  ThreadPoolExecutor pool(1);
  auto via_wait = pool.submit([&pool] {
    std::vector<Future<int>> inner{pool.submit([] { return 1; }), pool.submit([] { return 2; })};
    auto [done, not_done] = tandem::wait(inner, tandem::ALL_COMPLETED, 60s);
    return static_cast<int>(done.size() * 10 + not_done.size());
  });
  EXPECT_EQ(via_wait.result(), 20);
  auto via_as_completed = pool.submit([&pool] {
    std::vector<Future<int>> inner{pool.submit([] { return 1; }), pool.submit([] { return 2; })};
    int sum = 0;
    for (auto& f : tandem::as_completed(inner, 60s)) sum += f.result();
    return sum;
  });
  EXPECT_EQ(via_as_completed.result(), 3);
}

// test_as_completed.py: AsCompletedTests.test_duplicate_futures — a future given twice is yielded once.
TEST(CpythonThreadPool, AsCompletedYieldsADuplicateOnce) {
  ThreadPoolExecutor pool(2);
  auto f = pool.submit([] { return 7; });
  int n = 0;
  for (auto& g : tandem::as_completed(std::vector<Future<int>>{f, f})) n += g.result() == 7;
  EXPECT_EQ(n, 1);
}

}  // namespace
