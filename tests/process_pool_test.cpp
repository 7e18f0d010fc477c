// ProcessPoolExecutor: results, map, errors, crash isolation, timeouts, shutdown, no leaks.
#include "tandem/process_pool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tandem/ipc/synchronize.hpp"


namespace {

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ProcessPoolExecutor;

static_assert(tandem::Executor<ProcessPoolExecutor>);

int square(int x) { return x * x; }
bool check_chunk(std::uint64_t n, std::uint64_t lo, std::uint64_t hi) {
  for (std::uint64_t d = lo; d <= hi; ++d)
    if (d > 1 && n % d == 0) return true;
  return false;
}
std::string greet(std::string name, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += "hi " + name + ";";
  return out;
}
int first_divisor(std::uint64_t n, std::uint64_t lo, std::uint64_t hi) {
  for (std::uint64_t d = lo; d <= hi; ++d)
    if (d > 1 && n % d == 0) return static_cast<int>(d);
  return 0;
}
std::pair<bool, double> pair_result(int x) { return {x % 2 == 0, x / 2.0}; }
void nothing(int) {}
int fail_with(int x) {
  if (x < 0) throw std::invalid_argument("negative: " + std::to_string(x));
  return x;
}
int my_pid() { return static_cast<int>(getpid()); }

// Fault injection: 0 ok, 1 abort(), 2 SIGKILL on itself, 3 exit(3).
int faulty(int i, int mode) {
  if (mode == 1) std::abort();
  if (mode == 2) raise(SIGKILL);
  if (mode == 3) std::exit(3);
  return i;
}
int block_until(tandem::ipc::Event e) {
  e.wait();
  return 1;
}

int signal_then_block(tandem::ipc::Event started, tandem::ipc::Event gate) {
  started.set();
  gate.wait();
  return 1;
}

int initialized_value = 0;
void init_worker() { initialized_value = 42; }
int read_initialized() { return initialized_value; }
void init_throws() { throw std::runtime_error("no database"); }

bool under_tsan() {
#if defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

ProcessPoolExecutor::Options small(std::size_t workers = 2) {
  ProcessPoolExecutor::Options o;
  o.max_workers = workers;
  return o;
}

// One worker, busy with `running` until gate.set(): what is submitted meanwhile waits its turn.
struct BusyPool {
  tandem::ipc::Event gate{tandem::ipc::named}, started{tandem::ipc::named};
  ProcessPoolExecutor pool{small(1)};
  Future<int> running = pool.submit(&signal_then_block, started, gate);

  BusyPool() { EXPECT_TRUE(started.wait(std::chrono::seconds(60))); }
  std::vector<Future<int>> queue_squares(int n) {
    std::vector<Future<int>> fs;
    for (int i = 0; i < n; ++i) fs.push_back(pool.submit(&square, i));
    return fs;
  }
};

TEST(ProcessPool, SubmitReturnsTheFunctionsResult) {
  ProcessPoolExecutor pool(small());
  Future<int> f = pool.submit(&square, 7);
  EXPECT_EQ(f.result(), 49);
  EXPECT_EQ(pool.submit(&check_chunk, std::uint64_t{91}, std::uint64_t{3}, std::uint64_t{9}).result(), true);
  EXPECT_EQ(pool.submit(&greet, "bob", 2).result(), "hi bob;hi bob;");
  auto [even, half] = pool.submit(&pair_result, 5).result();
  EXPECT_FALSE(even);
  EXPECT_DOUBLE_EQ(half, 2.5);
  pool.submit(&nothing, 1).result();
  EXPECT_EQ(pool.submit([](int a, int b) { return a - b; }, 10, 3).result(), 7);
}

TEST(ProcessPool, ManyTasksAllComplete) {
  ProcessPoolExecutor pool(small());
  std::vector<Future<int>> fs;
  for (int i = 0; i < 2000; ++i) fs.push_back(pool.submit(&square, i));
  long long sum = 0, expected = 0;
  for (int i = 0; i < 2000; ++i) {
    sum += fs[i].result();
    expected += static_cast<long long>(i) * i;
  }
  EXPECT_EQ(sum, expected);
}

TEST(ProcessPool, MapKeepsInputOrderWithAnyChunkSize) {
  ProcessPoolExecutor pool(small());
  std::vector<int> in;
  for (int i = 0; i < 1000; ++i) in.push_back(i);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{5000}}) {
    auto out = pool.map(&square, in, chunk).to_vector();
    ASSERT_EQ(out.size(), in.size());
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[i], i * i) << "chunksize " << chunk;
  }
  EXPECT_TRUE(pool.map(&square, std::vector<int>{}, 4).to_vector().empty());
}

