// Starting a child harness executable, reading the pids it prints on its first line, then SIGKILLing
// and reaping it: how the orphan and parent-death tests make a parent die without a destructor.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "support/dev_shm.hpp"

extern char** environ;

namespace tandem::test {

struct KilledHarness {
  pid_t pid = 0;            // the harness itself, reaped
  std::vector<pid_t> pids;  // what it printed: the processes it started
};

inline KilledHarness start_and_kill_harness(const std::string& path, std::vector<std::string> args) {
  KilledHarness k;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return k;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string exe = path;
  std::vector<char*> argv{exe.data()};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&k.pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    ADD_FAILURE() << "cannot start " << path;
    return k;
  }
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  std::istringstream in(line);
  for (int pid; in >> pid;) k.pids.push_back(pid);
  EXPECT_EQ(kill(k.pid, SIGKILL), 0);
  int status = 0;
  EXPECT_EQ(waitpid(k.pid, &status, 0), k.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the harness ended before the kill";
  return k;
}

}  // namespace tandem::test
