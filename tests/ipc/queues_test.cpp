// Queue / SimpleQueue between processes: order, bounds, timeouts, big items, a producer that dies.
#include "tandem/queues.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "tandem/process.hpp"
#include "tandem/synchronize.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Process;
using tandem::ipc::Queue;
using tandem::ipc::SimpleQueue;

TEST(Queue, FifoWithinOneProcess) {
  Queue<int> q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 100; ++i) q.put(i);
  EXPECT_EQ(q.qsize(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q.get(), i);
  EXPECT_EQ(q.get_nowait(), std::nullopt);
  EXPECT_EQ(q.get(5ms), std::nullopt);
}

TEST(Queue, BoundedQueueRefusesWhenFull) {
  Queue<std::string> q(2);
  EXPECT_TRUE(q.put_nowait("a"));
  EXPECT_TRUE(q.put_nowait("b"));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.put_nowait("c"));
  EXPECT_FALSE(q.put("c", 5ms));
  EXPECT_EQ(q.get(), "a");
  EXPECT_TRUE(q.put_nowait("c"));
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), "c");
}

// The seed's homegrown process pool: jobs in, results out, a 0 to stop each worker.
bool is_prime(long n) {
  if (n < 2) return false;
  for (long d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}
void prime_worker(SimpleQueue<long> jobs, SimpleQueue<std::pair<long, bool>> results) {
  while (long n = jobs.get()) results.put({n, is_prime(n)});
  results.put({0, false});
}

TEST(Queue, TheSeedsHomegrownProcessPool) {
  SimpleQueue<long> jobs;
  SimpleQueue<std::pair<long, bool>> results;
  constexpr int kWorkers = 2;
  std::vector<std::unique_ptr<Process>> procs;
  for (int i = 0; i < kWorkers; ++i) {
    procs.push_back(std::make_unique<Process>(&prime_worker, jobs, results));
    procs.back()->start();
  }
  for (long n = 2; n < 300; ++n) jobs.put(n);
  for (int i = 0; i < kWorkers; ++i) jobs.put(0);
  std::set<long> primes;
  int done = 0;
  while (done < kWorkers) {
    auto [n, prime] = results.get();
    if (n == 0) ++done;
    else if (prime) primes.insert(n);
  }
  for (auto& p : procs) p->join();
  EXPECT_EQ(primes.size(), 62u);  // primes below 300
}

void echo_big(Queue<std::vector<char>> in, Queue<std::vector<char>> out) {
  auto v = in.get();
  for (auto& c : v) c = static_cast<char>(c + 1);
  out.put(v);
}

// Segments created by these processes (tandem names carry the creator's pid), so that tests running in
// parallel elsewhere do not disturb the comparison.
std::set<std::string> dev_shm(std::vector<pid_t> creators) {
  std::set<std::string> out;
  if (DIR* d = opendir("/dev/shm")) {
    while (auto* e = readdir(d)) {
      std::string n = e->d_name;
      for (pid_t pid : creators)
        if (n.rfind("tandem_" + std::to_string(pid) + "_", 0) == 0) out.insert(n);
    }
    closedir(d);
  }
  return out;
}

TEST(Queue, ItemsOfAnySizeCrossASmallRing) {
  auto before = dev_shm({getpid()});
  pid_t child = 0;
  {
    Queue<std::vector<char>> in(0, 4096), out(0, 4096);
    Process p(&echo_big, in, out);
    p.start();
    child = p.pid();
    std::vector<char> big(3 << 20, 'a');
    in.put(big);
    auto back = out.get();
    p.join();
    ASSERT_EQ(back.size(), big.size());
    EXPECT_EQ(back.front(), 'b');
    EXPECT_EQ(back.back(), 'b');
  }
  EXPECT_EQ(dev_shm({getpid(), child}), before);  // the oversized items' segments were unlinked by their consumers
}

void fill_then_put_one_more(Queue<int> q, tandem::ipc::Event full) {
  q.put(1);
  full.set();
  q.put(2);  // blocks until the parent takes one
}

TEST(Queue, APutBlocksUntilAConsumerMakesRoom) {
  Queue<int> q(1);
  tandem::ipc::Event full;
  Process p(&fill_then_put_one_more, q, full);
  p.start();
  ASSERT_TRUE(full.wait(60s));
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(), 2);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

void die_mid_put(Queue<std::string> q) {
  q.put("before");
  auto bytes = tandem::ipc::encode(std::string(1000, 'x'));
  q.die_in_the_middle_of_put_for_testing(bytes);
}

TEST(Queue, AProducerKilledMidMessageDoesNotWedgeTheConsumer) {
  Queue<std::string> q(0, 1 << 14);
  Process p(&die_mid_put, q);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  q.put("after");  // the lock is recovered, the partial item is invisible
  EXPECT_EQ(q.get(1s), "before");
  EXPECT_EQ(q.get(1s), "after");
  EXPECT_EQ(q.get_nowait(), std::nullopt);
  EXPECT_EQ(q.qsize(), 0u);
}

TEST(Queue, NamedQueuesTravelByName) {
  Queue<int> q(tandem::ipc::named);
  auto copy = tandem::ipc::decode<Queue<int>>(tandem::ipc::encode(q));
  copy.put(5);
  EXPECT_EQ(q.get(), 5);
}

}  // namespace