TEST(ProcessPool, MapSpreadsTupleItemsOverParameters) {
  ProcessPoolExecutor pool(small());
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> chunks{{91, 3, 9}, {97, 3, 9}, {15, 2, 3}};
  auto out = pool.map(&first_divisor, chunks, 2).to_vector();
  EXPECT_EQ(out, (std::vector<int>{7, 0, 3}));
  auto voids = pool.map(&nothing, std::vector<int>{1, 2, 3}, 2).to_vector();
  EXPECT_EQ(voids.size(), 3u);
}

TEST(ProcessPool, AnExceptionComesBackWithItsTypeAndMessage) {
  ProcessPoolExecutor pool(small(1));
  auto f = pool.submit(&fail_with, -3);
  try {
    f.result();
    FAIL() << "expected RemoteError";
  } catch (const tandem::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "std::invalid_argument");
    EXPECT_EQ(e.message(), "negative: -3");
    EXPECT_STREQ(e.what(), "std::invalid_argument: negative: -3");
  }
  EXPECT_EQ(pool.submit(&fail_with, 4).result(), 4);  // the worker survives its task's exception
  auto m = pool.map(&fail_with, std::vector<int>{1, 2, -1, 4}, 1);
  auto it = m.begin();
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_EQ(*it, 2);
  EXPECT_THROW(++it, tandem::RemoteError);
}

