// tandem/aio/subprocess.hpp — child processes with pipes, awaited on the loop
// (Python: asyncio.create_subprocess_exec, asyncio.subprocess.Process).
//
// ```cpp coroutine
//   aio::SubprocessOptions o;
//   o.stdout_mode = aio::Stdio::pipe;
//   std::vector<std::string> args{"hello"};  // GCC 12 rejects a braced list inside co_await
//   auto proc = co_await aio::create_subprocess_exec("echo", args, o);
//   std::string out = co_await proc.stdout_pipe().read();   // "hello\n"
//   int code = co_await proc.wait();                          // 0
// ```
//
// The child is started with posix_spawn (safe when the parent already runs threads). Its exit is
// watched through a pidfd, so wait() is an ordinary suspension point: cancellable, no SIGCHLD handler,
// no polling. Writing to a pipe whose reader exited gives ConnectionResetError, not a fatal SIGPIPE:
// the first stdin pipe makes the process ignore SIGPIPE (as the Python interpreter always does).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/aio/streams.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/errors.hpp"

namespace tandem::aio {

/// What a child's standard stream is connected to (Python: None, PIPE, DEVNULL).
enum class Stdio { inherit, pipe, devnull };

struct SubprocessOptions {
  Stdio stdin_mode = Stdio::inherit;
  Stdio stdout_mode = Stdio::inherit;
  Stdio stderr_mode = Stdio::inherit;
  /// Working directory of the child (unset: ours).
  std::optional<std::string> cwd;
};

/// The child could not be started (program not found, not executable...); code() is the errno.
class SpawnError : public Error {
 public:
  SpawnError(const std::string& message, int code) : Error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {
class ProcessState;
}

/// A running or finished child (Python: asyncio.subprocess.Process). Copies share it.
class Process {
 public:
  Process() = default;
  explicit Process(std::shared_ptr<detail::ProcessState> s) : s_(std::move(s)) {}

  pid_t pid() const;
  /// Exit status once wait() saw it: the exit code, or -N if killed by signal N (Python's convention).
  std::optional<int> returncode() const;
  /// Waits for the child to exit and returns returncode().
  Task<int> wait();
  /// Writes `input` to stdin (then closes it), reads stdout and stderr to EOF, waits for the exit.
  /// Streams not opened with Stdio::pipe give "".
  Task<std::pair<std::string, std::string>> communicate(std::string input = {});
  void send_signal(int sig);
  void terminate();  // SIGTERM
  void kill();       // SIGKILL

  /// The pipes (InvalidStateError unless opened with Stdio::pipe). `stdin` etc. are macros in C.
  StreamWriter& stdin_pipe();
  StreamReader& stdout_pipe();
  StreamReader& stderr_pipe();

 private:
  std::shared_ptr<detail::ProcessState> s_;
};

/// Starts `program` (looked up in PATH) with `args` (argv[1:]). Throws SpawnError.
Task<Process> create_subprocess_exec(std::string program, std::vector<std::string> args = {},
                                     SubprocessOptions options = {});

}  // namespace tandem::aio
