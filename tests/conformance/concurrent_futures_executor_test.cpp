// Ported from CPython's Lib/test/test_concurrent_futures/executor.py: ExecutorTest, for both pools. Each test names the CPython
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

}  // namespace
