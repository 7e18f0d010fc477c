// Ported from CPython's Lib/test/test_concurrent_futures (test_process_pool.py, executor.py,
// test_shutdown.py): the checks that cover ProcessPoolExecutor's edges. Each test names the CPython
// test it mirrors; tandem's documented differences are stated where they apply.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "tandem/process_pool.hpp"
#include "tandem/synchronize.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ProcessPoolExecutor;

int mul(int a, int b) { return a * b; }
void sleep_100ms() { usleep(100'000); }
int wait_on(tandem::ipc::Event gate, int i) {
  if (i == 2) gate.wait();
  return i;
}

ProcessPoolExecutor::Options workers(std::size_t n) {
  ProcessPoolExecutor::Options o;
  o.max_workers = n;
  return o;
}

// test_process_pool.py: ProcessPoolExecutorTest.test_max_workers_negative — -1 raises ValueError.
// Difference: max_workers=0 means "one per CPU" here (CPython: ValueError), as Options documents.
TEST(CpythonProcessPool, MaxWorkersNegativeIsRefused) {
  try {
    ProcessPoolExecutor pool(-1);
    FAIL() << "max_workers=-1 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_workers"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ProcessPoolExecutor{workers(static_cast<std::size_t>(-1))}, std::invalid_argument);
}

// test_process_pool.py: ProcessPoolExecutorTest.test_idle_process_reuse_one — one task at a time
// keeps one worker.
TEST(CpythonProcessPool, IdleProcessReuseOne) {
  ProcessPoolExecutor pool(workers(4));
  EXPECT_EQ(pool.submit(&mul, 21, 2).result(), 42);
  EXPECT_EQ(pool.submit(&mul, 6, 7).result(), 42);
  EXPECT_EQ(pool.submit(&mul, 3, 14).result(), 42);
  EXPECT_EQ(pool.worker_pids().size(), 1u);
}

// test_process_pool.py: ProcessPoolExecutorTest.test_idle_process_reuse_multiple.
TEST(CpythonProcessPool, IdleProcessReuseMultiple) {
  ProcessPoolExecutor pool(workers(4));
  pool.submit(&mul, 12, 7).result();
  pool.submit(&mul, 33, 25);
  pool.submit(&mul, 25, 26).result();
  pool.submit(&mul, 18, 29);
  pool.submit(&mul, 1, 2).result();
  pool.submit(&mul, 0, 9);
  EXPECT_LE(pool.worker_pids().size(), 3u);
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

// executor.py: ExecutorTest.test_map_timeout, for processes (a gate instead of sleeping 6 s).
TEST(CpythonProcessPool, MapTimeoutRaisesAfterTheReadyResults) {
  tandem::ipc::Event gate(tandem::ipc::named);
  ProcessPoolExecutor pool(workers(3));
  std::vector<std::tuple<tandem::ipc::Event, int>> items{{gate, 0}, {gate, 1}, {gate, 2}};
  std::vector<int> results;
  auto r = pool.map(&wait_on, items, 1, 200ms);
  try {
    for (int v : r) results.push_back(v);
    FAIL() << "expected TimeoutError";
  } catch (const tandem::TimeoutError&) {
  }
  EXPECT_EQ(results, (std::vector<int>{0, 1}));
  gate.set();
}

// test_process_pool.py: ProcessPoolExecutorTest.test_killed_child — CPython: a killed worker breaks the
// pool (BrokenProcessPool for every future). Difference, deliberate: only the task that was running on
// the killed worker fails (WorkerCrashed); the pool replaces the worker and stays usable.
TEST(CpythonProcessPool, KilledChildFailsOnlyItsTaskAndThePoolStaysUsable) {
  ProcessPoolExecutor pool(workers(2));
  EXPECT_EQ(pool.submit(&mul, 2, 3).result(), 6);
  for (pid_t p : pool.worker_pids()) kill(p, SIGKILL);
  EXPECT_EQ(pool.submit(&mul, 4, 5).result(), 20);
}

}  // namespace
