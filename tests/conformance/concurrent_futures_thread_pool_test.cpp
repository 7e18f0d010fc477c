// Ported from CPython's Lib/test/test_concurrent_futures/test_thread_pool.py: ThreadPoolExecutor-specific checks. Each test names the CPython
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

}  // namespace
