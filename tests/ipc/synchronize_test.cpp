// Event, Lock, Semaphore, Barrier across processes, including a lock holder that dies.
#include "tandem/ipc/synchronize.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tandem/process.hpp"
#include "tandem/ipc/sharedctypes.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Process;

void set_event(tandem::ipc::Event e) { e.set(); }
void wait_then_set(tandem::ipc::Event in, tandem::ipc::Event out) {
  if (in.wait(60s)) out.set();
}

TEST(Event, WaitTimesOutThenSeesASetFromAChild) {
  tandem::ipc::Event e;
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(5ms));
  Process p(&set_event, e);
  p.start();
  EXPECT_TRUE(e.wait(60s));
  EXPECT_TRUE(e.is_set());
  p.join();
  e.clear();
  EXPECT_FALSE(e.is_set());
}

TEST(Event, PingPongBetweenProcesses) {
  tandem::ipc::Event ping, pong;
  Process p(&wait_then_set, ping, pong);
  p.start();
  ping.set();
  EXPECT_TRUE(pong.wait(60s));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

void add_many(tandem::ipc::Lock lock, tandem::ipc::Value<long> counter, int n) {
  for (int i = 0; i < n; ++i) {
    std::lock_guard g(lock);
    counter.unsafe_ref() = counter.unsafe_ref() + 1;
  }
}

TEST(Lock, ExcludesAcrossProcesses) {
  tandem::ipc::Lock lock;
  tandem::ipc::Value<long> counter(0);
  constexpr int kEach = 2000;
  Process a(&add_many, lock, counter, kEach), b(&add_many, lock, counter, kEach);
  a.start();
  b.start();
  add_many(lock, counter, kEach);
  a.join();
  b.join();
  EXPECT_EQ(counter.get(), 3 * kEach);
}

void acquire_and_die(tandem::ipc::Lock lock, tandem::ipc::Event held) {
  lock.acquire();
  held.set();
  raise(SIGKILL);
}

TEST(Lock, AHolderThatDiesDoesNotDeadlockTheOthers) {
  tandem::ipc::Lock lock;
  tandem::ipc::Event held;
  Process p(&acquire_and_die, lock, held);
  p.start();
  ASSERT_TRUE(held.wait(60s));
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  ASSERT_TRUE(lock.acquire(60s));  // not a deadlock: the lock is taken over
  EXPECT_TRUE(lock.previous_owner_died());
  lock.release();
  ASSERT_TRUE(lock.acquire(60s));
  EXPECT_FALSE(lock.previous_owner_died());
  lock.release();
}

TEST(Lock, TimeoutsAndMisuse) {
  tandem::ipc::Lock lock;
  EXPECT_TRUE(lock.try_lock());
  std::thread t([&] { EXPECT_FALSE(lock.acquire(5ms)); });
  t.join();
#if !defined(__SANITIZE_THREAD__)  // TSan reports the misuse itself (double lock, unlock when unlocked)
  EXPECT_THROW(lock.acquire(), tandem::InvalidStateError);  // not recursive: an error, not a hang
#endif
  lock.release();
#if !defined(__SANITIZE_THREAD__)
  EXPECT_THROW(lock.release(), tandem::InvalidStateError);
#endif
}

void take_and_report(tandem::ipc::Semaphore sem, tandem::ipc::Event got) {
  sem.acquire();
  got.set();
}

TEST(Semaphore, CountsUnitsAcrossProcesses) {
  tandem::ipc::Semaphore sem(1);
  EXPECT_TRUE(sem.acquire(0ms));
  EXPECT_FALSE(sem.acquire(5ms));
  tandem::ipc::Event got;
  Process p(&take_and_report, sem, got);
  p.start();
  EXPECT_FALSE(got.wait(20ms));  // blocked: no unit left
  sem.release();
  EXPECT_TRUE(got.wait(60s));
  p.join();
  EXPECT_EQ(sem.value(), 0u);
  sem.release(3);
  EXPECT_EQ(sem.value(), 3u);
}

void meet(tandem::ipc::Barrier b, tandem::ipc::Array<int> seen, int slot) {
  seen[static_cast<std::size_t>(slot)] = static_cast<int>(b.wait(60s)) + 1;
}

TEST(Barrier, AllPartiesMeetAndGetDistinctIndexes) {
  tandem::ipc::Barrier b(3);
  tandem::ipc::Array<int> seen(3);
  Process p1(&meet, b, seen, 0), p2(&meet, b, seen, 1);
  p1.start();
  p2.start();
  meet(b, seen, 2);
  p1.join();
  p2.join();
  auto s = seen.snapshot();
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(b.n_waiting(), 0u);
}

TEST(Barrier, ATimeoutBreaksItForEveryone) {
  tandem::ipc::Barrier b(2);
  EXPECT_THROW(b.wait(5ms), tandem::ipc::BrokenBarrierError);
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(b.wait(), tandem::ipc::BrokenBarrierError);
  b.reset();
  EXPECT_FALSE(b.broken());
  std::thread t([&] { b.wait(60s); });
  b.wait(60s);
  t.join();
}

TEST(Barrier, AbortReleasesWaiters) {
  tandem::ipc::Barrier b(2);
  std::thread t([&] { EXPECT_THROW(b.wait(60s), tandem::ipc::BrokenBarrierError); });
  while (b.n_waiting() == 0) std::this_thread::yield();
  b.abort();
  t.join();
}

TEST(Synchronize, NamedObjectsTravelByName) {
  tandem::ipc::Event e(tandem::ipc::named);
  auto bytes = tandem::ipc::encode(e);
  auto back = tandem::ipc::decode<tandem::ipc::Event>(bytes);
  back.set();
  EXPECT_TRUE(e.is_set());
  tandem::ipc::Event anonymous;
  EXPECT_THROW(tandem::ipc::encode(anonymous), tandem::ipc::CodecError);
}

}  // namespace
