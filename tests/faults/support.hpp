// Shared helpers of the fault suite: sizes, and the accounting every test ends with (no zombie, no
// descriptor or /dev/shm growth, no survivor).
#pragma once

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <thread>

#include "support/dev_shm.hpp"
#include "support/harness.hpp"

namespace tandem::faults {

/// 1 by default; --soak (or TANDEM_FAULT_SOAK=N) multiplies the sizes for long manual runs.
int& scale_storage();
inline int scale() { return scale_storage(); }

inline bool under_sanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}
inline bool under_tsan() {
#if defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

inline std::set<std::string> list_dir(const char* path) {
  std::set<std::string> out;
  if (DIR* d = opendir(path)) {
    while (auto* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.insert(n);
    }
    closedir(d);
  }
  return out;
}

/// The segments that process `pid` named in /dev/shm since this program started (see dev_shm.hpp).
inline std::set<std::string> segments_of(pid_t pid) { return tandem::test::dev_shm({pid}); }
inline std::set<std::string> my_segments() { return segments_of(getpid()); }

inline std::size_t open_fds() { return list_dir("/proc/self/fd").size(); }

/// No child at all, not even a zombie.
inline bool no_children() {
  int status;
  return waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

using tandem::test::exits_within;

/// Polls `done` until it holds or `limit` passes; returns its last value.
template <class Pred>
bool eventually(Pred done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace tandem::faults
