// External kill chaos: another party SIGKILLs pool workers at random moments, including right after a
// replacement starts (before it reaches its task loop). The pool never breaks; only the tasks that were
// running on a killed worker fail, with WorkerCrashed; every other value is right.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "faults/support.hpp"
#include "tandem/process_pool.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ProcessPoolExecutor;
namespace faults = tandem::faults;

// A worker's startup takes a little longer than an exec, so that the chaos hits the startup window.
void slow_start() { usleep(5000); }

long busy_square(int i) {
  volatile long spin = 0;
  for (int k = 0; k < 200'000; ++k) spin = spin + k;
  return static_cast<long>(i) * i + (spin < 0 ? 1 : 0);
}

TEST(PoolKillChaos, KilledWorkersAreReplacedAndOnlyTheirRunningTasksFail) {
  const int n = 600 * faults::scale();
  const int rounds = 100 * faults::scale();
  const auto fds_before = faults::open_fds();
  std::size_t kills = 0;
  {
    ProcessPoolExecutor::Options o;
    o.max_workers = 2;
    o.initializer = &slow_start;
    ProcessPoolExecutor pool(o);
    std::vector<Future<long>> futures;
    for (int i = 0; i < n; ++i) futures.push_back(pool.submit(&busy_square, i));

    std::thread chaos([&] {
      std::mt19937 rng(12345);
      for (int r = 0; r < rounds; ++r) {
        std::vector<pid_t> pids;
        if (!faults::eventually([&] { return !(pids = pool.worker_pids()).empty(); })) return;  // on demand
        const auto replaced = pool.workers_replaced();
        pid_t victim = pids[rng() % pids.size()];
        if (kill(victim, SIGKILL) != 0) continue;
        ++kills;
        if (!faults::eventually([&] { return pool.workers_replaced() > replaced; })) return;
        if (rng() % 2 == 0) {  // and its replacement, while it is still starting
          const auto now = pool.workers_replaced();
          for (pid_t p : pool.worker_pids()) {
            if (std::find(pids.begin(), pids.end(), p) != pids.end()) continue;
            if (kill(p, SIGKILL) == 0) {
              ++kills;
              if (!faults::eventually([&] { return pool.workers_replaced() > now; })) return;
            }
            break;
          }
        }
        // A task that completes proves a worker reached its loop, so deaths while starting never pile up
        // into the pool's respawn-storm bound (that bound has its own test).
        if (pool.submit(&busy_square, 2).result() != 4) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
      }
    });
    chaos.join();

    std::size_t crashed = 0;
    int wrong = 0;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(futures[i].wait_for(300s)) << "task " << i << " never resolved";
      if (auto e = futures[i].exception()) {
        try {
          std::rethrow_exception(e);
        } catch (const tandem::WorkerCrashed& c) {
          EXPECT_EQ(c.signal(), SIGKILL) << c.what();
          ++crashed;
        } catch (const std::exception& x) {
          ADD_FAILURE() << "task " << i << ": unexpected " << x.what();
        }
      } else if (futures[i].result() != static_cast<long>(i) * i) {
        ++wrong;
      }
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_LE(crashed, kills) << "more tasks failed than workers were killed";
    EXPECT_EQ(pool.workers_replaced(), kills);
    EXPECT_EQ(pool.submit(&busy_square, 5).result(), 25) << "the pool is not usable afterwards";
  }
  EXPECT_GT(kills, 0u);
  EXPECT_TRUE(faults::no_children());
  EXPECT_EQ(faults::open_fds(), fds_before);
}

}  // namespace