TEST(ProcessPool, ACrashFailsOnlyThatTaskWithTheSignalOrExitCode) {
  ProcessPoolExecutor pool(small());
  auto aborted = pool.submit(&faulty, 1, 1);
  auto killed = pool.submit(&faulty, 2, 2);
  auto exited = pool.submit(&faulty, 3, 3);
  auto fine = pool.submit(&faulty, 4, 0);
  try {
    aborted.result();
    FAIL();
  } catch (const tandem::WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGABRT);
    EXPECT_NE(std::string(e.what()).find("SIGABRT"), std::string::npos) << e.what();
  }
  try {
    killed.result();
    FAIL();
  } catch (const tandem::WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGKILL);
    EXPECT_EQ(e.exitcode(), -SIGKILL);
  }
  try {
    exited.result();
    FAIL();
  } catch (const tandem::WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), 0);
    EXPECT_EQ(e.exit_code(), 3);
    EXPECT_NE(std::string(e.what()).find("exited with code 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fine.result(), 4);
  EXPECT_EQ(pool.submit(&square, 5).result(), 25);  // still usable
  EXPECT_GE(pool.workers_replaced(), 3u);
}

TEST(ProcessPool, FaultInjectionExactlyTheCrashingTasksFail) {
  ProcessPoolExecutor pool(small());
  constexpr int kTasks = 1000;
  std::vector<Future<int>> fs;
  std::vector<int> modes;
  for (int i = 0; i < kTasks; ++i) {
    int mode = (i % 20 == 7) ? (i % 40 == 7 ? 1 : 2) : 0;  // 5 %: half abort(), half SIGKILL
    modes.push_back(mode);
    fs.push_back(pool.submit(&faulty, i, mode));
  }
  int crashed = 0;
  for (int i = 0; i < kTasks; ++i) {
    if (modes[i] == 0) {
      EXPECT_EQ(fs[i].result(), i);
    } else {
      try {
        fs[i].result();
        ADD_FAILURE() << "task " << i << " should have crashed";
      } catch (const tandem::WorkerCrashed& e) {
        EXPECT_EQ(e.signal(), modes[i] == 1 ? SIGABRT : SIGKILL);
        ++crashed;
      }
    }
  }
  EXPECT_EQ(crashed, kTasks / 20);
  EXPECT_EQ(pool.submit(&square, 3).result(), 9);
}

TEST(ProcessPool, ATaskPastItsTimeoutIsKilledAndTheWorkerReplaced) {
  ProcessPoolExecutor pool(small());
  tandem::ipc::Event never(tandem::ipc::named);
  auto slow = pool.submit_with({.timeout = 50ms}, &block_until, never);
  std::vector<Future<int>> others;
  for (int i = 0; i < 50; ++i) others.push_back(pool.submit(&square, i));
  EXPECT_THROW(slow.result(), tandem::TimeoutError);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(others[i].result(), i * i);
  EXPECT_EQ(pool.submit(&square, 6).result(), 36);
}

TEST(ProcessPool, ThePoolWideTimeoutAppliesToEveryTask) {
  auto o = small(1);
  o.task_timeout = 50ms;
  ProcessPoolExecutor pool(o);
  tandem::ipc::Event never(tandem::ipc::named);
  auto slow = pool.submit(&block_until, never);
  auto fast = pool.submit(&square, 2);
  EXPECT_THROW(slow.result(), tandem::TimeoutError);
  EXPECT_EQ(fast.result(), 4);
}

TEST(ProcessPool, InitializerRunsInEveryWorker) {
  auto o = small();
  o.initializer = &init_worker;
  ProcessPoolExecutor pool(o);
  EXPECT_EQ(pool.submit(&read_initialized).result(), 42);
}

TEST(ProcessPool, AFailingInitializerBreaksThePool) {
  auto o = small();
  o.initializer = &init_throws;
  ProcessPoolExecutor pool(o);
  try {
    pool.submit(&square, 2).result();  // submit itself throws if the pool broke already
    FAIL();
  } catch (const tandem::BrokenExecutor& e) {
    EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pool.submit(&square, 2), tandem::BrokenExecutor);
}

TEST(ProcessPool, MaxTasksPerChildReplacesWorkers) {
  auto o = small(1);
  o.max_tasks_per_child = 2;
  ProcessPoolExecutor pool(o);
  std::vector<Future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(pool.submit(&my_pid));
  std::set<int> pids;
  for (auto& f : fs) pids.insert(f.result());
  EXPECT_EQ(pids.size(), 3u);
}

TEST(ProcessPool, ShutdownRefusesNewWorkAndCanCancelPending) {
  BusyPool busy;
  auto& [gate, started, pool, running] = busy;
  auto queued = busy.queue_squares(100);
  pool.shutdown(false, true);
  EXPECT_THROW(pool.submit(&square, 1), tandem::ShutdownError);
  gate.set();
  EXPECT_EQ(running.result(), 1);
  int cancelled = 0;
  for (auto& f : queued) {
    f.wait();
    if (f.cancelled()) ++cancelled;
    else EXPECT_TRUE(f.done());
  }
  EXPECT_GT(cancelled, 0);  // those still queued in the parent (not prefetched into the ring)
  pool.shutdown();
}

// Done-callbacks run on the manager thread, which shutdown(wait=true) would have to wait for: a clear
// std::logic_error (CPython: RuntimeError "cannot join current thread"), and the pool is left as it was.
TEST(ProcessPool, ShutdownWaitingFromADoneCallbackIsALogicErrorAndChangesNothing) {
  BusyPool busy;  // running: the callback is registered before the future is done
  auto& [gate, started, pool, f] = busy;
  std::promise<std::pair<std::thread::id, std::string>> seen;
  f.add_done_callback([&](const Future<int>&) {
    try {
      pool.shutdown(true);
      seen.set_value({std::this_thread::get_id(), "shutdown returned"});
    } catch (const std::logic_error& e) {
      seen.set_value({std::this_thread::get_id(), e.what()});
    }
  });
  gate.set();
  auto [thread, what] = seen.get_future().get();
  EXPECT_NE(thread, std::this_thread::get_id());  // the manager thread, not ours
  EXPECT_NE(what.find("done-callback"), std::string::npos) << what;
  EXPECT_NE(what.find("shutdown(false)"), std::string::npos) << what;
  EXPECT_EQ(pool.submit(&square, 4).result(), 16);  // not shut down
}

TEST(ProcessPool, ShutdownWithoutWaitingFromADoneCallbackStillFinishesEveryTask) {
  BusyPool busy;
  auto& [gate, started, pool, first] = busy;
  auto queued = busy.queue_squares(20);
  first.add_done_callback([&](const Future<int>&) { pool.shutdown(false); });
  gate.set();
  EXPECT_EQ(first.result(), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].result(), i * i);
  EXPECT_THROW(pool.submit(&square, 1), tandem::ShutdownError);
}

