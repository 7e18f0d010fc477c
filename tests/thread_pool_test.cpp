// ThreadPoolExecutor: submit, map, shutdown, naming, initializers, self-waits.
#include "tandem/thread_pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/threading.hpp"

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ThreadPoolExecutor;

namespace {
int square(int x) { return x * x; }
int fail_on_three(int x) {
  if (x == 3) throw std::domain_error("three is not allowed");
  return x;
}
std::string os_thread_name() {
  std::ifstream comm("/proc/self/task/" + std::to_string(tandem::get_native_id()) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}
}  // namespace

TEST(ThreadPool, SubmitReturnsTheValue) {
  ThreadPoolExecutor pool(2);
  EXPECT_EQ(pool.submit(square, 7).result(), 49);
  EXPECT_EQ(pool.submit([](int a, int b) { return a + b; }, 2, 3).result(), 5);
}

TEST(ThreadPool, SubmitVoidAndMoveOnlyResults) {
  ThreadPoolExecutor pool(2);
  std::atomic<int> hits{0};
  pool.submit([&] { ++hits; }).result();
  EXPECT_EQ(hits.load(), 1);
  auto p = pool.submit([] { return std::make_unique<int>(5); }).result();
  EXPECT_EQ(*p, 5);
}

TEST(ThreadPool, ArgumentsAreCopiedUnlessWrappedInRef) {
  ThreadPoolExecutor pool(1);
  int value = 1;
  pool.submit([](int& v) { v = 2; }, value).result();
  EXPECT_EQ(value, 1);
  pool.submit([](int& v) { v = 3; }, std::ref(value)).result();
  EXPECT_EQ(value, 3);
}

TEST(ThreadPool, ExceptionsCrossToTheCallerWithTheirType) {
  ThreadPoolExecutor pool(2);
  auto f = pool.submit(fail_on_three, 3);
  EXPECT_THROW(f.result(), std::domain_error);
  try {
    f.result();
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "three is not allowed");
  }
}

TEST(ThreadPool, ManyTasksAllComplete) {
  ThreadPoolExecutor pool(4);
  std::vector<Future<int>> fs;
  for (int i = 0; i < 10000; ++i) fs.push_back(pool.submit(square, i % 100));
  long sum = 0;
  for (auto& f : fs) sum += f.result();
  long expected = 0;
  for (int i = 0; i < 10000; ++i) expected += (i % 100) * (i % 100);
  EXPECT_EQ(sum, expected);
}

TEST(ThreadPool, RunsTasksInParallelUpToMaxWorkers) {
  // Two tasks each wait for the other to have started: only possible with two workers at once.
  ThreadPoolExecutor pool(2);
  tandem::Event a_started, b_started;
  auto a = pool.submit([&] {
    a_started.set();
    return b_started.wait(30s);
  });
  auto b = pool.submit([&] {
    b_started.set();
    return a_started.wait(30s);
  });
  EXPECT_TRUE(a.result());
  EXPECT_TRUE(b.result());
}

TEST(ThreadPool, ZeroWorkersIsRejected) {
  EXPECT_THROW(ThreadPoolExecutor(0), std::invalid_argument);
}

TEST(ThreadPool, DefaultMaxWorkersFollowsPython) {
  auto expected = std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4);
  EXPECT_EQ(ThreadPoolExecutor::default_max_workers(), expected);
  ThreadPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), expected);
}

TEST(ThreadPool, WorkersCarryTheirNamesInTheOs) {
  ThreadPoolExecutor pool(1, "crunch");
  EXPECT_EQ(pool.submit(tandem::current_thread_name).result(), "crunch_0");
  EXPECT_EQ(pool.submit(os_thread_name).result(), "crunch_0");
}

TEST(ThreadPool, DefaultNamesAreShortenedForTheOsKeepingTheIndex) {
  ThreadPoolExecutor pool(1);
  auto full = pool.submit(tandem::current_thread_name).result();
  EXPECT_EQ(full.rfind("ThreadPoolExecutor-", 0), 0u) << full;
  auto os = pool.submit(os_thread_name).result();
  EXPECT_LE(os.size(), 15u);
  EXPECT_EQ(os.substr(os.size() - 2), "_0") << os;
}

TEST(ThreadPool, InitializerRunsOncePerWorkerBeforeTasks) {
  std::atomic<int> inits{0};
  thread_local bool initialized = false;
  ThreadPoolExecutor pool(2, "init", [&] {
    initialized = true;
    ++inits;
  });
  EXPECT_TRUE(pool.submit([] { return initialized; }).result());
  pool.shutdown();
  EXPECT_GE(inits.load(), 1);
  EXPECT_LE(inits.load(), 2);
}

TEST(ThreadPool, FailingInitializerBreaksThePool) {
  ThreadPoolExecutor pool(1, "broken", [] { throw std::runtime_error("no database"); });
  auto f = pool.submit(square, 2);
  try {
    f.result();
    FAIL() << "expected BrokenExecutor";
  } catch (const tandem::BrokenExecutor& e) {
    EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pool.submit(square, 3), tandem::BrokenExecutor);
}

