// ThreadPoolExecutor under recursive fork-join: a task submits part of its work to its own pool,
// does the rest inline and waits. Every program completes with the right result on 1, 2 and 8
// workers, and no worker's stack grows beyond a bound proportional to the depth of the recursion
// (issue 10: the first pool ran any queued task while waiting and died at ~150,000 nested frames).
#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "tandem/futures.hpp"
#include "tandem/thread_pool.hpp"
#include "tandem/threading.hpp"

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ThreadPoolExecutor;

namespace {

// Full size in optimized builds; smaller in the sanitizer (Debug) builds, which run 10-50x slower.
#ifdef NDEBUG
constexpr int kFib = 32;                    // ~3.5 M tasks
constexpr std::size_t kSortSize = 10'000'000;
constexpr int kChain = 100'000;
#else
constexpr int kFib = 22;
constexpr std::size_t kSortSize = 100'000;
#if defined(__SANITIZE_THREAD__)
constexpr int kChain = 4'000;  // TSan records stacks of at most 65,536 frames, ~7 per level here
#else
constexpr int kChain = 10'000;
#endif
#endif

// Stack bytes one level of recursion may take: the task's frame, its wait and one helping call
// (measured: ~0.35 KiB in Release). The old pool's unbounded helping exceeded any such bound a
// hundredfold before it crashed.
constexpr std::size_t kBytesPerLevel = 4096;

// The deepest stack seen in any task body, in bytes below the shallowest task frame of the same thread
// (the first task a worker runs comes straight from its main loop). Not from the top of the thread's
// stack: glibc keeps static TLS there, which under TSan is ~800 KiB.
struct StackProbe {
  std::atomic<std::size_t> deepest{0};

  __attribute__((noinline)) void sample() {
    thread_local std::uintptr_t shallowest = 0;
    const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    shallowest = std::max(shallowest, here);
    const std::size_t used = shallowest - here;
    std::size_t seen = deepest.load(std::memory_order_relaxed);
    while (used > seen && !deepest.compare_exchange_weak(seen, used, std::memory_order_relaxed)) {
    }
  }
};

struct Deepest {
  std::atomic<int> value{0};
  void saw(int depth) {
    int seen = value.load(std::memory_order_relaxed);
    while (depth > seen && !value.compare_exchange_weak(seen, depth, std::memory_order_relaxed)) {
    }
  }
};

// New threads get `bytes` of stack (glibc's default for pthread_create, which std::thread uses), for
// the scope of the object: a recursion 100,000 deep needs more than the usual 8 MiB.
class DefaultThreadStack {
 public:
  explicit DefaultThreadStack(std::size_t bytes) {
    pthread_getattr_default_np(&saved_);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, bytes);
    pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
  }
  ~DefaultThreadStack() {
    pthread_setattr_default_np(&saved_);
    pthread_attr_destroy(&saved_);
  }

 private:
  pthread_attr_t saved_;
};

long fib_sequential(int n) { return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2); }

struct Fib {
  ThreadPoolExecutor& pool;
  StackProbe& probe;
  long operator()(int n) const {
    probe.sample();
    if (n < 2) return n;  // cutoff 1: every call with n >= 2 submits a task
    auto left = pool.submit(*this, n - 1);
    const long right = (*this)(n - 2);
    return std::move(left).result() + right;
  }
};

struct QuickSort {
  ThreadPoolExecutor& pool;
  StackProbe& probe;
  Deepest& deepest;
  void operator()(std::span<int> a, int depth) const {
    probe.sample();
    deepest.saw(depth);
    if (a.size() <= 1) return;
    const int pivot = a[a.size() / 2];
    auto mid1 = std::partition(a.begin(), a.end(), [pivot](int x) { return x < pivot; });
    auto mid2 = std::partition(mid1, a.end(), [pivot](int x) { return !(pivot < x); });
    auto left = pool.submit(*this, a.first(static_cast<std::size_t>(mid1 - a.begin())), depth + 1);
    (*this)(a.last(static_cast<std::size_t>(a.end() - mid2)), depth + 1);
    left.result();
  }
};

struct Chain {
  ThreadPoolExecutor& pool;
  StackProbe& probe;
  int operator()(int remaining) const {
    probe.sample();
    if (remaining == 0) return 0;
    return pool.submit(*this, remaining - 1).result() + 1;
  }
};