// The callback holds the pool's last owner: the destructor runs on the manager thread, cannot wait for
// it, and leaves the manager to finish the tasks, reap the workers and free the pool.
TEST(ProcessPool, DestroyedInADoneCallbackItFinishesItsTasksAndReapsItsWorkers) {
  tandem::ipc::Event gate(tandem::ipc::named), started(tandem::ipc::named);
  auto pool = std::make_shared<ProcessPoolExecutor>(small(1));
  auto first = pool->submit(&signal_then_block, started, gate);
  ASSERT_TRUE(started.wait(60s));
  std::vector<Future<int>> queued;
  for (int i = 0; i < 20; ++i) queued.push_back(pool->submit(&square, i));
  const std::vector<pid_t> workers = pool->worker_pids();
  ASSERT_EQ(workers.size(), 1u);
  std::promise<std::thread::id> destroyed_on;
  first.add_done_callback([owner = pool, &destroyed_on](const Future<int>&) mutable {
    owner.reset();  // the last owner: ~ProcessPoolExecutor on the manager thread
    destroyed_on.set_value(std::this_thread::get_id());
  });
  pool.reset();
  gate.set();
  EXPECT_NE(destroyed_on.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(first.result(), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].result(), i * i);
  // The manager reaps the worker on its own: the pid disappears (a zombie would still answer kill 0).
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (kill(workers[0], 0) == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(kill(workers[0], 0), -1) << "worker " << workers[0] << " was not reaped";
}

TEST(ProcessPool, ForkStartMethodWorksToo) {
  if (under_tsan()) GTEST_SKIP() << "TSan: fork of a multithreaded process is unsupported";
  auto o = small();
  o.start_method = tandem::StartMethod::fork;
  ProcessPoolExecutor pool(o);
  EXPECT_EQ(pool.submit(&square, 9).result(), 81);
  EXPECT_THROW(pool.submit(&faulty, 1, 2).result(), tandem::WorkerCrashed);
  EXPECT_EQ(pool.map(&square, std::vector<int>{1, 2, 3}, 2).to_vector(), (std::vector<int>{1, 4, 9}));
}

TEST(ProcessPool, SubmitFromManyThreadsAtOnce) {
  ProcessPoolExecutor pool(small());
  std::vector<std::thread> threads;
  std::vector<long long> sums(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&pool, &sums, t] {
      std::vector<Future<int>> fs;
      for (int i = 0; i < 200; ++i) fs.push_back(pool.submit(&square, i));
      for (auto& f : fs) sums[t] += f.result();
    });
  for (auto& th : threads) th.join();
  for (long long s : sums) EXPECT_EQ(s, 2646700);  // sum of squares below 200
}

TEST(ProcessPool, FuturesWorkWithAsCompletedAndCancel) {
  ProcessPoolExecutor pool(small(1));
  tandem::ipc::Event gate(tandem::ipc::named), started(tandem::ipc::named);
  std::vector<Future<int>> fs;
  fs.push_back(pool.submit(&signal_then_block, started, gate));
  ASSERT_TRUE(started.wait(60s));
  for (int i = 0; i < 40; ++i) fs.push_back(pool.submit(&square, i));
  EXPECT_TRUE(fs.back().cancel());  // still queued in the parent: cancellable, as in Python
  gate.set();
  int done = 0, cancelled = 0;
  for (auto& f : tandem::as_completed(fs)) {
    if (f.cancelled()) ++cancelled;
    else ++done;
  }
  EXPECT_EQ(cancelled, 1);
  EXPECT_EQ(done, 40);
}

std::string echo(std::string s) { return s; }
std::string grow(std::size_t n) { return std::string(n, 'g'); }

TEST(ProcessPool, OversizedTasksAndResultsAreRefusedClearly) {
  auto o = small(1);
  o.ring_bytes = 4096;
  ProcessPoolExecutor pool(o);
  EXPECT_THROW(pool.submit(&echo, std::string(10000, 'x')), std::length_error);
  try {
    pool.submit(&grow, std::size_t{10000}).result();
    FAIL();
  } catch (const tandem::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "std::length_error");
  }
  EXPECT_EQ(pool.submit(&echo, std::string(1000, 'y')).result().size(), 1000u);
}

// ---- the startup window: a worker that dies before its loop is replaced, not fatal ----

// Holds every worker in its initializer while the file named by TANDEM_TEST_INIT_GATE exists, so that a
// test can kill workers that are certainly still starting.
void init_behind_gate() {
  const char* gate = std::getenv("TANDEM_TEST_INIT_GATE");
  while (gate && access(gate, F_OK) == 0) usleep(1000);
}
void init_aborts() { std::abort(); }

struct InitGate {
  std::string path = "/tmp/tandem_init_gate_" + std::to_string(getpid());
  InitGate() {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f) std::fclose(f);
    setenv("TANDEM_TEST_INIT_GATE", path.c_str(), 1);
  }
  void open() { unlink(path.c_str()); }
  ~InitGate() {
    open();
    unsetenv("TANDEM_TEST_INIT_GATE");
  }
};

