// Specification of the pool behind coroutine frames and task states (tandem/aio/detail/frame_pool.hpp).
#include <gtest/gtest.h>

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
