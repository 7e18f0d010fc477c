// open_connection's name lookup stays off the loop (asyncio resolves in its default executor): with
// every thread of aio::default_executor() held busy, a connect to a *name* waits while the loop keeps
// running, an IP literal connects at once, and cancelling the waiting connect leaves nothing behind.
#include <gtest/gtest.h>

#include <future>

#include "aio/support.hpp"
#include "tandem/aio.hpp"
#include "tandem/aio/threads.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;

namespace {

/// Occupies every worker of the default executor until release() (or destruction).
class BusyDefaultExecutor {
 public:
  BusyDefaultExecutor() {
    gate_ = promise_.get_future().share();
    for (std::size_t i = 0; i < tandem::ThreadPoolExecutor::default_max_workers(); ++i)
      blockers_.push_back(aio::default_executor().submit([g = gate_] { g.wait(); }));
  }
  ~BusyDefaultExecutor() { release(); }
  void release() {
    if (released_) return;
    released_ = true;
    promise_.set_value();
    for (auto& b : blockers_) b.result();
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> gate_;
  std::vector<tandem::Future<void>> blockers_;
  bool released_ = false;
};

aio::Task<aio::Server> echo_server() {
  co_return co_await aio::start_server(
      [](aio::StreamReader, aio::StreamWriter writer) -> aio::Task<void> {
        writer.close();
        co_return;
      },
      "127.0.0.1", 0);
}

}  // namespace

TEST(OpenConnectionResolve, ANameIsResolvedOnTheDefaultExecutorWhileTheLoopRuns) {
  BusyDefaultExecutor busy;
  aio::run([&]() -> aio::Task<void> {
    auto server = co_await echo_server();
    auto connect = aio::create_task(aio::open_connection("localhost", server.port()));
    int ticks = 0;
    for (; ticks < 20; ++ticks) co_await aio::sleep(1ms);  // the loop is free meanwhile
    EXPECT_EQ(ticks, 20);
    EXPECT_FALSE(connect.done());  // its lookup waits for a resolver thread
    busy.release();
    auto conn = co_await connect;
    conn.writer.close();
    server.close();
    co_await server.wait_closed();
  }());
}

TEST(OpenConnectionResolve, AnAddressLiteralNeedsNoResolverThread) {
  BusyDefaultExecutor busy;
  aio::run([&]() -> aio::Task<void> {
    auto server = co_await echo_server();  // "127.0.0.1" to bind: no lookup either
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    conn.writer.close();
    server.close();
    co_await server.wait_closed();
  }());
}

TEST(OpenConnectionResolve, CancellingAConnectWaitingForItsLookupLeavesNothingBehind) {
  BusyDefaultExecutor busy;
  aio::run([&]() -> aio::Task<void> {
    auto& loop = aio::get_running_loop();
    auto connect = aio::create_task(aio::open_connection("localhost", 9));
    co_await aio::sleep(1ms);
    connect.cancel();
    bool cancelled = false;
    try {
      co_await connect;
    } catch (const tandem::CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(loop.pending_task_count(), 1u);  // only this one
    EXPECT_EQ(loop.timer_count(), 0u);
  }());
  busy.release();  // the abandoned lookup (cancelled before it started) never runs
}
