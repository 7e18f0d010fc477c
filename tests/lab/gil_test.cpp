// The emulated GIL follows CPython's rules: one holder at a time, hand-offs at checks when a waiter
// asked, the waiter gets it next, and blocking waits release it. Behaviour is asserted with counts,
// never with wall-clock thresholds.
#include "lab/gil.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lab/model.hpp"
#include "lab/primes.hpp"
#include "tandem/executor.hpp"

using namespace std::chrono_literals;
using tandem::lab::Gil;

static_assert(tandem::Executor<tandem::lab::GilThreadPool>);

namespace {

// A few microseconds of work the optimizer cannot remove.
void burn() {
  volatile std::uint64_t x = 0;
  for (int i = 0; i < 2000; ++i) x = x + static_cast<std::uint64_t>(i);
}

}  // namespace

TEST(Gil, HeaderExampleRuns) {
  tandem::lab::Gil gil(std::chrono::milliseconds(5));  // sys.setswitchinterval(0.005)
  std::thread worker([&] {
    tandem::lab::Gil::Holder hold(gil);  // a thread "runs Python" only while it holds the GIL
    for (int i = 0; i < 1000; ++i) {
      // ... a slice of CPU work ...
      tandem::lab::gil_check();  // the eval breaker: hands over when a waiter asked
    }
    tandem::lab::gil_sleep(std::chrono::milliseconds(1));  // blocking waits release it
  });
  worker.join();
  EXPECT_EQ(gil.switches(), 1u) << "taken once, by the worker";
  EXPECT_EQ(gil.forced_switches(), 0u) << "nobody else asked for it";
}

TEST(Gil, TwoCpuBoundTasksOnTwoWorkersNeverComputeAtTheSameTimeButHandOver) {
  tandem::lab::GilThreadPool pool(2, 1ms);
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> started{0};
  auto task = [&](int id) {
    started.fetch_add(1);
    std::uint64_t sections = 0;
    // Until the GIL has been forced across often enough that both tasks ran many slices each.
    while (pool.gil().forced_switches() < 8) {
      if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);  // a CPU section: between two checks
      burn();
      inside.fetch_sub(1);
      ++sections;
      tandem::lab::gil_check();
    }
    return std::pair{id, sections};
  };
  auto a = pool.submit(task, 1);
  auto b = pool.submit(task, 2);
  EXPECT_GT(a.result().second, 0u);
  EXPECT_GT(b.result().second, 0u);
  EXPECT_EQ(overlaps.load(), 0) << "two tasks computed at once under the GIL";
  EXPECT_EQ(started.load(), 2);
  EXPECT_GE(pool.gil().switches(), 8u) << "every forced drop hands the GIL to the other task";
}

TEST(Gil, TheWaiterGetsItNextTheHolderCannotBargeBackIn) {
  Gil gil(1ms);
  std::atomic<bool> a_holds{false};
  std::atomic<bool> b_ran{false};
  int handoffs_before_b_ran = 0;  // A got the GIL back at a check while B had not run yet
  int handoffs = 0;
  std::thread a([&] {
    Gil::Holder hold(gil);
    a_holds = true;
    while (!b_ran.load()) {
      burn();
      if (tandem::lab::gil_check()) {
        ++handoffs;
        if (!b_ran.load()) ++handoffs_before_b_ran;
      }
    }
  });
  std::thread b([&] {
    while (!a_holds.load()) std::this_thread::yield();
    Gil::Holder hold(gil);  // waits a switch interval, asks, and is served at A's next check
    b_ran = true;
  });
  a.join();
  b.join();
  EXPECT_EQ(handoffs_before_b_ran, 0) << "A dropped the GIL on request and took it back before the waiter ran";
  EXPECT_EQ(handoffs, 1);
  EXPECT_EQ(gil.forced_switches(), 1u);
}

