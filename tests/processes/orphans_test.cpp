// A parent killed with SIGKILL leaves no orphaned pool workers behind (they notice and exit).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <string>
#include <vector>

#include "support/harness.hpp"

extern char** environ;

namespace {

#ifndef TANDEM_ORPHAN_HARNESS
#define TANDEM_ORPHAN_HARNESS ""
#endif

bool exits_within_a_minute(pid_t pid) { return tandem::test::exits_within(pid); }

std::vector<pid_t> run_and_kill_harness(std::vector<std::string> args) {
  EXPECT_STRNE(TANDEM_ORPHAN_HARNESS, "") << "the harness path was not configured (tests/processes/extra.cmake)";
  return tandem::test::start_and_kill_harness(TANDEM_ORPHAN_HARNESS, std::move(args)).pids;
}

TEST(Orphans, WorkersExitWhenTheirParentIsKilled) {
  auto workers = run_and_kill_harness({});
  ASSERT_EQ(workers.size(), 3u);
  for (pid_t w : workers) EXPECT_TRUE(exits_within_a_minute(w)) << "worker " << w << " outlived its parent";
}

class DaemonOrphans : public ::testing::TestWithParam<const char*> {};

bool fork_under_tsan(const char* method) {
#if defined(__SANITIZE_THREAD__)
  return std::string(method) == "fork";
#else
  (void)method;
  return false;
#endif
}

TEST_P(DaemonOrphans, ADaemonProcessDiesWithAParentKilledBySigkill) {
  if (fork_under_tsan(GetParam())) GTEST_SKIP() << "TSan: fork of a multithreaded process is unsupported";
  auto pids = run_and_kill_harness({"process", GetParam(), "daemon"});
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(exits_within_a_minute(pids[0])) << "daemon process " << pids[0] << " outlived its parent";
}

TEST_P(DaemonOrphans, APlainProcessOutlivesAParentKilledBySigkillAsDocumented) {
  if (fork_under_tsan(GetParam())) GTEST_SKIP() << "TSan: fork of a multithreaded process is unsupported";
  auto pids = run_and_kill_harness({"process", GetParam(), "plain"});
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(kill(pids[0], 0), 0) << "a non-daemon child should survive its parent's SIGKILL (Python's default)";
  kill(pids[0], SIGKILL);  // not ours to reap: init does
  EXPECT_TRUE(exits_within_a_minute(pids[0]));
}

INSTANTIATE_TEST_SUITE_P(StartMethods, DaemonOrphans, ::testing::Values("spawn", "fork"));

}  // namespace
