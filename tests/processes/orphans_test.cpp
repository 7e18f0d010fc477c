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

TEST(Orphans, WorkersExitWhenTheirParentIsKilled) {
  ASSERT_STRNE(TANDEM_ORPHAN_HARNESS, "") << "the harness path was not configured (tests/processes/extra.cmake)";
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char path[] = TANDEM_ORPHAN_HARNESS;
  char* argv[] = {path, nullptr};
  pid_t harness = 0;
  ASSERT_EQ(posix_spawn(&harness, path, &fa, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);

  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  std::vector<pid_t> workers;
  std::istringstream in(line);
  for (int pid; in >> pid;) workers.push_back(pid);
  ASSERT_EQ(workers.size(), 3u) << "harness printed: '" << line << "'";

  ASSERT_EQ(kill(harness, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(harness, &status, 0), harness);
  EXPECT_TRUE(WIFSIGNALED(status));
  for (pid_t w : workers) EXPECT_TRUE(exits_within_a_minute(w)) << "worker " << w << " outlived its parent";
}

}  // namespace
