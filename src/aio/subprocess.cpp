// Child processes (see tandem/aio/subprocess.hpp).
#include "tandem/aio/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "tandem/aio/tasks.hpp"
#include "../sys/fd.hpp"
#include "../sys/spawn.hpp"
#include "transport.hpp"

namespace tandem::aio {
namespace detail {

class ProcessState {
 public:
  ProcessState(EventLoop& loop, sys::Child child) : loop_(&loop), pid_(child.pid), pidfd_(std::move(child.pidfd)) {}
  ProcessState(const ProcessState&) = delete;
  ~ProcessState() {
    if (!returncode_) reap(false);  // a child still running stays a zombie until it exits: wait() it
    detail::LoopAccess::forget_fd(*loop_, pidfd_.get());
  }

  bool reap(bool block) {
    returncode_ = sys::reap(pid_, block);
    return returncode_.has_value();
  }

  Task<int> wait() {
    while (!returncode_) {
      if (!watching_) {
        watching_ = true;
        struct Done {
          ProcessState* s;
          ~Done() {
            s->watching_ = false;
            s->exited_.set();  // wakes the other waiters: one of them watches next if we were cancelled
            s->exited_.clear();
          }
        } done{this};
        if (reap(false)) break;
        FdWait w(pidfd_.get(), false);
        co_await w;
        reap(false);
      } else {
        co_await exited_.wait();
      }
    }
    co_return *returncode_;
  }

  EventLoop* loop_;
  pid_t pid_;
  sys::UniqueFd pidfd_;
  std::optional<int> returncode_;
  bool watching_ = false;
  Event exited_;
  std::optional<StreamWriter> in;
  std::optional<StreamReader> out, err;
};

namespace {

/// Connects the child's descriptor `target` as `mode` asks; for a pipe, returns our end.
sys::UniqueFd setup(sys::SpawnRequest& r, std::vector<sys::UniqueFd>& child_ends, Stdio mode, int target,
                    bool child_reads) {
  switch (mode) {
    case Stdio::inherit:
      break;
    case Stdio::devnull:
      r.fds.push_back({.target = target, .open_path = "/dev/null", .open_flags = child_reads ? O_RDONLY : O_WRONLY});
      break;
    case Stdio::pipe: {
      sys::PipeEnds p;
      try {
        p = sys::make_pipe("aio::create_subprocess_exec");
      } catch (const std::system_error& e) {
        throw SpawnError(e.what(), e.code().value());
      }
      sys::UniqueFd& theirs = child_reads ? p.read : p.write;
      r.fds.push_back({.target = target, .source = theirs.get()});
      child_ends.push_back(std::move(theirs));  // open until the child has its copy
      return std::move(child_reads ? p.write : p.read);
    }
  }
  return {};
}

}  // namespace
}  // namespace detail

Task<Process> create_subprocess_exec(std::string program, std::vector<std::string> args, SubprocessOptions options) {
  auto& loop = get_running_loop();
  if (options.stdin_mode == Stdio::pipe) {
    struct sigaction old {};
    ::sigaction(SIGPIPE, nullptr, &old);
    if (old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  }
  sys::SpawnRequest r;
  r.program = program;
  r.search_path = true;
  r.argv.push_back(program);
  for (auto& a : args) r.argv.push_back(std::move(a));
  if (options.cwd) r.cwd = options.cwd->c_str();
  r.what = "cannot execute '" + program + "'";
  std::vector<sys::UniqueFd> child_ends;
  sys::UniqueFd in = detail::setup(r, child_ends, options.stdin_mode, 0, true);
  sys::UniqueFd out = detail::setup(r, child_ends, options.stdout_mode, 1, false);
  sys::UniqueFd err = detail::setup(r, child_ends, options.stderr_mode, 2, false);
  sys::Child child;
  try {
    child = sys::spawn(r);
  } catch (const std::system_error& e) {
    throw SpawnError(e.what(), e.code().value());
  }
  child_ends.clear();  // the child's ends: closed here, so that our reads see EOF once the child exits
  auto name = "pid " + std::to_string(child.pid);
  auto state = std::make_shared<detail::ProcessState>(loop, std::move(child));
  auto pipe_end = [&](sys::UniqueFd& ours, const char* which) {
    int fd = ours.release();
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return std::make_shared<detail::Transport>(loop, fd, name + " " + which, false);
  };
  if (in) state->in.emplace(pipe_end(in, "stdin"));
  if (out) state->out.emplace(pipe_end(out, "stdout"));
  if (err) state->err.emplace(pipe_end(err, "stderr"));
  co_return Process(std::move(state));
}

namespace {
detail::ProcessState& st(const std::shared_ptr<detail::ProcessState>& s) {
  if (!s) throw InvalidStateError("this Process was not started (default-constructed)");
  return *s;
}
}  // namespace

pid_t Process::pid() const { return st(s_).pid_; }
std::optional<int> Process::returncode() const { return st(s_).returncode_; }

Task<int> Process::wait() {
  auto keep = s_;
  co_return co_await st(keep).wait();
}

Task<std::pair<std::string, std::string>> Process::communicate(std::string input) {
  auto keep = s_;
  auto& s = st(keep);
  if (s.in) {
    if (!input.empty()) s.in->write(input);
    s.in->close();
  }
  auto read_all = [](std::optional<StreamReader>* r) -> Task<std::string> {
    if (!*r) co_return std::string();
    co_return co_await (*r)->read();
  };
  auto [out, err] = co_await gather(read_all(&s.out), read_all(&s.err));
  co_await s.wait();
  co_return std::pair<std::string, std::string>(std::move(out), std::move(err));
}

void Process::send_signal(int sig) {
  auto& s = st(s_);
  if (s.returncode_) return;  // already reaped: the pid may belong to someone else now
  sys::send_signal(s.pidfd_.get(), sig);
}
void Process::terminate() { send_signal(SIGTERM); }
void Process::kill() { send_signal(SIGKILL); }

StreamWriter& Process::stdin_pipe() {
  auto& s = st(s_);
  if (!s.in) throw InvalidStateError("stdin was not opened with Stdio::pipe");
  return *s.in;
}
StreamReader& Process::stdout_pipe() {
  auto& s = st(s_);
  if (!s.out) throw InvalidStateError("stdout was not opened with Stdio::pipe");
  return *s.out;
}
StreamReader& Process::stderr_pipe() {
  auto& s = st(s_);
  if (!s.err) throw InvalidStateError("stderr was not opened with Stdio::pipe");
  return *s.err;
}

}  // namespace tandem::aio
