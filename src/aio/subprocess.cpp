// Child processes (see tandem/aio/subprocess.hpp).
#include "tandem/aio/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tandem/aio/tasks.hpp"
#include "../sys/spawn.hpp"
#include "transport.hpp"

extern char** environ;

namespace tandem::aio {
namespace detail {

class ProcessState {
 public:
  ProcessState(EventLoop& loop, pid_t pid, int pidfd) : loop_(&loop), pid_(pid), pidfd_(pidfd) {}
  ProcessState(const ProcessState&) = delete;
  ~ProcessState() {
    if (!returncode_) reap(WNOHANG);  // a child still running stays a zombie until it exits: wait() it
    if (pidfd_ >= 0) {
      detail::LoopAccess::forget_fd(*loop_, pidfd_);
      ::close(pidfd_);
    }
  }

  bool reap(int flags) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, flags);
    if (r != pid_) return false;
    returncode_ = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    return true;
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
        if (reap(WNOHANG)) break;
        FdWait w(pidfd_, false);
        co_await w;
        reap(WNOHANG);
      } else {
        co_await exited_.wait();
      }
    }
    co_return *returncode_;
  }

  EventLoop* loop_;
  pid_t pid_;
  int pidfd_;
  std::optional<int> returncode_;
  bool watching_ = false;
  Event exited_;
  std::optional<StreamWriter> in;
  std::optional<StreamReader> out, err;
};

namespace {

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  int take(int i) { return std::exchange(fds[i], -1); }
};

struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
};

void setup(FileActions& fa, Stdio mode, int target, Pipe& pipe, bool child_reads) {
  switch (mode) {
    case Stdio::inherit:
      break;
    case Stdio::devnull:
      posix_spawn_file_actions_addopen(&fa.fa, target, "/dev/null", child_reads ? O_RDONLY : O_WRONLY, 0);
      break;
    case Stdio::pipe:
      if (::pipe2(pipe.fds, O_CLOEXEC) < 0) throw SpawnError(std::string("pipe2: ") + std::strerror(errno), errno);
      posix_spawn_file_actions_adddup2(&fa.fa, pipe.fds[child_reads ? 0 : 1], target);
      break;
  }
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
  detail::FileActions fa;
  detail::Pipe in, out, err;
  detail::setup(fa, options.stdin_mode, 0, in, true);
  detail::setup(fa, options.stdout_mode, 1, out, false);
  detail::setup(fa, options.stderr_mode, 2, err, false);
  if (options.cwd) posix_spawn_file_actions_addchdir_np(&fa.fa, options.cwd->c_str());
  std::vector<char*> argv;
  argv.push_back(program.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, program.c_str(), &fa.fa, nullptr, argv.data(), environ);
  if (rc != 0) throw SpawnError("cannot execute '" + program + "': " + std::strerror(rc), rc);
  int pidfd = sys::open_pidfd(pid);
  if (pidfd < 0) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw SpawnError(std::string("pidfd_open (Linux 5.3+ needed): ") + std::strerror(e), e);
  }
  auto state = std::make_shared<detail::ProcessState>(loop, pid, pidfd);
  auto name = "pid " + std::to_string(pid);
  auto pipe_end = [&](detail::Pipe& p, int i, const char* which) {
    int fd = p.take(i);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return std::make_shared<detail::Transport>(loop, fd, name + " " + which, false);
  };
  if (options.stdin_mode == Stdio::pipe) state->in.emplace(pipe_end(in, 1, "stdin"));
  if (options.stdout_mode == Stdio::pipe) state->out.emplace(pipe_end(out, 0, "stdout"));
  if (options.stderr_mode == Stdio::pipe) state->err.emplace(pipe_end(err, 0, "stderr"));
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
  ::syscall(SYS_pidfd_send_signal, s.pidfd_, sig, nullptr, 0);
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
