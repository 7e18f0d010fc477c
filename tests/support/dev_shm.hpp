// Test support: what tandem has in /dev/shm, and waiting for other processes to go, without timing
// assertions (a bound only keeps a broken build from hanging).
#pragma once

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tandem::test {

inline std::set<std::string> tandem_names_in_dev_shm() {
  std::set<std::string> out;
  if (DIR* d = opendir("/dev/shm")) {
    while (auto* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("tandem_", 0) == 0) out.insert(n);
    }
    closedir(d);
  }
  return out;
}

/// tandem's names that were in /dev/shm when this test program started: left by earlier runs (killed
/// before the resource tracker existed) or by programs beside it. pid_max is often 32768, so a test's
/// child can get the pid of a long-dead process whose names are still there: they are not the test's.
inline const std::set<std::string>& preexisting_names() {
  static const std::set<std::string> names = tandem_names_in_dev_shm();
  return names;
}
inline const bool preexisting_names_taken_at_start = !preexisting_names().empty() || true;

/// Segments created by these processes since this program started (tandem's generated names carry
/// the creator's pid), so that tests running in parallel elsewhere do not disturb the comparison.
inline std::set<std::string> dev_shm(const std::vector<pid_t>& creators) {
  std::set<std::string> out;
  for (const auto& n : tandem_names_in_dev_shm()) {
    if (preexisting_names().count(n)) continue;
    for (pid_t pid : creators)
      if (n.rfind("tandem_" + std::to_string(pid) + "_", 0) == 0) out.insert(n);
  }
  return out;
}

inline bool in_dev_shm(const std::string& name) {
  struct stat st{};
  return stat(("/dev/shm/" + name).c_str(), &st) == 0;
}

/// Polls until none of `names` is in /dev/shm, for at most `bound`; the names still there.
inline std::set<std::string> wait_until_gone(const std::set<std::string>& names,
                                             std::chrono::seconds bound = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    std::set<std::string> left;
    for (const auto& n : names)
      if (in_dev_shm(n)) left.insert(n);
    if (left.empty() || std::chrono::steady_clock::now() > deadline) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// Whether a process (not necessarily our child) has exited within `bound` (a bound on a hang, not a
/// timing check).
inline bool exits_within(pid_t pid, std::chrono::seconds bound = std::chrono::seconds(60)) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already gone
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(std::chrono::milliseconds(bound).count()));
  close(fd);
  return r == 1;
}

}  // namespace tandem::test
