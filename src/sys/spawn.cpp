#include "spawn.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "errors.hpp"

extern char** environ;

namespace tandem::sys {

pid_t spawn_self(const SpawnSelf& how) {
  // Copies of the sources above every target number, so that no dup2 clobbers a later source.
  const int n = static_cast<int>(how.fds.size());
  const int base = kFirstPassedFd + n + 8;
  std::vector<int> copies;
  auto close_copies = [&] {
    for (int c : copies) ::close(c);
  };
  for (int s : how.fds) {
    int c = fcntl(s, F_DUPFD_CLOEXEC, base);
    if (c < 0) {
      int err = errno;
      close_copies();
      throw_errno(how.what + ": cannot duplicate a descriptor for the child", err);
    }
    copies.push_back(c);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (how.detach) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  for (int i = 0; i < n; ++i) posix_spawn_file_actions_adddup2(&actions, copies[i], kFirstPassedFd + i);
  if (how.detach) posix_spawn_file_actions_addclosefrom_np(&actions, kFirstPassedFd + n);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                     (how.detach ? POSIX_SPAWN_SETSID : 0)));

  const std::string prefix = std::string(how.marker) + "=";
  std::vector<std::string> env_storage;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) env_storage.emplace_back(*e);
  env_storage.push_back(prefix + how.value);
  std::vector<char*> envp;
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string argv0 = !how.argv0.empty()        ? how.argv0
                      : program_invocation_name ? program_invocation_name
                                                : "tandem-child";
  char* argv[] = {argv0.data(), nullptr};

  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_copies();
  if (rc != 0) throw_errno(how.what, rc);
  return pid;
}

std::optional<std::string> take_marker(const char* marker) {
  const char* v = std::getenv(marker);
  if (!v) return std::nullopt;
  std::string value = v;
  unsetenv(marker);
  return value;
}

int open_pidfd(pid_t pid) noexcept {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

bool reap_within(pid_t pid, std::chrono::milliseconds timeout) noexcept {
  bool ended = true;
  if (int fd = open_pidfd(pid); fd >= 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
      if (r >= 0 || errno != EINTR) {
        ended = r > 0;
        break;
      }
    }
    ::close(fd);
  }  // without a pidfd (kernel < 5.3), wait without a bound
  if (!ended) kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return ended;
}

}  // namespace tandem::sys
