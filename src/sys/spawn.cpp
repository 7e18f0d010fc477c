#include "spawn.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "errors.hpp"

extern char** environ;

namespace tandem::sys {

namespace {

struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
};

struct Attributes {
  posix_spawnattr_t attr;
  Attributes() { posix_spawnattr_init(&attr); }
  ~Attributes() { posix_spawnattr_destroy(&attr); }
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Child spawn(const SpawnRequest& r) {
  // Each source is first copied above every target number, so that no dup2 clobbers a later source.
  int base = 0;
  for (const auto& f : r.fds) base = std::max(base, f.target + 1);
  std::vector<UniqueFd> copies;
  FileActions fa;
  for (const auto& f : r.fds) {
    if (f.open_path) {
      posix_spawn_file_actions_addopen(&fa.fa, f.target, f.open_path, f.open_flags, 0);
      continue;
    }
    UniqueFd copy(fcntl(f.source, F_DUPFD_CLOEXEC, base));
    if (!copy) throw_errno(r.what + ": cannot duplicate a descriptor for the child", errno);
    posix_spawn_file_actions_adddup2(&fa.fa, copy.get(), f.target);
    copies.push_back(std::move(copy));
  }
  if (r.close_from >= 0) posix_spawn_file_actions_addclosefrom_np(&fa.fa, r.close_from);
  if (r.cwd) posix_spawn_file_actions_addchdir_np(&fa.fa, r.cwd);

  Attributes at;
  short flags = 0;
  if (r.default_signals) {
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at.attr, &none);
    posix_spawnattr_setsigdefault(&at.attr, &all);
    flags |= POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  }
  if (r.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&at.attr, flags);

  std::vector<std::string> argv_storage = r.argv.empty() ? std::vector<std::string>{r.program} : r.argv;
  auto argv = pointers(argv_storage);
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  if (r.env) {
    env_storage = *r.env;
    envp = pointers(env_storage);
  }
  char* const* env = r.env ? envp.data() : environ;

  pid_t pid = 0;
  int rc = r.search_path ? posix_spawnp(&pid, r.program.c_str(), &fa.fa, &at.attr, argv.data(), env)
                         : posix_spawn(&pid, r.program.c_str(), &fa.fa, &at.attr, argv.data(), env);
  if (rc != 0) throw_errno(r.what, rc);
  Child child{pid, UniqueFd(open_pidfd(pid))};
  if (!child.pidfd) {
    int err = errno;
    ::kill(pid, SIGKILL);
    reap(pid, true);
    throw_errno(r.what + ": pidfd_open (Linux 5.3+ needed)", err);
  }
  return child;
}

std::optional<int> reap(pid_t pid, bool block) noexcept {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1;
  }
  if (r < 0 && errno == ECHILD) return -1;  // reaped by someone else (SA_NOCLDWAIT?): status unknown
  return std::nullopt;
}

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

void send_signal(int pidfd, int sig) noexcept { ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0); }

int open_pidfd(pid_t pid) noexcept {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

bool reap_within(const Child& child, std::chrono::milliseconds timeout) noexcept {
  bool ended = true;
  if (child.pidfd) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd p{child.pidfd.get(), POLLIN, 0};
      int r = poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
      if (r >= 0 || errno != EINTR) {
        ended = r > 0;
        break;
      }
    }
  }
  if (!ended) kill(child.pid, SIGKILL);
  reap(child.pid, true);
  return ended;
}

Child spawn_self(const SpawnSelf& how) {
  SpawnRequest r;
  r.program = "/proc/self/exe";
  r.argv = {!how.argv0.empty()        ? how.argv0
            : program_invocation_name ? std::string(program_invocation_name)
                                      : std::string("tandem-child")};
  const std::string prefix = std::string(how.marker) + "=";
  r.env.emplace();
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) r.env->emplace_back(*e);
  r.env->push_back(prefix + how.value);
  if (how.detach) {
    r.fds.push_back({.target = 0, .open_path = "/dev/null", .open_flags = O_RDONLY});
    r.fds.push_back({.target = 1, .open_path = "/dev/null", .open_flags = O_WRONLY});
    r.fds.push_back({.target = 2, .open_path = "/dev/null", .open_flags = O_WRONLY});
  }
  const int n = static_cast<int>(how.fds.size());
  for (int i = 0; i < n; ++i) r.fds.push_back({.target = kFirstPassedFd + i, .source = how.fds[i]});
  if (how.detach) r.close_from = kFirstPassedFd + n;
  r.new_session = how.detach;
  r.default_signals = true;
  r.what = how.what;
  return spawn(r);
}

std::optional<std::string> take_marker(const char* marker) {
  const char* v = std::getenv(marker);
  if (!v) return std::nullopt;
  std::string value = v;
  unsetenv(marker);
  return value;
}

}  // namespace tandem::sys
