// Ported from CPython's Lib/test/test_concurrent_futures/test_wait.py and test_as_completed.py: waiting on several futures. Each test names the CPython
// test it mirrors; tandem's documented differences (docs/architecture.md) are stated where they apply.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tandem/futures.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/ipc/synchronize.hpp"
#include "tandem/thread_pool.hpp"
#include "conformance/futures_support.hpp"

namespace {

using namespace tandem::conformance;

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
