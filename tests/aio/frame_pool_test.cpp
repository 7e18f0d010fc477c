// Specification of the pool behind coroutine frames and task states (tandem/aio/detail/frame_pool.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "tandem/aio.hpp"
#include "tandem/aio/detail/frame_pool.hpp"

namespace aio = tandem::aio;
using aio::detail::pool_allocate;
using aio::detail::pool_deallocate;

namespace {

aio::Task<int> value(int v) { co_return v; }

// The pool's pages are 64 KiB: a block's page is its address rounded down.
std::uintptr_t page(void* p) { return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{0xffff}; }

template <class F>
void on_new_thread(F f) {
  std::thread(f).join();
}

}  // namespace

TEST(AioFramePool, BlocksAreAlignedDistinctAndHoldTheirBytes) {
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t size : {1u, 15u, 16u, 17u, 100u, 112u, 513u, 1024u, 1025u, 4096u}) {
    for (int i = 0; i < 50; ++i) {
      void* p = pool_allocate(size);
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u) << size;
      std::memset(p, static_cast<int>(size & 0xff), size);
      blocks.emplace_back(p, size);
    }
  }
  std::set<void*> distinct;
  for (auto& [p, size] : blocks) distinct.insert(p);
  EXPECT_EQ(distinct.size(), blocks.size());
  for (auto& [p, size] : blocks) {  // nothing overlapped: every block still holds its own pattern
    auto* bytes = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < size; ++i) ASSERT_EQ(bytes[i], static_cast<unsigned char>(size & 0xff)) << size;
  }
  for (auto& [p, size] : blocks) pool_deallocate(p, size);
}

TEST(AioFramePool, BlocksFreedOnAnotherThreadAreUsable) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(pool_allocate(112));
  std::thread([&] {
    for (void* p : blocks) pool_deallocate(p, 112);
    // This thread's lists now hold them; it exits and hands them on.
  }).join();
  std::vector<void*> again;
  for (int i = 0; i < 2000; ++i) {
    void* p = pool_allocate(112);
    std::memset(p, 0xab, 112);
    again.push_back(p);
  }
  std::set<void*> distinct(again.begin(), again.end());
  EXPECT_EQ(distinct.size(), again.size());
  for (void* p : again) pool_deallocate(p, 112);
}

TEST(AioFramePool, ManyThreadsSpawningTasksAtOnceStayCorrect) {
  // Every thread runs its own loop; frames and task states come from per-thread lists and outlive
  // threads that exit before the others are done.
  std::vector<std::thread> threads;
  std::vector<long> sums(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &sums] {
      sums[static_cast<std::size_t>(t)] = aio::run([]() -> aio::Task<long> {
        std::vector<aio::Task<int>> coros;
        for (int i = 0; i < 5000; ++i) coros.push_back(value(i));
        long sum = 0;
        for (int v : co_await aio::gather(std::move(coros))) sum += v;
        co_return sum;
      }());
    });
  }
  for (auto& th : threads) th.join();
  for (long s : sums) EXPECT_EQ(s, 5000L * 4999 / 2);
}

TEST(AioFramePool, OnceEveryBlockOfAPageIsBackItHandsThemOutInAddressOrder) {
  if (!aio::detail::pool_enabled()) GTEST_SKIP() << "the pool is off in sanitizer builds";
  on_new_thread([] {  // a fresh thread: its pages hold nothing of the other tests
    std::vector<void*> blocks;
    for (int i = 0; i < 200; ++i) blocks.push_back(pool_allocate(48));
    for (int i = 0; i < 200; ++i)  // freed in a scrambled order
      pool_deallocate(blocks[static_cast<std::size_t>((i * 7919) % 200)], 48);
    std::vector<void*> again;
    for (int i = 0; i < 200; ++i) again.push_back(pool_allocate(48));
    for (std::size_t i = 1; i < again.size(); ++i)
      ASSERT_LT(reinterpret_cast<std::uintptr_t>(again[i - 1]), reinterpret_cast<std::uintptr_t>(again[i]));
    EXPECT_EQ(again.front(), blocks.front());
    for (void* p : again) pool_deallocate(p, 48);
  });
}

TEST(AioFramePool, BlocksFreedByAnotherThreadGoBackToTheirOwnersPages) {
  if (!aio::detail::pool_enabled()) GTEST_SKIP() << "the pool is off in sanitizer builds";
  on_new_thread([] {
    std::vector<void*> first;
    for (int i = 0; i < 5000; ++i) first.push_back(pool_allocate(80));
    std::set<std::uintptr_t> pages;
    for (void* p : first) pages.insert(page(p));
    std::thread([&] {
      for (void* p : first) pool_deallocate(p, 80);
    }).join();
    // The owner finds them again instead of mapping new pages.
    std::vector<void*> second;
    for (int i = 0; i < 5000; ++i) second.push_back(pool_allocate(80));
    for (void* p : second) ASSERT_TRUE(pages.count(page(p))) << "a new page was mapped";
    for (void* p : second) pool_deallocate(p, 80);
  });
}

TEST(AioFramePool, PagesOfAThreadThatExitedAreAdoptedByAnother) {
  if (!aio::detail::pool_enabled()) GTEST_SKIP() << "the pool is off in sanitizer builds";
  std::vector<void*> left;
  on_new_thread([&] {
    for (int i = 0; i < 1000; ++i) left.push_back(pool_allocate(1008));  // a class no other test uses
  });
  std::set<std::uintptr_t> pages;
  for (void* p : left) pages.insert(page(p));
  for (void* p : left) pool_deallocate(p, 1008);  // into pages whose owner is gone
  on_new_thread([&] {
    std::vector<void*> mine;
    for (int i = 0; i < 1000; ++i) mine.push_back(pool_allocate(1008));
    for (void* p : mine) ASSERT_TRUE(pages.count(page(p))) << "the exited thread's pages were not reused";
    for (void* p : mine) pool_deallocate(p, 1008);
  });
}

TEST(AioFramePool, AThreadLocalDestructorMayStillRunCoroutines) {
  // Destroyed after the pool handed this thread's pages on: its frames come from the depot.
  static std::atomic<int> result{0};
  struct AtExit {
    ~AtExit() { result = aio::run(value(9)) + aio::run(value(33)); }
  };
  on_new_thread([] {
    thread_local AtExit at_exit;  // constructed before the thread's first frame: destroyed after the pool's reaper
    (void)&at_exit;
    EXPECT_EQ(aio::run(value(1)), 1);
  });
  EXPECT_EQ(result.load(), 42);
}