TEST(ThreadPool, SubmitAfterShutdownGivesAClearError) {
  ThreadPoolExecutor pool(1);
  pool.shutdown();
  try {
    pool.submit(square, 1);
    FAIL() << "expected ShutdownError";
  } catch (const tandem::ShutdownError& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  EXPECT_THROW(pool.map(square, std::vector{1, 2}), tandem::ShutdownError);
}

TEST(ThreadPool, ShutdownWaitRunsQueuedTasks) {
  ThreadPoolExecutor pool(1);
  tandem::Event gate;
  auto blocker = pool.submit([&] { gate.wait(); });
  std::vector<Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit(square, i));
  gate.set();
  pool.shutdown(/*wait=*/true);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(queued[i].done());
    EXPECT_EQ(queued[i].result(), i * i);
  }
}

TEST(ThreadPool, ShutdownCancelFuturesCancelsOnlyPendingTasks) {
  ThreadPoolExecutor pool(1);
  tandem::Event started, gate;
  auto running = pool.submit([&] {
    started.set();
    gate.wait();
    return 1;
  });
  started.wait();
  std::vector<Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit(square, i));
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  for (auto& f : queued) {
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.result(), tandem::CancelledError);
  }
  EXPECT_FALSE(running.cancelled());
  gate.set();
  EXPECT_EQ(running.result(), 1);
}

TEST(ThreadPool, CancelPendingTaskPreventsItFromRunning) {
  ThreadPoolExecutor pool(1);
  tandem::Event started, gate;
  std::atomic<bool> ran{false};
  auto blocker = pool.submit([&] {
    started.set();
    gate.wait();
  });
  started.wait();
  auto victim = pool.submit([&] { ran = true; });
  EXPECT_TRUE(victim.cancel());
  EXPECT_FALSE(blocker.cancel()) << "a running task cannot be cancelled";
  gate.set();
  pool.shutdown();
  EXPECT_FALSE(ran.load());
  EXPECT_TRUE(victim.cancelled());
}

TEST(ThreadPool, DestructorWaitsForRunningTasks) {
  std::atomic<int> done{0};
  {
    ThreadPoolExecutor pool(2);
    for (int i = 0; i < 100; ++i) pool.submit([&] { ++done; });
  }
  EXPECT_EQ(done.load(), 100);
}

TEST(ThreadPool, ATaskWaitingOnItsOwnPoolDoesNotDeadlock) {
  // One worker: the outer task can only finish if the worker runs the inner task while waiting.
  ThreadPoolExecutor pool(1);
  auto outer = pool.submit([&pool] {
    auto inner = pool.submit(square, 6);
    return inner.result() + 1;
  });
  EXPECT_EQ(outer.result(), 37);
}

TEST(ThreadPool, ShutdownFromInsideATaskDoesNotDeadlock) {
  ThreadPoolExecutor pool(1);
  auto f = pool.submit([&pool] {
    pool.shutdown(/*wait=*/true);
    return 1;
  });
  EXPECT_EQ(f.result(), 1);
}

TEST(ThreadPool, DoneCallbackSeesTheResultOnTheWorker) {
  ThreadPoolExecutor pool(1, "cb");
  tandem::Event called;
  std::string where;
  tandem::Event gate;
  auto f = pool.submit([&] {
    gate.wait();
    return 4;
  });
  f.add_done_callback([&](Future<int> g) {
    where = tandem::current_thread_name() + ":" + std::to_string(g.result());
    called.set();
  });
  gate.set();
  called.wait();
  EXPECT_EQ(where, "cb_0:4");
}

// ---- map ------------------------------------------------------------------------------------------

TEST(ThreadPoolMap, ResultsComeInInputOrder) {
  ThreadPoolExecutor pool(3);
  std::vector<int> input(100);
  for (int i = 0; i < 100; ++i) input[i] = i;
  for (std::size_t chunk : {1u, 7u, 100u, 1000u}) {
    auto out = pool.map(square, input, chunk).to_vector();
    ASSERT_EQ(out.size(), input.size()) << "chunksize " << chunk;
    for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], i * i) << "chunksize " << chunk;
  }
}

