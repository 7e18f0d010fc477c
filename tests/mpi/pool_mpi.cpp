// mpi::PoolExecutor under mpirun (ctest: mpirun -n 3, workers are ranks 1 and 2) and as a singleton
// (ctest runs it alone: each pool spawns its workers with MPI_Comm_spawn). Not a *_test.cpp: it needs
// its own main (run_workers_or), and the tests/mpi/extra.cmake entries run it under mpirun.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lab/primes.hpp"
#include "lab/sumsq.hpp"
#include "lab/wordcount.hpp"
#include "tandem/aio.hpp"
#include "tandem/mpi/pool.hpp"

namespace {

int square(int x) { return x * x; }
int whoami(int) { return tandem::mpi::world_rank(); }
long add3(int a, int b, long c) { return a + b + c; }
std::string shout(std::string s, int n) { return s + std::string(static_cast<std::size_t>(n), '!'); }
int fail_on(int x) {
  if (x == 3) throw std::invalid_argument("three is not allowed");
  return x;
}
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
void nothing(int) {}
int die(int) {
  raise(SIGKILL);
  return 0;
}

tandem::mpi::PoolExecutor::Options two_workers() {
  tandem::mpi::PoolExecutor::Options o;
  o.max_workers = 2;
  return o;
}

static_assert(tandem::Executor<tandem::mpi::PoolExecutor>);

TEST(MpiPool, SubmitReturnsResults) {
  tandem::mpi::PoolExecutor pool(two_workers());
  EXPECT_EQ(pool.max_workers(), 2u);
  std::vector<tandem::Future<int>> fs;
  for (int i = 0; i < 100; ++i) fs.push_back(pool.submit(&square, i));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i * i);
  EXPECT_EQ(pool.submit(&add3, 1, 2, 3L).result(), 6);
  EXPECT_EQ(pool.submit(&shout, std::string("hi"), 3).result(), "hi!!!");
  pool.submit(&nothing, 1).result();
  EXPECT_EQ(pool.submit([](int a) { return a + 1; }, 41).result(), 42);
}

TEST(MpiPool, TasksRunOnTheWorkersNotRankZero) {
  tandem::mpi::PoolExecutor pool(two_workers());
  auto ranks = pool.map(&whoami, std::vector<int>(40, 0), 1).to_vector();
  for (int r : ranks) EXPECT_TRUE(pool.spawned() ? r == 0 || r == 1 : r == 1 || r == 2) << r;
  // Spawned workers are ranks 0 and 1 of their own world, so tell them from the client by spawned().
  if (!pool.spawned()) {
    EXPECT_EQ(tandem::mpi::world_rank(), 0);
  }
}

TEST(MpiPool, ExceptionsArriveAsRemoteError) {
  tandem::mpi::PoolExecutor pool(two_workers());
  auto f = pool.submit(&fail_on, 3);
  try {
    f.result();
    FAIL() << "no exception";
  } catch (const tandem::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "std::invalid_argument");
    EXPECT_EQ(e.message(), "three is not allowed");
  }
  EXPECT_EQ(pool.submit(&fail_on, 4).result(), 4);  // the worker is still serving
}

TEST(MpiPool, MapKeepsOrderForEveryChunksize) {
  tandem::mpi::PoolExecutor pool(two_workers());
  std::vector<int> items(1000);
  std::iota(items.begin(), items.end(), 0);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{5000}}) {
    auto out = pool.map(&square, items, chunk).to_vector();
    ASSERT_EQ(out.size(), items.size());
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], items[i] * items[i]) << "chunksize " << chunk;
  }
  std::vector<std::pair<int, std::string>> pairs = {{1, "a"}, {2, "b"}};
  auto spread = pool.map([](int n, std::string s) { return shout(s, n); }, pairs, 1).to_vector();
  EXPECT_EQ(spread, (std::vector<std::string>{"a!", "b!!"}));
  EXPECT_EQ(pool.map(&nothing, items, 100).to_vector().size(), items.size());
  EXPECT_THROW(pool.map(&square, items, 0), std::invalid_argument);
}

TEST(MpiPool, MapRethrowsTheFailingChunk) {
  tandem::mpi::PoolExecutor pool(two_workers());
  auto r = pool.map(&fail_on, std::vector<int>{1, 2, 3, 4}, 2);
  auto it = r.begin();
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_EQ(*it, 2);
  EXPECT_THROW(++it, tandem::RemoteError);
}

