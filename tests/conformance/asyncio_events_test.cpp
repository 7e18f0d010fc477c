// Ports of CPython's Lib/test/test_asyncio/test_events.py (EventLoopTestsMixin, Python 3.12): the
// order in which callbacks run, call_soon_threadsafe among them. Left out: everything about
// transports, sockets, pipes and executors (tests/aio covers tandem's streams and bridges).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "conformance/support.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;
using aio::conformance::run_async_test;

namespace {

// The callback of the CPython tests: records its argument, stops the loop after `stop_after` calls.
auto recorder(aio::EventLoop& loop, std::vector<std::string>& results, std::size_t stop_after) {
  return [&loop, &results, stop_after](std::string arg) {
    return [&loop, &results, stop_after, arg = std::move(arg)] {
      results.push_back(arg);
      if (results.size() >= stop_after) loop.stop();
    };
  };
}

// test_call_soon
TEST(AsyncioEvents, CallSoon) {
  aio::EventLoop loop;
  std::vector<std::string> results;
  auto callback = recorder(loop, results, 1);
  loop.call_soon(callback("hello world"));
  loop.run_forever();
  EXPECT_EQ(results, std::vector<std::string>{"hello world"});
}

// test_call_soon_threadsafe: another thread posts 'hello', then (after it is done) the loop's thread
// schedules 'world' — 'hello' runs first
TEST(AsyncioEvents, CallSoonThreadsafe) {
  aio::EventLoop loop;
  std::vector<std::string> results;
  auto callback = recorder(loop, results, 2);
  std::thread t([&] { EXPECT_TRUE(loop.call_soon_threadsafe(callback("hello"))); });
  t.join();
  loop.call_soon(callback("world"));
  loop.run_forever();
  EXPECT_EQ(results, (std::vector<std::string>{"hello", "world"}));
}

// test_call_soon_threadsafe_same_thread (issue 9: posted callbacks reached the ready queue only when
// the loop read its eventfd, after the loop's own call_soon)
TEST(AsyncioEvents, CallSoonThreadsafeSameThread) {
  aio::EventLoop loop;
  std::vector<std::string> results;
  auto callback = recorder(loop, results, 2);
  loop.call_soon_threadsafe(callback("hello"));
  loop.call_soon(callback("world"));
  loop.run_forever();
  EXPECT_EQ(results, (std::vector<std::string>{"hello", "world"}));
}

// The same rule from inside a running loop, and for a task's wake-up (asyncio schedules it with
// call_soon too): a callback posted first runs first.
TEST(AsyncioEvents, PostedCallbackRunsBeforeALaterWakeUp) {
  run_async_test([]() -> Task<void> {
    auto& loop = aio::get_running_loop();
    std::vector<std::string> order;
    aio::Event ev;
    auto waiter = aio::create_task([](aio::Event& ev, std::vector<std::string>& order) -> Task<void> {
      co_await ev.wait();
      order.push_back("woken task");
    }(ev, order));
    co_await aio::sleep(0);
    loop.call_soon_threadsafe([&order] { order.push_back("posted"); });
    loop.call_soon([&order] { order.push_back("call_soon"); });
    ev.set();
    co_await waiter;
    EXPECT_EQ(order, (std::vector<std::string>{"posted", "call_soon", "woken task"}));
  });
}

// Many threads posting while the loop schedules its own callbacks: each thread's posts run in the
// order it posted them, and all of them run.
TEST(AsyncioEvents, CallSoonThreadsafeKeepsEachThreadsOrder) {
  constexpr int kThreads = 4, kPosts = 2000;
  aio::EventLoop loop;
  std::vector<std::vector<int>> seen(kThreads);
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i)
        loop.call_soon_threadsafe([&, t, i] {
          seen[t].push_back(i);
          if (ran.fetch_add(1) + 1 == kThreads * kPosts) loop.stop();
        });
    });
  std::function<void()> tick = [&] {  // the loop's own traffic, interleaved with the posts
    if (ran.load() < kThreads * kPosts) loop.call_soon(tick);
  };
  loop.call_soon(tick);
  loop.run_forever();
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<std::size_t>(kPosts));
    for (int i = 0; i < kPosts; ++i) ASSERT_EQ(seen[t][i], i);
  }
}

}  // namespace