std::vector<pid_t> wait_for_workers(ProcessPoolExecutor& pool, std::size_t n) {
  std::vector<pid_t> pids;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while ((pids = pool.worker_pids()).size() < n && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(1ms);
  return pids;
}

TEST(ProcessPool, AWorkerKilledWhileStartingIsReplacedAndThePoolStaysUsable) {
  InitGate gate;
  auto o = small(2);
  o.initializer = &init_behind_gate;
  ProcessPoolExecutor pool(o);
  std::vector<Future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(&square, i));
  // Kill each starting worker a few times (fewer than the respawn bound), then let them start.
  std::set<pid_t> killed;
  for (int round = 0; round < 3; ++round) {
    for (pid_t pid : wait_for_workers(pool, 2)) {
      if (killed.insert(pid).second) {
        ASSERT_EQ(kill(pid, SIGKILL), 0);
      }
    }
    const auto give_up = std::chrono::steady_clock::now() + 60s;  // a bound on a hang, not a timing check
    while (pool.workers_replaced() < killed.size() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(1ms);
    ASSERT_GE(pool.workers_replaced(), killed.size()) << "workers killed while starting were not replaced";
  }
  gate.open();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[i].result(), i * i);
  EXPECT_EQ(pool.submit(&square, 7).result(), 49);
  EXPECT_GE(pool.workers_replaced(), 6u);
}

TEST(ProcessPool, WorkersThatCannotStartBreakThePoolSayingWhy) {
  auto o = small(2);
  o.initializer = &init_aborts;
  ProcessPoolExecutor pool(o);
  try {
    pool.submit(&square, 3).result();
    FAIL() << "expected BrokenExecutor";
  } catch (const tandem::BrokenExecutor& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot start"), std::string::npos) << what;
    EXPECT_NE(what.find("in a row"), std::string::npos) << what;
    EXPECT_NE(what.find("SIGABRT"), std::string::npos) << what;
  }
  EXPECT_THROW(pool.submit(&square, 2), tandem::BrokenExecutor);
}

// The first worker to start hangs in its initializer for good; the others start normally.
void init_first_one_hangs() {
  const char* marker = std::getenv("TANDEM_TEST_HANG_MARKER");
  if (!marker) return;
  int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
  if (fd < 0) return;
  close(fd);
  for (;;) pause();
}

TEST(ProcessPool, AWorkerThatHangsWhileStartingHoldsNoTask) {
  const std::string marker = "/tmp/tandem_hang_marker_" + std::to_string(getpid());
  unlink(marker.c_str());
  setenv("TANDEM_TEST_HANG_MARKER", marker.c_str(), 1);
  {
    auto o = small(2);
    o.initializer = &init_first_one_hangs;
    ProcessPoolExecutor pool(o);
    std::vector<Future<int>> fs;
    for (int i = 0; i < 40; ++i) fs.push_back(pool.submit(&square, i));
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(fs[i].wait_for(60s)) << "task " << i << " waits behind a worker that never started";
      EXPECT_EQ(fs[i].result(), i * i);
    }
    for (pid_t p : pool.worker_pids()) kill(p, SIGKILL);  // the hung one too, so shutdown is quick
  }
  unsetenv("TANDEM_TEST_HANG_MARKER");
  unlink(marker.c_str());
}

// ---- a task that closes its worker's descriptors ----

int close_inherited_fds(int x) {
  syscall(SYS_close_range, 3u, ~0u, 0u);
  return x + 1;
}

TEST(ProcessPool, ATaskThatClosesItsWorkersDescriptorsDoesNotStallResults) {
  ProcessPoolExecutor pool(small(1));
  std::vector<Future<int>> fs;
  for (int i = 0; i < 51; ++i) fs.push_back(pool.submit(&close_inherited_fds, i));
  for (int i = 0; i < 51; ++i) {
    ASSERT_TRUE(fs[i].wait_for(60s)) << "task " << i << " never resolved";
    EXPECT_EQ(fs[i].result(), i + 1);
  }
  EXPECT_EQ(pool.submit(&square, 5).result(), 25);
}

// ---- a task waiting in a worker's ring is pending, and cancellable ----

