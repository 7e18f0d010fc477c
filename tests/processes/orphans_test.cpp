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

extern char** environ;

namespace {

#ifndef TANDEM_ORPHAN_HARNESS
#define TANDEM_ORPHAN_HARNESS ""
#endif

// Waits (up to a minute) for an unrelated process to exit, without polling its status by sleeping.
bool exits_within_a_minute(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already gone
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, 60'000);
  close(fd);
  return r == 1;
}

// Starts the harness with `args`, reads the pids it prints, SIGKILLs and reaps it; returns the pids.
std::vector<pid_t> run_and_kill_harness(std::vector<std::string> args) {
  std::vector<pid_t> pids;
  EXPECT_STRNE(TANDEM_ORPHAN_HARNESS, "") << "the harness path was not configured (tests/processes/extra.cmake)";
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return pids;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string path = TANDEM_ORPHAN_HARNESS;
  std::vector<char*> argv{path.data()};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t harness = 0;
  int rc = posix_spawn(&harness, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  EXPECT_EQ(rc, 0);
  if (rc != 0) {
    close(out[0]);
    return pids;
  }
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  std::istringstream in(line);
  for (int pid; in >> pid;) pids.push_back(pid);
  EXPECT_EQ(kill(harness, SIGKILL), 0);
  int status = 0;
  EXPECT_EQ(waitpid(harness, &status, 0), harness);
  EXPECT_TRUE(WIFSIGNALED(status));
  return pids;
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
