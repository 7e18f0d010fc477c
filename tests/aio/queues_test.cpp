// Specification of Queue, LifoQueue, PriorityQueue (asyncio.queues).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

TEST(AioQueue, FifoWithNowaitErrors) {
  auto main = []() -> Task<void> {
    aio::Queue<int> q(2);
    q.put_nowait(1);
    co_await q.put(2);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(3), aio::QueueFull);
    EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_EQ(co_await q.get(), 2);
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get_nowait(), aio::QueueEmpty);
  };
  aio::run(main());
}

TEST(AioQueue, ProducerConsumerWithJoin) {
  auto main = []() -> Task<std::vector<int>> {
    aio::Queue<int> q(3);
    std::vector<int> got;
    auto consumer = aio::create_task([](aio::Queue<int>& q, std::vector<int>& got) -> Task<void> {
      for (;;) {
        int v = co_await q.get();
        got.push_back(v);
        q.task_done();
      }
    }(q, got));
    for (int i = 0; i < 10; ++i) co_await q.put(i);  // waits whenever 3 are queued
    co_await q.join();
    consumer.cancel();
    EXPECT_THROW(q.task_done(), tandem::InvalidStateError);
    co_return got;
  };
  EXPECT_EQ(aio::run(main()), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(AioQueue, CancelledGetLeavesNoWaiterAndLosesNoItem) {
  auto main = []() -> Task<void> {
    aio::Queue<std::unique_ptr<int>> q;
    auto g1 = aio::create_task([](aio::Queue<std::unique_ptr<int>>& q) -> Task<int> { co_return *co_await q.get(); }(q));
    auto g2 = aio::create_task([](aio::Queue<std::unique_ptr<int>>& q) -> Task<int> { co_return *co_await q.get(); }(q));
    co_await aio::sleep(0);
    g1.cancel();
    EXPECT_THROW(co_await g1, tandem::CancelledError);
    q.put_nowait(std::make_unique<int>(5));  // goes to g2, the only waiter left
    EXPECT_EQ(co_await g2, 5);
    EXPECT_TRUE(q.empty());
  };
  aio::run(main());
}

TEST(AioQueue, CancelledPutLeavesNoWaiter) {
  auto main = []() -> Task<void> {
    aio::Queue<int> q(1);
    q.put_nowait(1);
    auto p = aio::create_task([](aio::Queue<int>& q) -> Task<void> { co_await q.put(2); }(q));
    auto p3 = aio::create_task([](aio::Queue<int>& q) -> Task<void> { co_await q.put(3); }(q));
    co_await aio::sleep(0);
    p.cancel();
    EXPECT_THROW(co_await p, tandem::CancelledError);
    EXPECT_EQ(co_await q.get(), 1);
    co_await p3;
    EXPECT_EQ(co_await q.get(), 3);
  };
  aio::run(main());
}

TEST(AioQueue, GetWithTimeout) {
  auto main = []() -> Task<void> {
    aio::Queue<int> q;
    auto get = [](aio::Queue<int>& q) -> Task<int> { co_return co_await q.get(); };
    EXPECT_THROW(co_await aio::wait_for(get(q), 1ms), tandem::TimeoutError);
    q.put_nowait(8);
    EXPECT_EQ(co_await aio::wait_for(get(q), 1h), 8);
  };
  aio::run(main());
}

TEST(AioLifoQueue, LastInFirstOut) {
  auto main = []() -> Task<std::vector<int>> {
    aio::LifoQueue<int> q;
    for (int i = 0; i < 3; ++i) q.put_nowait(i);
    std::vector<int> out;
    while (!q.empty()) out.push_back(co_await q.get());
    co_return out;
  };
  EXPECT_EQ(aio::run(main()), (std::vector<int>{2, 1, 0}));
}

TEST(AioPriorityQueue, SmallestFirst) {
  auto main = []() -> Task<std::vector<std::string>> {
    aio::PriorityQueue<std::pair<int, std::string>> q;
    q.put_nowait({3, "c"});
    q.put_nowait({1, "a"});
    q.put_nowait({2, "b"});
    std::vector<std::string> out;
    while (!q.empty()) out.push_back((co_await q.get()).second);
    co_return out;
  };
  EXPECT_EQ(aio::run(main()), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