TEST(ThreadPoolMap, IsALazyRange) {
  ThreadPoolExecutor pool(2);
  int n = 0;
  for (int v : pool.map([](int x) { return x + 1; }, std::vector{10, 20, 30})) {
    EXPECT_EQ(v, (n + 1) * 10 + 1);
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(ThreadPoolMap, RethrowsTheFirstFailingItemWhenReached) {
  ThreadPoolExecutor pool(2);
  auto results = pool.map(fail_on_three, std::vector{1, 2, 3, 4});
  std::vector<int> seen;
  try {
    for (int v : results) seen.push_back(v);
    FAIL() << "expected the item 3 to throw";
  } catch (const std::domain_error&) {
  }
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
}

TEST(ThreadPoolMap, EmptyInputAndVoidFunctions) {
  ThreadPoolExecutor pool(2);
  EXPECT_TRUE(pool.map(square, std::vector<int>{}).to_vector().empty());
  std::atomic<int> calls{0};
  auto units = pool.map([&](int) { ++calls; }, std::vector{1, 2, 3}, 2).to_vector();
  EXPECT_EQ(units.size(), 3u);
  EXPECT_EQ(calls.load(), 3);
}

TEST(ThreadPoolMap, BoolResultsWork) {
  // vector<bool> hands out proxies, not bool&: the range must still iterate and collect.
  ThreadPoolExecutor pool(2);
  auto is_even = [](int x) { return x % 2 == 0; };
  std::vector<bool> seen;
  for (bool b : pool.map(is_even, std::vector{1, 2, 3, 4}, 3)) seen.push_back(b);
  EXPECT_EQ(seen, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(pool.map(is_even, std::vector{6, 7}).to_vector(), (std::vector<bool>{true, false}));
}

TEST(ThreadPoolMap, ZeroChunksizeIsRejected) {
  ThreadPoolExecutor pool(1);
  EXPECT_THROW(pool.map(square, std::vector{1}, 0), std::invalid_argument);
}

TEST(ThreadPoolMap, DroppingTheRangeCancelsChunksNotStarted) {
  ThreadPoolExecutor pool(1);
  tandem::Event started, gate;
  auto blocker = pool.submit([&] {
    started.set();
    gate.wait();
  });
  started.wait();
  std::atomic<int> calls{0};
  {
    auto results = pool.map([&](int x) { return calls += x; }, std::vector{1, 1, 1, 1});
  }
  gate.set();
  pool.shutdown();
  EXPECT_EQ(calls.load(), 0);
}

TEST(ThreadPool, SatisfiesTheExecutorConcept) { static_assert(tandem::Executor<ThreadPoolExecutor>); }

TEST(ThreadPool, CallbacksRegisteredWhileTasksCompleteRunExactlyOnce) {
  // Registration races with the worker's lock-free completion: every callback must run once, either
  // at completion or at once on registration.
  ThreadPoolExecutor pool(2);
  std::atomic<int> calls{0};
  std::vector<Future<int>> fs;
  for (int i = 0; i < 2000; ++i) {
    fs.push_back(pool.submit(square, i % 7));
    fs.back().add_done_callback([&](Future<int>) { ++calls; });
  }
  auto r = tandem::wait(fs);
  EXPECT_EQ(r.done.size(), fs.size());
  pool.shutdown();
  EXPECT_EQ(calls.load(), 2000);
}

// A queue holds its task without a reference (a bit of the state word): the last of the handles and the
// queue frees the state. These run under ASan, which reports a use after free or a leak.
TEST(ThreadPool, FuturesDroppedWhileTheirTasksAreQueuedStillRunTheTasks) {
  ThreadPoolExecutor pool(1);
  tandem::Event started, gate;
  auto blocker = pool.submit([&] {
    started.set();
    gate.wait();
  });
  started.wait();
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) pool.submit([&] { ++ran; });  // each future dropped at once
  gate.set();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPool, ACallbackMayKeepAHandleToATaskWhoseFutureWasDropped) {
  ThreadPoolExecutor pool(1);
  tandem::Event started, gate, called;
  auto blocker = pool.submit([&] {
    started.set();
    gate.wait();
  });
  started.wait();
  Future<int> kept;
  // The only handle is a temporary: the task waits in the queue with no handle left, then its callback
  // makes one, which must outlive the queue's hold.
  pool.submit(square, 9).add_done_callback([&](Future<int> f) {
    kept = f;
    called.set();
  });
  gate.set();
  called.wait();
  pool.shutdown();
  EXPECT_EQ(kept.result(), 81);
}

TEST(ThreadPool, CancelledTasksWithNoHandleLeftAreFreedByTheQueue) {
  ThreadPoolExecutor pool(1);
  tandem::Event started, gate;
  auto blocker = pool.submit([&] {
    started.set();
    gate.wait();
  });
  started.wait();
  std::atomic<int> callbacks{0};
  for (int i = 0; i < 10; ++i) pool.submit(square, i).add_done_callback([&](Future<int> f) {
    if (f.cancelled()) ++callbacks;
  });
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  gate.set();
  pool.shutdown();
  EXPECT_EQ(callbacks.load(), 10);
}

TEST(ThreadPool, OverAlignedAndLargeArgumentsKeepTheirAlignment) {
  // Task states come from a per-thread cache of 16-byte-aligned blocks up to 512 bytes; an over-aligned
  // state takes the aligned operator new, a large one plain operator new.
  struct alignas(64) Aligned {
    char bytes[64];
  };
  struct Large {
    char bytes[2048];
  };
  ThreadPoolExecutor pool(2);
  for (int i = 0; i < 100; ++i) {
    Aligned a{};
    a.bytes[0] = static_cast<char>(i);
    auto f = pool.submit(
        [](const Aligned& x) { return reinterpret_cast<std::uintptr_t>(&x) % 64 == 0 ? x.bytes[0] : -1; }, a);
    Large l{};
    l.bytes[2047] = static_cast<char>(i);
    auto g = pool.submit([](const Large& x) { return x.bytes[2047]; }, l);
    EXPECT_EQ(f.result(), static_cast<char>(i));
    EXPECT_EQ(g.result(), static_cast<char>(i));
  }
}
