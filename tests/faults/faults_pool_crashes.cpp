// Process-pool soak (3,000 tasks; 150,000 with --soak): ~5 % of tasks fail in every way a task can
// (abort, SIGSEGV, stack overflow, _exit, SIGKILL of itself, an infinite loop against a timeout, an
// allocation under RLIMIT_AS, an exception). Exact accounting: every future resolves with the expected kind, every value is right,
// exactly one worker is replaced per dead worker, and nothing is left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "faults/support.hpp"
#include "tandem/process_pool.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ProcessPoolExecutor;
namespace faults = tandem::faults;

enum Kind : int { kOk, kThrow, kAbort, kSegv, kStackOverflow, kExit, kKillSelf, kInfiniteLoop, kAllocLimit };
constexpr Kind kFaults[] = {kThrow, kAbort, kSegv, kStackOverflow, kExit, kKillSelf, kInfiniteLoop, kAllocLimit};

volatile int never_stop = -1;
void* volatile allocation_sink = nullptr;

int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth == never_stop) return 0;
  return recurse(depth + 1) + frame[0];
}

// An allocation past RLIMIT_AS: the limit is lowered for the attempt and restored after, so the worker
// stays healthy. Throws std::bad_alloc.
void allocate_past_the_limit() {
  rlimit old{};
  getrlimit(RLIMIT_AS, &old);
  rlimit low = old;
  low.rlim_cur = rlim_t{2} << 30;  // 2 GiB of address space, then ask for 4
  setrlimit(RLIMIT_AS, &low);
  try {
    allocation_sink = ::operator new(std::size_t{4} << 30);
  } catch (...) {
    setrlimit(RLIMIT_AS, &old);
    throw;
  }
  setrlimit(RLIMIT_AS, &old);
  ::operator delete(allocation_sink);
}

long fault_task(int i, int kind) {
  switch (kind) {
    case kThrow: throw std::out_of_range("task " + std::to_string(i));
    case kAbort: std::abort();
    case kSegv: *reinterpret_cast<volatile int*>(static_cast<std::uintptr_t>(never_stop + 1)) = i; break;
    case kStackOverflow: return recurse(0);
    case kExit: _exit(7);
    case kKillSelf: raise(SIGKILL); break;
    case kInfiniteLoop:
      for (;;) asm volatile("");
    case kAllocLimit: allocate_past_the_limit(); break;
    default: break;
  }
  return static_cast<long>(i) * i;
}

Kind kind_of(int i) {
  if (i % 20 != 10) return kOk;
  Kind k = kFaults[(i / 20) % std::size(kFaults)];
  // ASan and TSan reserve terabytes of address space: RLIMIT_AS cannot be used under them.
  if (k == kAllocLimit && faults::under_sanitizer()) return kOk;
  return k;
}

bool replaces_the_worker(Kind k) { return k != kOk && k != kThrow && k != kAllocLimit; }

// Checks one future against what its task does; returns a description of a mismatch, or "".
std::string check(Future<long>& f, int i, Kind k) {
  std::exception_ptr e;
  try {
    e = f.exception();
  } catch (const std::exception& x) {
    return std::string("exception() threw ") + x.what();
  }
  const auto expect_crash = [&](int signal, int exit_code) -> std::string {
    try {
      std::rethrow_exception(e);
    } catch (const tandem::WorkerCrashed& c) {
      if (faults::under_sanitizer()) return "";  // ASan reports SIGSEGV and exits with code 1
      if (c.signal() != signal || (signal == 0 && c.exit_code() != exit_code)) return c.what();
      return "";
    } catch (const std::exception& x) {
      return std::string("expected WorkerCrashed, got ") + x.what();
    }
  };
  if (k == kOk) {
    if (e) return "expected a value";
    return f.result() == static_cast<long>(i) * i ? "" : "wrong value";
  }
  if (!e) return "expected a failure, got a value";
  switch (k) {
    case kThrow:
    case kAllocLimit:
      try {
        std::rethrow_exception(e);
      } catch (const tandem::RemoteError& r) {
        const char* type = k == kThrow ? "std::out_of_range" : "std::bad_alloc";
        return r.type_name() == type ? "" : "remote type " + r.type_name();
      } catch (const std::exception& x) {
        return std::string("expected RemoteError, got ") + x.what();
      }
    case kAbort: return expect_crash(SIGABRT, 0);
    case kSegv:
    case kStackOverflow: return expect_crash(SIGSEGV, 0);
    case kExit: return expect_crash(0, 7);
    case kKillSelf: return expect_crash(SIGKILL, 0);
    case kInfiniteLoop:
      try {
        std::rethrow_exception(e);
      } catch (const tandem::TimeoutError&) {
        return "";
      } catch (const std::exception& x) {
        return std::string("expected TimeoutError, got ") + x.what();
      }
    default: return "unknown kind";
  }
}

class PoolCrashSoak : public ::testing::TestWithParam<tandem::StartMethod> {};

TEST_P(PoolCrashSoak, EveryFutureResolvesWithTheExpectedKindAndNothingLeaks) {
  // Each of the ~150 replacements forks while the test thread runs; ASan's allocator (unlike glibc's
  // malloc) is not fork-safe, and TSan does not support fork of a multithreaded process at all.
  if (GetParam() == tandem::StartMethod::fork && faults::under_sanitizer())
    GTEST_SKIP() << "fork of a multithreaded process under a sanitizer can deadlock the child";
  const int n = 3000 * faults::scale();
  const auto fds_before = faults::open_fds();
  const auto shm_before = faults::my_segments();
  {
    ProcessPoolExecutor::Options o;
    o.max_workers = 2;
    o.start_method = GetParam();
    o.task_timeout = 120s;  // a bound on a hang; the infinite loops get their own short timeout
    ProcessPoolExecutor pool(o);
    std::vector<Future<long>> futures;
    futures.reserve(n);
    std::size_t dead_workers = 0;
    for (int i = 0; i < n; ++i) {
      Kind k = kind_of(i);
      if (replaces_the_worker(k)) ++dead_workers;
      futures.push_back(k == kInfiniteLoop ? pool.submit_with({.timeout = 100ms}, &fault_task, i, int{k})
                                           : pool.submit(&fault_task, i, int{k}));
    }
    int mismatches = 0;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(futures[i].wait_for(300s)) << "task " << i << " never resolved";
      std::string why = check(futures[i], i, kind_of(i));
      if (!why.empty() && ++mismatches <= 10) ADD_FAILURE() << "task " << i << " (kind " << kind_of(i) << "): " << why;
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(pool.workers_replaced(), dead_workers);
    EXPECT_EQ(pool.submit(&fault_task, 3, int{kOk}).result(), 9) << "the pool is not usable afterwards";
  }
  EXPECT_TRUE(faults::no_children()) << "a worker was left unreaped";
  EXPECT_EQ(faults::open_fds(), fds_before);
  EXPECT_EQ(faults::my_segments(), shm_before);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolCrashSoak,
                         ::testing::Values(tandem::StartMethod::spawn, tandem::StartMethod::fork),
                         [](const auto& info) { return std::string(tandem::to_string(info.param)); });

}  // namespace