TEST(Gil, SleepingReleasesItSoAnotherThreadRunsMeanwhile) {
  Gil gil(1ms);
  std::atomic<bool> a_holds{false};
  std::atomic<bool> a_asleep{false};
  std::atomic<bool> b_ran{false};
  std::atomic<bool> b_ran_while_a_slept{false};
  std::thread a([&] {
    Gil::Holder hold(gil);
    a_holds = true;
    // Never calls gil_check(): only the sleep can let B in. Bounded, so a broken release fails
    // instead of hanging.
    for (int i = 0; i < 10000 && !b_ran.load(); ++i) {
      a_asleep = true;
      tandem::lab::gil_sleep(1ms);
      a_asleep = false;
    }
  });
  std::thread b([&] {
    while (!a_holds.load()) std::this_thread::yield();
    Gil::Holder hold(gil);
    b_ran_while_a_slept = a_asleep.load();
    b_ran = true;
  });
  a.join();
  b.join();
  EXPECT_TRUE(b_ran.load());
  EXPECT_TRUE(b_ran_while_a_slept.load()) << "B got the GIL only once A had finished";
  EXPECT_EQ(gil.forced_switches(), 0u) << "the sleep released it: nothing had to be forced";
}

TEST(Gil, ReleasedDropsAroundABlockingWaitAndTakesItBack) {
  Gil gil;
  Gil::Holder hold(gil);
  std::atomic<bool> other_ran{false};
  std::thread other([&] {
    Gil::Holder h(gil);
    other_ran = true;
  });
  {
    Gil::Released released;  // Py_BEGIN_ALLOW_THREADS
    other.join();            // would deadlock if the GIL were still held
    EXPECT_FALSE(tandem::lab::gil_check()) << "no GIL is held inside Released";
  }
  EXPECT_TRUE(other_ran.load());
  EXPECT_EQ(gil.switches(), 3u) << "this thread, the other, this thread again";
}

TEST(Gil, CheckWithoutAGilDoesNothing) {
  EXPECT_FALSE(tandem::lab::gil_check());
  Gil::Released released;  // nothing to release either
  tandem::lab::gil_sleep(0ms);
}

TEST(Gil, TakingItTwiceOnOneThreadIsAnErrorNotADeadlock) {
  Gil gil;
  Gil::Holder hold(gil);
  EXPECT_THROW(Gil::Holder again(gil), std::logic_error);
  Gil other;
  EXPECT_THROW(Gil::Holder second(other), std::logic_error);
}

TEST(Gil, SwitchIntervalMustBePositive) {
  EXPECT_THROW(Gil(std::chrono::microseconds(0)), std::invalid_argument);
  EXPECT_EQ(Gil().switch_interval(), tandem::lab::kDefaultSwitchInterval);
}

TEST(Gil, PrimesWorkloadHandsOverAtItsChecks) {
  // Two chunks of one big prime's divisor range, on two workers: only is_prime's own checks can
  // hand the GIL over, so forced switches prove the workload calls the eval breaker.
  tandem::lab::GilThreadPool pool(2, std::chrono::microseconds(200));
  const std::uint64_t n = 1'000'000'000'000'037ull;  // prime: no divisor, both chunks run to the end
  const std::uint64_t root = tandem::lab::isqrt(n);
  auto a = pool.submit(&tandem::lab::find_odd_divisor, n, std::uint64_t{3}, root / 2 | 1);
  auto b = pool.submit(&tandem::lab::find_odd_divisor, n, (root / 2 | 1) + 2, root);
  EXPECT_FALSE(a.result().first);
  EXPECT_FALSE(b.result().first);
  EXPECT_GT(pool.gil().forced_switches(), 0u);
}

TEST(Gil, MapRunsEveryItemUnderTheGil) {
  tandem::lab::GilThreadPool pool(2);
  std::vector<int> items{1, 2, 3, 4, 5};
  std::vector<bool> held;
  for (bool h : pool.map(+[](int) { return tandem::lab::detail::current_gil != nullptr; }, items, 2)) held.push_back(h);
  EXPECT_EQ(held, std::vector<bool>(5, true));
}
