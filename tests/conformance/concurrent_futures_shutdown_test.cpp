// Ported from CPython's Lib/test/test_concurrent_futures/test_shutdown.py: shutdown(cancel_futures) on both pools. Each test names the CPython
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

// test_shutdown.py: ProcessPoolShutdownTest.test_cancel_futures — 50 sleeps on a few workers;
// shutdown(cancel_futures=True) cancels more than 20 of them. (Before: prefetched tasks were already
// "running" in the workers' rings, and 0 were cancelled.)
TEST(CpythonProcessPool, ShutdownCancelFuturesCancelsTasksNoWorkerTook) {
  ProcessPoolExecutor pool(workers(5));
  std::vector<Future<void>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(pool.submit(&sleep_100ms));
  pool.shutdown(true, true);
  int cancelled = 0;
  for (auto& f : fs) cancelled += f.cancelled();
  EXPECT_GT(cancelled, 20);
}

}  // namespace
