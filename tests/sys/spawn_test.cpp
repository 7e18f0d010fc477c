// The sys layer's process and descriptor primitives: what Process, the pool and aio subprocess rely on.
#include "src/sys/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "src/sys/fd.hpp"

namespace {

using tandem::sys::UniqueFd;

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

tandem::sys::SpawnRequest request(std::string program, std::vector<std::string> argv) {
  tandem::sys::SpawnRequest r;
  r.what = program;
  r.program = std::move(program);
  r.argv = std::move(argv);
  return r;
}

TEST(UniqueFd, ClosesOnDestructionAndResetButNotAfterRelease) {
  auto [r, w] = tandem::sys::make_pipe("test");
  const int rfd = r.get(), wfd = w.get();
  EXPECT_TRUE(is_open(rfd));
  EXPECT_TRUE(fcntl(rfd, F_GETFD) & FD_CLOEXEC);
  { UniqueFd gone(std::move(r)); }
  EXPECT_FALSE(is_open(rfd));
  EXPECT_FALSE(r);
  const int kept = w.release();
  EXPECT_EQ(kept, wfd);
  EXPECT_FALSE(w);
  EXPECT_TRUE(is_open(kept));
  UniqueFd again;
  again.reset(kept);
  again.reset();
  EXPECT_FALSE(is_open(kept));
}

TEST(Spawn, ReapReportsTheExitCodeOrMinusTheSignal) {
  auto child = tandem::sys::spawn(request("/bin/sh", {"sh", "-c", "exit 3"}));
  ASSERT_TRUE(child.pidfd);
  EXPECT_EQ(tandem::sys::reap(child.pid, true), 3);

  auto sleeps = request("sleep", {"sleep", "30"});
  sleeps.search_path = true;
  auto sleeper = tandem::sys::spawn(sleeps);
  EXPECT_EQ(tandem::sys::reap(sleeper.pid, false), std::nullopt);
  tandem::sys::send_signal(sleeper.pidfd.get(), SIGKILL);
  EXPECT_EQ(tandem::sys::reap(sleeper.pid, true), -SIGKILL);
  EXPECT_EQ(tandem::sys::signal_name(SIGKILL), "SIGKILL");
}

TEST(Spawn, TheFdMapConnectsTheChildsDescriptors) {
  auto [r, w] = tandem::sys::make_pipe("test");
  auto echo = request("/bin/sh", {"sh", "-c", "echo hello"});
  echo.fds.push_back({.target = 1, .source = w.get(), .open_path = nullptr, .open_flags = 0});
  auto child = tandem::sys::spawn(echo);
  w.reset();
  char buf[16] = {};
  ssize_t n = read(r.get(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "hello\n");
  EXPECT_EQ(tandem::sys::reap(child.pid, true), 0);
}

TEST(Spawn, AMissingProgramThrowsWithTheCallersPrefix) {
  auto missing = request("/nonexistent/tandem-no-such-program", {});
  missing.what = "cannot execute it";
  try {
    tandem::sys::spawn(missing);
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(std::string(e.what()).rfind("cannot execute it", 0), 0u) << e.what();
  }
}

}  // namespace
