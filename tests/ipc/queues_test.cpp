// Queue / SimpleQueue between processes: order, bounds, timeouts, big items, a producer that dies.
#include "tandem/ipc/queues.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "support/dev_shm.hpp"
#include "tandem/process.hpp"
#include "tandem/ipc/synchronize.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Process;
using tandem::ipc::Queue;
using tandem::ipc::SimpleQueue;
using tandem::test::dev_shm;

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
  EXPECT_EQ(dev_shm({getpid(), child}), before);
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

// ---- big items: stored in the queue's own file, never under a name of their own ----

struct FileUse {
  long long bytes;  // memory the queue's file holds (st_blocks)
  long long size;   // its apparent size (st_size)
};
template <class Q>
FileUse file_use(const Q& q) {
  struct stat st{};
  EXPECT_EQ(fstat(q.segment()->fd(), &st), 0);
  return {static_cast<long long>(st.st_blocks) * 512, static_cast<long long>(st.st_size)};
}
long long page_size() { return sysconf(_SC_PAGESIZE); }
long long round_to_pages(long long n) { return (n + page_size() - 1) / page_size() * page_size(); }

// A recognisable item: its bytes follow from its key.
std::string item_bytes(int key, std::size_t size) {
  std::string s(size, '\0');
  std::uint32_t x = static_cast<std::uint32_t>(key) * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(Queue, DroppedWithBigItemsStillInsideLeavesNothingInDevShm) {
  auto before = dev_shm({getpid()});
  std::string name;
  {
    Queue<std::string> anonymous(0, 4096);
    Queue<std::string> named(tandem::ipc::named, 0, 4096);
    name = named.segment()->name();
    for (std::size_t size : {std::size_t{1} << 20, std::size_t{5000}, std::size_t{3} << 20}) {
      anonymous.put(std::string(size, 'a'));
      named.put(std::string(size, 'n'));
    }
    EXPECT_EQ(anonymous.qsize(), 3u);
    auto with_the_queue = before;
    with_the_queue.insert(name);
    EXPECT_EQ(dev_shm({getpid()}), with_the_queue);  // the named queue's own name, and nothing for its items
  }
  EXPECT_EQ(dev_shm({getpid()}), before);
  EXPECT_FALSE(tandem::test::in_dev_shm(name));
}

// Random bursts of puts and gets of every size, against a model of the queue: items come back in order
// and intact (also when they wrap around the end of their window, or a larger window opens while older
// items are still waiting), the memory of taken items is given back, and the file's apparent size stays
// within 4 times the most the queue held at once.
TEST(Queue, BigItemsRoundTripInOrderAndGiveTheirMemoryBack) {
  Queue<std::string> q(0, 8192);  // items above 4 KiB are stored beyond the ring
  const FileUse empty = file_use(q);
  const std::size_t sizes[] = {0, 1, 100, 2000, 2100, 5000, 40000, 70000, 300000, 1 << 20, (3 << 20) + 7};
  std::mt19937 rng(20240611);
  std::deque<std::pair<int, std::size_t>> model;  // key and size of each item in the queue
  long long held = 0, peak = 0;                   // memory big items need (an upper bound), now and at most
  auto stored = [](std::size_t size) { return size + 9 > 4096 ? round_to_pages(static_cast<long long>(size) + 5) : 0; };
  int next_key = 0;
  for (int round = 0; round < 60; ++round) {
    for (int puts = 1 + static_cast<int>(rng() % 8); puts > 0; --puts) {
      std::size_t size = sizes[rng() % std::size(sizes)];
      if (!q.put_nowait(item_bytes(next_key, size))) continue;  // the ring is full of records
      model.emplace_back(next_key++, size);
      held += stored(size);
      peak = std::max(peak, held);
      EXPECT_GE(file_use(q).bytes, held / 2);  // the big items' bytes are in the queue's file
      EXPECT_LE(file_use(q).size, round_to_pages(empty.size) + 4 * peak + 16 * page_size());
    }
    for (int gets = 1 + static_cast<int>(rng() % 8); gets > 0 && !model.empty(); --gets) {
      auto [key, size] = model.front();
      model.pop_front();
      auto got = q.get_nowait();
      ASSERT_TRUE(got.has_value()) << "item " << key;
      ASSERT_EQ(*got, item_bytes(key, size)) << "item " << key << " of " << size << " bytes";
      held -= stored(size);
    }
  }
  while (!model.empty()) {
    auto [key, size] = model.front();
    model.pop_front();
    ASSERT_EQ(q.get_nowait(), item_bytes(key, size)) << "item " << key;
  }
  EXPECT_EQ(q.get_nowait(), std::nullopt);
  EXPECT_GT(peak, 4 << 20);                                // the test did hold several big items at once
  EXPECT_LE(file_use(q).bytes, round_to_pages(empty.size));  // nothing beyond the ring holds memory
  EXPECT_EQ(file_use(q).size, empty.size);
}

using Keyed = std::pair<int, std::string>;
std::size_t keyed_size(int key) {
  static const std::size_t sizes[] = {0, 7, 3000, 70000, 1 << 20, 5000, (2 << 20) + 3, 100, 300000};
  return sizes[static_cast<std::size_t>(key * 7 + key / 1000) % std::size(sizes)];
}
void produce(int producer, int count, Queue<Keyed> q) {
  for (int i = 0; i < count; ++i) {
    int key = producer * 1000 + i;
    q.put({key, item_bytes(key, keyed_size(key))});
  }
}
void consume(Queue<Keyed> q, Queue<std::pair<int, bool>> results) {
  for (;;) {
    auto [key, bytes] = q.get();
    if (key < 0) return;
    results.put({key, bytes == item_bytes(key, keyed_size(key))});
  }
}

TEST(Queue, BigAndSmallItemsCrossBetweenSeveralProducersAndConsumers) {
  auto before = dev_shm({getpid()});
  Queue<Keyed> q(4, 4096);  // bounded: producers wait for consumers, big items pile up and drain by turns
  Queue<std::pair<int, bool>> results;
  const FileUse empty = file_use(q);
  constexpr int kProducers = 2, kConsumers = 2, kItems = 30;
  std::vector<std::unique_ptr<Process>> producers, consumers;
  std::vector<pid_t> pids{getpid()};
  for (int i = 0; i < kConsumers; ++i) {
    consumers.push_back(std::make_unique<Process>(&consume, q, results));
    consumers.back()->start();
    pids.push_back(consumers.back()->pid());
  }
  for (int i = 0; i < kProducers; ++i) {
    producers.push_back(std::make_unique<Process>(&produce, i, kItems, q));
    producers.back()->start();
    pids.push_back(producers.back()->pid());
  }
  std::set<int> seen;
  for (int i = 0; i < kProducers * kItems; ++i) {
    auto r = results.get(120s);  // a bound so that a broken build fails instead of hanging
    ASSERT_TRUE(r.has_value()) << "only " << i << " items arrived";
    EXPECT_TRUE(r->second) << "item " << r->first << " arrived damaged";
    EXPECT_TRUE(seen.insert(r->first).second) << "item " << r->first << " arrived twice";
  }
  for (auto& p : producers) {
    p->join();
    EXPECT_EQ(p->exitcode(), 0);
  }
  for (int i = 0; i < kConsumers; ++i) q.put({-1, {}});
  for (auto& p : consumers) {
    p->join();
    EXPECT_EQ(p->exitcode(), 0);
  }
  EXPECT_EQ(q.qsize(), 0u);
  EXPECT_LE(file_use(q).bytes, round_to_pages(empty.size));
  EXPECT_EQ(dev_shm(pids), before);
}

TEST(Queue, APutWithNoRoomForABigItemThrowsAndTheQueueStaysUsable) {
  Queue<std::string> q(0, 4096);
  const FileUse empty = file_use(q);
  q.put(item_bytes(1, 1 << 20));
  // No room: the file may not grow past 2 MiB (RLIMIT_FSIZE stands in for a full /dev/shm: pwrite fails).
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 2 << 20;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  try {
    q.put(item_bytes(2, 4 << 20));
    ADD_FAILURE() << "put() of an item with no room for it returned";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::file_too_large);
    EXPECT_NE(std::string(e.what()).find("ipc::Queue: cannot store an item"), std::string::npos) << e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get_nowait(), item_bytes(1, 1 << 20));
  q.put(item_bytes(3, 4 << 20));
  EXPECT_EQ(q.get_nowait(), item_bytes(3, 4 << 20));
  EXPECT_LE(file_use(q).bytes, round_to_pages(empty.size));
}

void put_one_then_die_in_the_middle_of_a_big_put(Queue<std::string> q) {
  q.put(item_bytes(1, 1 << 20));
  auto bytes = tandem::ipc::encode(item_bytes(2, 2 << 20));
  q.die_in_the_middle_of_put_for_testing(bytes);
}

TEST(Queue, AProducerKilledInTheMiddleOfABigPutLeavesNoMemoryBehind) {
  Queue<std::string> q(0, 4096);
  const FileUse empty = file_use(q);
  Process p(&put_one_then_die_in_the_middle_of_a_big_put, q);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  EXPECT_GE(file_use(q).bytes, 3 << 20);                // both items' bytes are in the queue's file
  EXPECT_EQ(q.get(1s), item_bytes(1, 1 << 20));         // the committed one arrives intact
  EXPECT_EQ(q.get_nowait(), std::nullopt);              // the other never was
  EXPECT_LE(file_use(q).bytes, round_to_pages(empty.size));  // and the memory of both is back
}

}  // namespace
