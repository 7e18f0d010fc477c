// shutdown(cancel_futures=true) in the middle of a load, on both pools: every future the pool accepted
// resolves, either cancelled or with its right value; submits after the shutdown are refused; nothing is
// left running.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "faults/support.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Future;
namespace faults = tandem::faults;

long triple(long x) {
  volatile long spin = 0;
  for (int k = 0; k < 2000; ++k) spin = spin + k;
  return 3 * x + (spin < 0 ? 1 : 0);
}

struct Tally {
  std::size_t done = 0, cancelled = 0, wrong = 0, other = 0;
};

Tally account(std::vector<std::pair<long, Future<long>>>& futures) {
  Tally t;
  for (auto& [x, f] : futures) {
    if (!f.wait_for(300s)) {
      ADD_FAILURE() << "the future of " << x << " never resolved";
      continue;
    }
    if (f.cancelled()) {
      ++t.cancelled;
      continue;
    }
    try {
      if (f.result() == 3 * x) ++t.done;
      else ++t.wrong;
    } catch (...) {
      ++t.other;
    }
  }
  return t;
}

template <class Pool>
void run_shutdown_mid_load(Pool& pool, int per_thread, int threads) {
  std::mutex mu;
  std::vector<std::pair<long, Future<long>>> futures;
  std::atomic<std::size_t> refused{0}, accepted{0}, completed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        long x = static_cast<long>(t) * per_thread + i;
        try {
          auto f = pool.submit(&triple, x);
          f.add_done_callback([&completed](const Future<long>&) { ++completed; });
          ++accepted;
          std::lock_guard g(mu);
          futures.emplace_back(x, std::move(f));
        } catch (const tandem::ShutdownError&) {
          ++refused;
        }
      }
    });
  }
  go = true;
  // Shut down once some work is accepted and some is done, while the submitters are still going.
  ASSERT_TRUE(faults::eventually(
      [&] { return accepted.load() >= static_cast<std::size_t>(per_thread / 2) && completed.load() > 0; }));
  pool.shutdown(true, true);
  for (auto& s : submitters) s.join();
  EXPECT_THROW(pool.submit(&triple, 1), tandem::ShutdownError);

  Tally t = account(futures);
  EXPECT_EQ(t.done + t.cancelled, futures.size());
  EXPECT_EQ(t.wrong, 0u);
  EXPECT_EQ(t.other, 0u);
  EXPECT_EQ(accepted.load() + refused.load(), static_cast<std::size_t>(per_thread) * threads);
  EXPECT_GT(t.done, 0u);
}

TEST(ShutdownMidLoad, ThreadPoolCancelFuturesResolvesEveryAcceptedFuture) {
  for (int rep = 0; rep < 5 * faults::scale(); ++rep) {
    tandem::ThreadPoolExecutor pool(4);
    run_shutdown_mid_load(pool, 5000, 4);
  }
}

TEST(ShutdownMidLoad, ProcessPoolCancelFuturesResolvesEveryAcceptedFuture) {
  const auto fds_before = faults::open_fds();
  for (int rep = 0; rep < 2 * faults::scale(); ++rep) {
    tandem::ProcessPoolExecutor pool(2);
    run_shutdown_mid_load(pool, 3000, 2);
  }
  EXPECT_TRUE(faults::no_children());
  EXPECT_EQ(faults::open_fds(), fds_before);
}

}  // namespace