TEST(MpiPool, ShutdownCancelFuturesCancelsQueuedTasks) {
  tandem::mpi::PoolExecutor pool(two_workers());
  std::vector<tandem::Future<int>> fs;
  for (int i = 0; i < 40; ++i) fs.push_back(pool.submit(&sleep_ms, 20));
  fs.front().result();  // long tasks: one in flight per worker, the rest queued here
  pool.shutdown(true, true);
  std::size_t cancelled = 0, done = 0;
  for (auto& f : fs) {
    ASSERT_TRUE(f.done());
    if (f.cancelled()) {
      ++cancelled;
      EXPECT_THROW(f.result(), tandem::CancelledError);
    } else {
      ++done;
      EXPECT_EQ(f.result(), 20);
    }
  }
  EXPECT_GT(cancelled, 0u);
  EXPECT_GE(done, 1u);
  EXPECT_THROW(pool.submit(&square, 1), tandem::ShutdownError);
}

TEST(MpiPool, CancelStopsAQueuedTask) {
  tandem::mpi::PoolExecutor pool(two_workers());
  std::vector<tandem::Future<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(pool.submit(&sleep_ms, 30));
  EXPECT_TRUE(fs.back().cancel());
  EXPECT_THROW(fs.back().result(), tandem::CancelledError);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), 30);
}

TEST(MpiPool, TimeoutFailsTheFutureAndThePoolGoesOn) {
  tandem::mpi::PoolExecutor pool(two_workers());
  auto slow = pool.submit_with({.timeout = std::chrono::milliseconds(50)}, &sleep_ms, 1500);
  try {
    slow.result();
    FAIL() << "no timeout";
  } catch (const tandem::TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("on rank"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.submit(&square, 5).result(), 25);  // the other worker serves meanwhile
  auto quick = pool.submit_with({.timeout = std::chrono::seconds(60)}, &square, 6);
  EXPECT_EQ(quick.result(), 36);
}

tandem::aio::Task<int> sum_two(tandem::mpi::PoolExecutor& pool) {
  int a = co_await pool.submit(&square, 3);  // the loop keeps running while the rank computes
  int b = co_await pool.submit(&square, 4);
  co_return a + b;
}

TEST(MpiPool, FuturesAreAwaitable) {
  tandem::mpi::PoolExecutor pool(two_workers());
  EXPECT_EQ(tandem::aio::run(sum_two(pool)), 25);
}

TEST(MpiPool, SeveralThreadsSubmit) {
  tandem::mpi::PoolExecutor pool(two_workers());
  std::vector<std::thread> threads;
  std::vector<long> sums(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) sums[static_cast<std::size_t>(t)] += pool.submit(&square, i).result();
    });
  for (auto& th : threads) th.join();
  for (long s : sums) EXPECT_EQ(s, 40425);
}

TEST(MpiPool, PoolsOneAfterAnother) {
  for (int round = 0; round < 3; ++round) {
    tandem::mpi::PoolExecutor pool(two_workers());
    EXPECT_EQ(pool.submit(&square, round).result(), round * round);
  }
}

// A gate the client opens and a worker rank (same node) waits on: the task is surely running, not done,
// while the test registers its done-callback. Gives up after 60 s rather than hang the job.
int wait_for_file(std::string path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (access(path.c_str(), F_OK) != 0) {
    if (std::chrono::steady_clock::now() > deadline) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 1;
}

class FileGate {
 public:
  FileGate() : path_("/tmp/tandem-mpi-gate-" + std::to_string(getpid()) + "-" + std::to_string(++count_)) {}
  ~FileGate() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  void open() const { std::fclose(std::fopen(path_.c_str(), "w")); }

 private:
  static inline int count_ = 0;
  std::string path_;
};

// Done-callbacks run on the manager thread, which shutdown(wait=true) would have to wait for: a clear
// std::logic_error (CPython: RuntimeError "cannot join current thread"), and the pool is left as it was.
TEST(MpiPool, ShutdownWaitingFromADoneCallbackIsALogicErrorAndChangesNothing) {
  tandem::mpi::PoolExecutor pool(two_workers());
  FileGate gate;
  auto f = pool.submit(&wait_for_file, gate.path());
  std::promise<std::pair<std::thread::id, std::string>> seen;
  f.add_done_callback([&](const tandem::Future<int>&) {
    try {
      pool.shutdown(true);
      seen.set_value({std::this_thread::get_id(), "shutdown returned"});
    } catch (const std::logic_error& e) {
      seen.set_value({std::this_thread::get_id(), e.what()});
    }
  });
  gate.open();
  auto [thread, what] = seen.get_future().get();
  EXPECT_EQ(f.result(), 1);
  EXPECT_NE(thread, std::this_thread::get_id());  // the manager thread, not ours
  EXPECT_NE(what.find("done-callback"), std::string::npos) << what;
  EXPECT_NE(what.find("shutdown(false)"), std::string::npos) << what;
  EXPECT_EQ(pool.submit(&square, 4).result(), 16);  // not shut down
}

TEST(MpiPool, ShutdownWithoutWaitingFromADoneCallbackStillFinishesEveryTask) {
  tandem::mpi::PoolExecutor pool(two_workers());
  FileGate gate;
  auto first = pool.submit(&wait_for_file, gate.path());
  std::vector<tandem::Future<int>> queued;
  for (int i = 0; i < 20; ++i) queued.push_back(pool.submit(&square, i));
  first.add_done_callback([&](const tandem::Future<int>&) { pool.shutdown(false); });
  gate.open();
  EXPECT_EQ(first.result(), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].result(), i * i);
  EXPECT_THROW(pool.submit(&square, 1), tandem::ShutdownError);
}

