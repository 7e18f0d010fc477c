// Private (sys layer): starting a copy of this program that does one job before main, and waiting for
// a process with a bound.
//
// The copy is /proc/self/exe started with posix_spawn (safe when the parent already runs threads) and a
// marker in its environment. A static initializer in the translation unit that owns the job calls
// take_marker() and, when the marker is there, does the job and _exits: main() never runs in the copy.
// Users: tandem::Process (spawn start method, marker TANDEM_SPAWN) and the shared-memory resource
// tracker (marker TANDEM_SHM_TRACKER).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>

namespace tandem::sys {

/// The first descriptor number a spawned copy receives: `SpawnSelf::fds` become 3, 4, ...
inline constexpr int kFirstPassedFd = 3;

struct SpawnSelf {
  const char* marker = nullptr;   // environment variable the copy's static initializer looks for
  std::string value;              // its value
  std::span<const int> fds;       // passed to the copy as descriptors 3, 4, ... (the originals stay open)
  /// A daemon-like copy: its own session (a signal to the caller's process group does not reach it),
  /// standard streams on /dev/null (it holds none of the caller's pipes open) and no descriptor other
  /// than `fds`. Otherwise the copy shares the caller's session, streams and inheritable descriptors.
  bool detach = false;
  std::string argv0;              // default: the caller's program_invocation_name
  std::string what;               // message prefix if the spawn fails, e.g. "tandem::Process: cannot spawn P-1"
};

/// Starts the copy; signals are unblocked and at their defaults in it. Throws std::system_error.
pid_t spawn_self(const SpawnSelf& how);

/// In a copy, before main: the marker's value if the environment has it (nullopt otherwise), removed
/// from the environment so that the copy's own children are ordinary.
std::optional<std::string> take_marker(const char* marker);

/// A pidfd for `pid` (close-on-exec), or -1 with errno set (ESRCH: already gone and reaped).
int open_pidfd(pid_t pid) noexcept;

/// Waits up to `timeout` for the child `pid` to end, and reaps it; false if it had to be killed
/// (SIGKILL) and reaped because it was still running then.
bool reap_within(pid_t pid, std::chrono::milliseconds timeout) noexcept;

}  // namespace tandem::sys
