// Private (sys layer): the one way tandem starts a child process, waits for it, and names its end.
//
// spawn() is posix_spawn (safe when the parent already runs threads: nothing runs in the child between
// fork and exec) of a program with an argv, an environment and a map of the child's descriptors, and
// returns the child's pid with a pidfd for it (poll it to learn that the child ended; signal through it
// without racing pid reuse). reap() turns its end into the status Python reports.
// Users: aio::create_subprocess_exec (any program), and through spawn_self tandem::Process (spawn start
// method, marker TANDEM_SPAWN), the process pool's workers (Processes) and the shared-memory resource
// tracker (marker TANDEM_SHM_TRACKER).
//
// spawn_self starts a copy of this program that does one job before main: /proc/self/exe with a marker
// in its environment. A static initializer in the translation unit that owns the job calls
// take_marker() and, when the marker is there, does the job and _exits: main() never runs in the copy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fd.hpp"

namespace tandem::sys {

/// One descriptor of the child: `target` becomes a copy of our `source` (which stays open here), or the
/// file `open_path` opened with `open_flags`. Targets not named are inherited unless close-on-exec.
struct ChildFd {
  int target = -1;
  int source = -1;
  const char* open_path = nullptr;
  int open_flags = 0;
};

struct SpawnRequest {
  std::string program;              // a path; with search_path, a bare name is looked up in PATH
  bool search_path = false;
  std::vector<std::string> argv;    // argv[0] first; empty: {program}
  std::optional<std::vector<std::string>> env;  // "NAME=value" entries; nullopt: this process's environ
  std::vector<ChildFd> fds;         // applied in order
  /// Close every descriptor from this number up (after the map); -1: close none.
  int close_from = -1;
  /// Its own session (setsid): a signal to the caller's process group does not reach it.
  bool new_session = false;
  /// Signals unblocked and at their defaults in the child (otherwise it inherits the caller's mask and
  /// ignored signals, as posix_spawn does by default).
  bool default_signals = false;
  const char* cwd = nullptr;        // working directory of the child; nullptr: the caller's
  std::string what;                 // message prefix if the spawn fails, e.g. "cannot execute 'ls'"
};

struct Child {
  pid_t pid = 0;
  UniqueFd pidfd;  // readable once the child has ended
};

/// Starts the child. Throws std::system_error ("<what>: <reason>"); if the kernel gives no pidfd
/// (Linux < 5.3) the child is killed and reaped before the throw.
Child spawn(const SpawnRequest& request);

/// Reaps `pid` once it has ended — waiting for that when `block` — and returns its status as Python
/// reports it: the exit code, or minus the number of the signal that killed it; -1 if it is not our
/// child any more (someone else reaped it). nullopt: still running (never when `block`).
std::optional<int> reap(pid_t pid, bool block) noexcept;

/// Human name of a signal ("SIGKILL"), or "signal <n>".
std::string signal_name(int sig);

/// Sends `sig` through a pidfd (no race with the reuse of a reaped child's pid). Errors are ignored:
/// the child may have ended.
void send_signal(int pidfd, int sig) noexcept;

/// A pidfd for `pid` (close-on-exec), or -1 with errno set (ESRCH: already gone and reaped).
int open_pidfd(pid_t pid) noexcept;

/// Waits up to `timeout` for `child` to end, and reaps it; false if it had to be killed (SIGKILL) and
/// reaped because it was still running then.
bool reap_within(const Child& child, std::chrono::milliseconds timeout) noexcept;

// ---- a copy of this program ----

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
Child spawn_self(const SpawnSelf& how);

/// In a copy, before main: the marker's value if the environment has it (nullopt otherwise), removed
/// from the environment so that the copy's own children are ordinary.
std::optional<std::string> take_marker(const char* marker);

}  // namespace tandem::sys