TEST(ProcessPool, ATaskQueuedInAWorkersRingStaysCancellableUntilTheWorkerTakesIt) {
  tandem::ipc::Event gate(tandem::ipc::named), started1(tandem::ipc::named), started2(tandem::ipc::named);
  ProcessPoolExecutor pool(small(2));
  auto b1 = pool.submit(&signal_then_block, started1, gate);
  auto b2 = pool.submit(&signal_then_block, started2, gate);
  ASSERT_TRUE(started1.wait(60s));
  ASSERT_TRUE(started2.wait(60s));
  std::vector<Future<int>> queued;
  for (int i = 0; i < 30; ++i) queued.push_back(pool.submit(&square, i));  // prefetched into the rings
  EXPECT_FALSE(queued.back().running());
  EXPECT_TRUE(queued.back().cancel());
  EXPECT_TRUE(queued.back().cancelled());
  EXPECT_FALSE(b1.cancel()) << "a task a worker has taken is running";
  pool.shutdown(false, true);
  gate.set();
  EXPECT_EQ(b1.result(), 1);
  EXPECT_EQ(b2.result(), 1);
  for (auto& f : queued) {
    ASSERT_TRUE(f.wait_for(60s));
    EXPECT_TRUE(f.cancelled()) << "shutdown(cancel_futures) ran a task no worker had taken";
  }
  pool.shutdown();
}

// ---- ring_bytes and oversize arguments ----

TEST(ProcessPool, ARingLargerThanOneGibIsRefusedAtConstruction) {
  auto o = small(1);
  o.ring_bytes = (std::size_t{1} << 30) + 1;
  try {
    ProcessPoolExecutor pool(o);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ring_bytes"), std::string::npos) << e.what();
  }
}

// Counts the elements the codec has packed, to see where encoding stopped.
std::atomic<long> packed_elements{0};
struct Counted {
  int v = 0;
};

}  // namespace
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<Counted> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const Counted& c) const {
      packed_elements.fetch_add(1);
      return o.pack(c.v);
    }
  };
  template <>
  struct convert<Counted> {
    const msgpack::object& operator()(const msgpack::object& o, Counted& c) const {
      c.v = o.as<int>();
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
namespace {

std::size_t count_items(std::vector<Counted> items) { return items.size(); }

TEST(ProcessPool, AnOversizeArgumentIsRefusedWhileItIsEncoded) {
  auto o = small(1);
  o.ring_bytes = 4096;
  ProcessPoolExecutor pool(o);
  std::vector<Counted> big(1'000'000, Counted{7});
  packed_elements = 0;
  try {
    pool.submit(&count_items, big);
    FAIL() << "expected std::length_error";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("ring_bytes"), std::string::npos) << e.what();
  }
  EXPECT_LT(packed_elements.load(), 5000) << "the whole argument was encoded before it was refused";
  std::vector<Counted> small_items(100, Counted{1});
  EXPECT_EQ(pool.submit(&count_items, small_items).result(), 100u);
  EXPECT_THROW(pool.map(&square, std::vector<int>(100'000, 1), 100'000), std::length_error);
}

std::set<std::string> list_dir(const char* path) {
  std::set<std::string> out;
  if (DIR* d = opendir(path)) {
    while (auto* e = readdir(d)) out.insert(e->d_name);
    closedir(d);
  }
  return out;
}

// This process's segments in /dev/shm (tandem names carry the creator's pid), so that tests running
// in parallel in other processes do not disturb the comparison.
std::set<std::string> my_segments() {
  std::set<std::string> out;
  const std::string prefix = "tandem_" + std::to_string(getpid()) + "_";
  for (const auto& n : list_dir("/dev/shm"))
    if (n.rfind(prefix, 0) == 0) out.insert(n);
  return out;
}

TEST(ProcessPool, LeavesNoZombiesSegmentsOrDescriptors) {
  // The first named segment starts this process's resource tracker, whose socket stays open for the
  // rest of the process's life (and the tracker is nobody's child): start it before counting.
  tandem::ipc::SharedMemory::create(64);
  auto shm_before = my_segments();
  auto fds_before = list_dir("/proc/self/fd").size();
  {
    ProcessPoolExecutor pool(small());
    tandem::ipc::Event never(tandem::ipc::named);
    auto t = pool.submit_with({.timeout = 20ms}, &block_until, never);
    auto c = pool.submit(&faulty, 1, 2);
    for (int i = 0; i < 100; ++i) pool.submit(&square, i);
    EXPECT_THROW(t.result(), tandem::TimeoutError);
    EXPECT_THROW(c.result(), tandem::WorkerCrashed);
  }
  EXPECT_EQ(my_segments(), shm_before);
  EXPECT_EQ(list_dir("/proc/self/fd").size(), fds_before);
  int status;
  EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);  // no child at all, not even a zombie
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
