// Specification of create_subprocess_exec and add_signal_handler.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;

namespace {

aio::SubprocessOptions pipes(bool in = false) {
  aio::SubprocessOptions o;
  if (in) o.stdin_mode = aio::Stdio::pipe;
  o.stdout_mode = aio::Stdio::pipe;
  o.stderr_mode = aio::Stdio::pipe;
  return o;
}

TEST(AioSubprocess, ReadsOutputAndExitCode) {
  auto main = []() -> Task<void> {
    // (GCC 12 cannot keep a braced initializer_list alive across co_await: name the vector first.)
    std::vector<std::string> args{"-c", "echo out; echo err >&2; exit 3"};
    auto p = co_await aio::create_subprocess_exec("sh", std::move(args), pipes());
    EXPECT_GT(p.pid(), 0);
    EXPECT_EQ(co_await p.stdout_pipe().readline(), "out\n");
    EXPECT_EQ(co_await p.stderr_pipe().read(), "err\n");
    EXPECT_EQ(co_await p.wait(), 3);
    EXPECT_EQ(p.returncode(), 3);
  };
  aio::run(main());
}

TEST(AioSubprocess, CommunicateFeedsStdin) {
  auto main = []() -> Task<void> {
    auto p = co_await aio::create_subprocess_exec("cat", {}, pipes(true));
    auto [out, err] = co_await p.communicate("through cat\n");
    EXPECT_EQ(out, "through cat\n");
    EXPECT_EQ(err, "");
    EXPECT_EQ(p.returncode(), 0);
  };
  aio::run(main());
}

TEST(AioSubprocess, KilledChildReportsMinusSignal) {
  auto main = []() -> Task<void> {
    std::vector<std::string> args{"60"};
    auto p = co_await aio::create_subprocess_exec("sleep", std::move(args));
    auto waiter = aio::create_task(p.wait());
    co_await aio::sleep(0);
    EXPECT_FALSE(p.returncode().has_value());
    p.kill();
    EXPECT_EQ(co_await waiter, -SIGKILL);
  };
  aio::run(main());
}

TEST(AioSubprocess, CancelledWaitLeavesNoResidueAndCanBeRetried) {
  auto main = []() -> Task<void> {
    std::vector<std::string> args{"60"};
    auto p = co_await aio::create_subprocess_exec("sleep", std::move(args));
    EXPECT_THROW(co_await aio::timeout(2ms, p.wait()), tandem::TimeoutError);
    p.terminate();
    EXPECT_EQ(co_await p.wait(), -SIGTERM);
  };
  aio::run(main());
}

TEST(AioSubprocess, MissingProgramIsASpawnError) {
  auto main = []() -> Task<void> {
    EXPECT_THROW(co_await aio::create_subprocess_exec("/nonexistent/tandem-no-such-program"), aio::SpawnError);
  };
  aio::run(main());
}

TEST(AioSubprocess, ManyWaitersOfOneChild) {
  auto main = []() -> Task<void> {
    auto p = co_await aio::create_subprocess_exec("true");
    auto [a, b] = co_await aio::gather(p.wait(), p.wait());
    EXPECT_EQ(a, 0);
    EXPECT_EQ(b, 0);
  };
  aio::run(main());
}

TEST(AioSignals, HandlerRunsOnTheLoop) {
  auto main = []() -> Task<int> {
    auto& loop = aio::get_running_loop();
    aio::Event got;
    int count = 0;
    loop.add_signal_handler(SIGUSR1, [&] {
      ++count;
      got.set();
    });
    pthread_kill(pthread_self(), SIGUSR1);  // blocked here, so it waits in the signalfd
    co_await got.wait();
    EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
    EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
    EXPECT_THROW(loop.add_signal_handler(SIGKILL, [] {}), tandem::InvalidStateError);
    co_return count;
  };
  EXPECT_EQ(aio::run(main()), 1);
}

}  // namespace