class ForkJoin : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(Workers, ForkJoin, ::testing::Values(1, 2, 8),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

TEST_P(ForkJoin, FibWithCutoffOneCompletesAndTheStackStaysProportionalToItsDepth) {
  StackProbe probe;
  long result = 0;
  {
    ThreadPoolExecutor pool(GetParam());
    result = pool.submit(Fib{pool, probe}, kFib).result();
  }
  EXPECT_EQ(result, fib_sequential(kFib));
  RecordProperty("deepest_stack_bytes", static_cast<int>(probe.deepest.load()));
  EXPECT_LE(probe.deepest.load(), (kFib + 2) * kBytesPerLevel);
}

TEST_P(ForkJoin, QuicksortRecursingToOneElementSortsAndTheStackStaysProportionalToItsDepth) {
  std::vector<int> data(kSortSize);
  std::mt19937 rng(12345);
  for (auto& x : data) x = static_cast<int>(rng());
  auto expected = data;
  std::sort(expected.begin(), expected.end());
  StackProbe probe;
  Deepest depth;
  {
    ThreadPoolExecutor pool(GetParam());
    pool.submit(QuickSort{pool, probe, depth}, std::span<int>(data), 1).result();
  }
  EXPECT_EQ(data, expected);
  RecordProperty("recursion_depth", depth.value.load());
  RecordProperty("deepest_stack_bytes", static_cast<int>(probe.deepest.load()));
  EXPECT_LE(probe.deepest.load(), static_cast<std::size_t>(depth.value.load() + 2) * kBytesPerLevel);
}

TEST_P(ForkJoin, AChainOfNestedSubmitsAsDeepAsTheRecursionCompletes) {
  // Each link waits on the next: the recursion itself is kChain deep, so some stack must hold kChain
  // frames (with one worker, that worker's). The bound is the same per level as above; the workers get
  // a stack large enough for it.
  DefaultThreadStack big(kChain * kBytesPerLevel + (8u << 20));
  StackProbe probe;
  int result = 0;
  {
    ThreadPoolExecutor pool(GetParam());
    result = pool.submit(Chain{pool, probe}, kChain).result();
  }
  EXPECT_EQ(result, kChain);
  RecordProperty("deepest_stack_bytes", static_cast<int>(probe.deepest.load()));
  EXPECT_LE(probe.deepest.load(), (kChain + 2) * kBytesPerLevel);
}

TEST_P(ForkJoin, AWaitingWorkerDoesNotNestUnrelatedQueuedTasks) {
  // Many independent tasks queued from outside, each waiting on a child it submits. The old pool's
  // waiting worker ran the next queued task, which waited and ran the next...: thousands deep. A wait
  // may only run the waiter's own subtasks, so a task runs at most one level below another.
  StackProbe probe;
  std::atomic<int> done{0};
  {
    ThreadPoolExecutor pool(GetParam());
    std::vector<Future<void>> fs;
    for (int i = 0; i < 5000; ++i)
      fs.push_back(pool.submit([&] {
        probe.sample();
        pool.submit([&] { probe.sample(); }).result();
        ++done;
      }));
    for (auto& f : fs) f.result();
  }
  EXPECT_EQ(done.load(), 5000);
  RecordProperty("deepest_stack_bytes", static_cast<int>(probe.deepest.load()));
  EXPECT_LE(probe.deepest.load(), 2 * kBytesPerLevel);
}

TEST(ForkJoinPools, TasksOfTwoOneWorkerPoolsWaitingOnEachOtherDoNotDeadlock) {
  // A's task waits on B's, which waits on a new task of A: A's only worker must run it while it waits.
  ThreadPoolExecutor a(1), b(1);
  auto f = a.submit([&] {
    return b.submit([&] { return a.submit([] { return 20; }).result() + 1; }).result() * 2;
  });
  EXPECT_EQ(f.result(), 42);
}

TEST(ForkJoinPools, APingPongBetweenTwoPoolsCompletes) {
  ThreadPoolExecutor a(2), b(2);
  struct PingPong {
    ThreadPoolExecutor& here;
    ThreadPoolExecutor& there;
    int operator()(int n) const {
      if (n == 0) return 0;
      return there.submit(PingPong{there, here}, n - 1).result() + 1;
    }
  };
  EXPECT_EQ(a.submit(PingPong{a, b}, 200).result(), 200);
}

TEST(ForkJoinPools, AnExternalThreadWaitingOnAFutureDoesNotRunPoolTasks) {
  ThreadPoolExecutor pool(1);
  tandem::Event release;
  auto blocker = pool.submit([&] { release.wait(); });
  auto queued = pool.submit([] { return std::this_thread::get_id(); });
  // The only worker is blocked: a waiter that ran queued tasks would finish `queued` on this thread.
  EXPECT_THROW(queued.result(20ms), tandem::TimeoutError);
  EXPECT_EQ(queued.state(), tandem::FutureState::pending);
  release.set();
  EXPECT_NE(queued.result(), std::this_thread::get_id());
}

}  // namespace
