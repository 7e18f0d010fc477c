// Dead ipc participants: a lock holder, a producer in the middle of put(), a consumer blocked in get(),
// and a producer that dies after putting a large (spilled) item. The survivors carry on with consistent
// state, and nothing of the dead stays in /dev/shm.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include "faults/support.hpp"
#include "tandem/process.hpp"
#include "tandem/ipc/queues.hpp"
#include "tandem/ipc/synchronize.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Process;
using tandem::ipc::Queue;
namespace faults = tandem::faults;

void hold_lock_forever(tandem::ipc::Lock lock, tandem::ipc::Event held) {
  lock.acquire();
  held.set();
  for (;;) pause();
}

// Starts `p`, waits until it sets `ready`, then SIGKILLs and reaps it.
void kill_once_ready(Process& p, tandem::ipc::Event& ready) {
  p.start();
  ASSERT_TRUE(ready.wait(60s));
  p.kill();
  p.join();
  ASSERT_EQ(p.exitcode(), -SIGKILL);
}

TEST(DeadParticipants, ALockHeldByAKilledProcessIsTakenOverEveryTime) {
  for (int round = 0; round < 20 * faults::scale(); ++round) {
    tandem::ipc::Lock lock = round % 2 ? tandem::ipc::Lock(tandem::ipc::named) : tandem::ipc::Lock();
    tandem::ipc::Event held;
    Process p(&hold_lock_forever, lock, held);
    ASSERT_NO_FATAL_FAILURE(kill_once_ready(p, held));
    ASSERT_TRUE(lock.acquire(60s)) << "round " << round << ": the dead holder's lock was not recovered";
    EXPECT_TRUE(lock.previous_owner_died());
    lock.release();
    ASSERT_TRUE(lock.acquire(60s));
    EXPECT_FALSE(lock.previous_owner_died());
    lock.release();
  }
}

void put_then_die_mid_put(Queue<std::string> q, int good) {
  for (int i = 0; i < good; ++i) q.put("item " + std::to_string(i));
  auto bytes = tandem::ipc::encode(std::string(500, 'x'));
  q.die_in_the_middle_of_put_for_testing(bytes);
}

TEST(DeadParticipants, AProducerKilledMidPutLeavesOnlyItsWholeItems) {
  for (int round = 0; round < 10 * faults::scale(); ++round) {
    Queue<std::string> q(0, 1 << 14);
    const int good = round % 5;
    Process p(&put_then_die_mid_put, q, good);
    p.start();
    p.join();
    ASSERT_EQ(p.exitcode(), -SIGKILL);
    for (int i = 0; i < good; ++i) EXPECT_EQ(q.get(10s), "item " + std::to_string(i));
    EXPECT_EQ(q.get_nowait(), std::nullopt);
    EXPECT_EQ(q.qsize(), 0u);
    q.put("after");
    EXPECT_EQ(q.get(10s), "after");
  }
}

void block_in_get(Queue<std::string> q, tandem::ipc::Event waiting) {
  waiting.set();
  auto item = q.get();  // killed here
  (void)item;
}

TEST(DeadParticipants, AConsumerKilledWhileBlockedInGetTakesNothingWithIt) {
  Queue<std::string> q(4);
  tandem::ipc::Event waiting;
  Process p(&block_in_get, q, waiting);
  ASSERT_NO_FATAL_FAILURE(kill_once_ready(p, waiting));
  q.put("still here");
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get(10s), "still here");
}

void put_large_then_die(Queue<std::string> q, std::size_t bytes, int items) {
  for (int i = 0; i < items; ++i) q.put(std::string(bytes, static_cast<char>('a' + i)));
  raise(SIGKILL);
}

TEST(DeadParticipants, LargeItemsOfAKilledProducerAreDeliveredOrFreedNeverLeaked) {
  pid_t child_pid = 0;
  {
    Queue<std::string> q(0, 1 << 16);
    Process p(&put_large_then_die, q, std::size_t{1} << 20, 3);
    p.start();
    child_pid = p.pid();
    p.join();
    ASSERT_EQ(p.exitcode(), -SIGKILL);
    auto first = q.get(10s);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->size(), std::size_t{1} << 20);
    EXPECT_EQ(first->front(), 'a');
    // The other two are dropped with the queue, unread.
  }
  EXPECT_TRUE(faults::eventually([&] { return faults::segments_of(child_pid).empty(); }, 30s))
      << "spilled items of a killed producer stayed in /dev/shm";
  EXPECT_TRUE(faults::my_segments().empty());
}

}  // namespace