// The callback holds the pool's last owner: the destructor runs on the manager thread, cannot wait for
// it, and leaves the manager to finish the tasks, release the ranks and free the pool; the next pool
// waits for those ranks (under mpirun, a second pool at once would be refused).
TEST(MpiPool, DestroyedInADoneCallbackItFinishesItsTasksAndTheNextPoolGetsTheRanks) {
  auto pool = std::make_shared<tandem::mpi::PoolExecutor>(two_workers());
  FileGate gate;
  auto first = pool->submit(&wait_for_file, gate.path());
  std::vector<tandem::Future<int>> queued;
  for (int i = 0; i < 20; ++i) queued.push_back(pool->submit(&sleep_ms, 1));
  std::promise<std::thread::id> destroyed_on;
  first.add_done_callback([owner = pool, &destroyed_on](const tandem::Future<int>&) mutable {
    owner.reset();  // the last owner: ~PoolExecutor on the manager thread
    destroyed_on.set_value(std::this_thread::get_id());
  });
  pool.reset();
  gate.open();
  EXPECT_NE(destroyed_on.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(first.result(), 1);
  for (auto& f : queued) EXPECT_EQ(f.result(), 1);
  tandem::mpi::PoolExecutor next(two_workers());
  EXPECT_EQ(next.submit(&square, 7).result(), 49);
}

TEST(MpiPool, RefusesMoreRanksThanMpirunGave) {
  if (tandem::mpi::world_size() == 1) GTEST_SKIP() << "a singleton spawns what it is asked for";
  tandem::mpi::PoolExecutor::Options o;
  o.max_workers = static_cast<std::size_t>(tandem::mpi::world_size());
  EXPECT_THROW(tandem::mpi::PoolExecutor pool(o), std::invalid_argument);
  tandem::mpi::PoolExecutor pool(two_workers());
  EXPECT_THROW(tandem::mpi::PoolExecutor second(two_workers()), std::logic_error);
}

TEST(MpiPool, LabWorkloadsGiveTheSequentialAnswers) {
  tandem::mpi::PoolExecutor pool(two_workers());
  tandem::lab::WordcountJob job;
  job.inputs = tandem::lab::split_generated(512 << 10, 5);
  job.reduce_tasks = 3;
  EXPECT_EQ(tandem::lab::format_counts(tandem::lab::wordcount_parallel(pool, job)),
            tandem::lab::format_counts(tandem::lab::wordcount_sequential(job)));
  EXPECT_EQ(tandem::lab::sumsq_parallel(pool, 100000, 7).sum, tandem::lab::sum_squares_formula(100000));
  const std::vector<std::uint64_t> numbers = {2, 97, 1000003, 1000001, 999999000001};
  auto run = tandem::lab::check_parallel(pool, numbers, {}, 1000);
  auto reference = tandem::lab::check_sequential(numbers);
  ASSERT_EQ(run.results.size(), numbers.size());
  for (auto& r : run.results) {
    auto it = std::find_if(reference.results.begin(), reference.results.end(), [&](auto& x) { return x.n == r.n; });
    ASSERT_NE(it, reference.results.end());
    EXPECT_EQ(r.prime, it->prime) << r.n;
  }
}

// Run by tests/mpi/expect_job_ends.cmake only (it sets TANDEM_MPI_CRASH_TEST): a worker is killed
// mid-task, and the job must end with mpirun naming the rank, rather than rank 0 waiting forever.
TEST(MpiPoolCrash, ARankKilledMidTaskEndsTheJob) {
  if (!std::getenv("TANDEM_MPI_CRASH_TEST")) GTEST_SKIP() << "kills a rank: run by expect_job_ends.cmake";
  tandem::mpi::PoolExecutor pool(two_workers());
  auto f = pool.submit(&die, 0);
  if (pool.spawned()) {  // a singleton outlives its spawned workers: the futures fail, naming the rank
    try {
      f.result();
      FAIL() << "no exception";
    } catch (const tandem::BrokenExecutor& e) {
      EXPECT_NE(std::string(e.what()).find("spawned worker rank"), std::string::npos) << e.what();
    }
    EXPECT_THROW(pool.submit(&square, 1), tandem::BrokenExecutor);
    return;
  }
  f.wait();
  ADD_FAILURE() << "the job outlived a killed rank";
}

}  // namespace

int main(int argc, char** argv) {
  return tandem::mpi::run_workers_or(argc, argv, [&] {
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  });
}
