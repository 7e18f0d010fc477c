// Process: start methods (spawn by re-exec, fork), the spawned child's entry before main, reaping.
#include "tandem/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "../sys/errors.hpp"
#include "../sys/executable.hpp"
#include "../sys/fd.hpp"
#include "../sys/spawn.hpp"
#include "wire.hpp"

namespace tandem {

namespace {

namespace wire = detail::wire;
constexpr int kFirstInheritedFd = sys::kFirstPassedFd;  // fd 3: the payload; 4...: descriptors the arguments carry

using sys::throw_errno;

std::string& process_name_storage() {
  static std::string name = "MainProcess";
  return name;
}

}  // namespace

const char* to_string(StartMethod m) noexcept { return m == StartMethod::fork ? "fork" : "spawn"; }

StartMethod default_start_method() noexcept {
  const char* v = std::getenv("TANDEM_START_METHOD");
  return v && std::string_view(v) == "fork" ? StartMethod::fork : StartMethod::spawn;
}

const std::string& current_process_name() noexcept { return process_name_storage(); }

std::string signal_name(int sig) { return sys::signal_name(sig); }

namespace detail {

std::uint64_t code_offset(std::uintptr_t address) {
  if (!sys::in_executable_code(address))
    throw std::invalid_argument(
        "tandem: this function is not in the main executable's code (a shared library, or JIT code?); a "
        "process can only name functions of the executable it shares with its parent");
  return address - sys::executable_base();
}

std::uintptr_t code_address(std::uint64_t offset) {
  std::uintptr_t a = sys::executable_base() + offset;
  if (!sys::in_executable_code(a))
    throw ipc::CodecError("tandem codec: a message names code at offset " + std::to_string(offset) +
                          ", outside this executable's code (peer runs a different binary?)");
  return a;
}

std::uint64_t signature_of(const std::type_info& t) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (const char* p = t.name(); *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  return h;
}

void throw_signature_mismatch(const std::type_info& expected) {
  throw ipc::CodecError("tandem codec: the function named by the message does not have the expected type " +
                        ipc::type_name(expected) + " (peer runs a different binary?)");
}

void throw_arity_mismatch(std::size_t expected, std::size_t got) {
  throw ipc::CodecError("tandem codec: expected an argument list of " + std::to_string(expected) + " values, got " +
                        (got == static_cast<std::size_t>(-1) ? std::string("something else") : std::to_string(got)));
}

}  // namespace detail

// ---- the spawned child: runs before main ----

namespace {

[[noreturn]] void child_fail(const char* what) {
  std::fprintf(stderr, "tandem: spawned child %d: %s\n", static_cast<int>(getpid()), what);
  std::fflush(stderr);
  _exit(121);
}

// A daemon child dies with its parent, even one killed by SIGKILL. The parent-death signal is set first,
// then the parent is checked: if it died before the signal was armed, getppid() no longer names it.
void bind_to_parent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
}

[[noreturn]] void run_spawned_child(const std::string& marker_text) {
  const auto marker = wire::decode_marker(marker_text);
  if (!marker) child_fail("malformed TANDEM_SPAWN marker");
  const int nfds = marker->nfds;
  if (marker->daemon) bind_to_parent(static_cast<pid_t>(marker->parent));
  for (int i = 0; i < nfds; ++i) fcntl(kFirstInheritedFd + i, F_SETFD, FD_CLOEXEC);

  struct stat st{};
  if (fstat(kFirstInheritedFd, &st) != 0 || st.st_size <= 0) child_fail("no start payload on fd 3");
  std::vector<char> payload(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < payload.size()) {
    ssize_t n = pread(kFirstInheritedFd, payload.data() + got, payload.size() - got, static_cast<off_t>(got));
    if (n <= 0) child_fail("cannot read the start payload");
    got += static_cast<std::size_t>(n);
  }
  close(kFirstInheritedFd);

  ipc::detail::FdTable table;
  table.child = true;
  for (int i = 1; i < nfds; ++i) table.fds.push_back(kFirstInheritedFd + i);
  ipc::detail::current_fd_table() = &table;

  int code = 0;
  std::string name = "<unknown>";
  try {
    auto handle = ipc::detail::parse(payload, typeid(detail::Launch));
    auto start = wire::decode_payload(handle.get());
    name = start.name;
    process_name_storage() = name;
    auto entry = reinterpret_cast<detail::ProcessEntry>(detail::code_address(start.entry));
    entry(start.signature, detail::code_address(start.function), start.args);
  } catch (...) {
    auto info = ipc::describe_current_exception();
    std::fprintf(stderr, "Process %s:\n%s: %s\n", name.c_str(), info.type.c_str(), info.message.c_str());
    code = 1;
  }
  ipc::detail::current_fd_table() = nullptr;
  for (int fd : table.fds)
    if (fd >= 0) close(fd);
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(code);
}

// Runs during static initialisation; see process.hpp for why and what it implies.
struct SpawnHook {
  SpawnHook() {
    if (auto marker = sys::take_marker(wire::kSpawnEnv)) run_spawned_child(*marker);
  }
} spawn_hook;

std::atomic<unsigned> process_counter{0};

// The thread that creates daemon children (see Process::start). Created on first use and never joined;
// its state is never freed, so that it outlives static destruction. A fork child has no such thread (only
// the forking thread survives fork): it starts its own when it needs one.
struct DaemonStarter {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>*> jobs;
  std::thread::id id;
};
std::atomic<DaemonStarter*> daemon_starter{nullptr};
std::mutex daemon_starter_mu;

[[noreturn]] void daemon_starter_loop(DaemonStarter* st) {
  std::unique_lock lk(st->mu);
  for (;;) {
    st->cv.wait(lk, [&] { return !st->jobs.empty(); });
    auto* job = st->jobs.front();
    st->jobs.pop_front();
    lk.unlock();
    (*job)();  // never throws: run_on_daemon_starter wraps it
    lk.lock();
  }
}

DaemonStarter* the_daemon_starter() {
  if (auto* st = daemon_starter.load(std::memory_order_acquire)) return st;
  std::lock_guard g(daemon_starter_mu);
  if (auto* st = daemon_starter.load(std::memory_order_acquire)) return st;
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] {
    pthread_atfork(nullptr, nullptr, [] {
      daemon_starter.store(nullptr);  // its thread did not survive the fork; the old state is dropped
      new (&daemon_starter_mu) std::mutex;
    });
  });
  auto* st = new DaemonStarter;
  std::thread t(daemon_starter_loop, st);
  st->id = t.get_id();
  t.detach();
  daemon_starter.store(st, std::memory_order_release);
  return st;
}

}  // namespace

namespace detail {

void run_on_daemon_starter(const std::function<void()>& fn) {
  DaemonStarter* st = the_daemon_starter();
  if (std::this_thread::get_id() == st->id) return fn();
  std::exception_ptr error;
  bool finished = false;
  std::function<void()> job = [&] {
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard g(st->mu);
    finished = true;
    st->cv.notify_all();
  };
  std::unique_lock lk(st->mu);
  st->jobs.push_back(&job);
  st->cv.notify_all();
  st->cv.wait(lk, [&] { return finished; });
  lk.unlock();
  if (error) std::rethrow_exception(error);
}

}  // namespace detail

// ---- Process (parent side) ----

Process::Process(Options options, detail::Launch launch)
    : name_(std::move(options.name)),
      method_(options.start_method.value_or(default_start_method())),
      daemon_(options.daemon),
      launch_(std::move(launch)),
      parent_pid_(getpid()) {
  if (name_.empty()) name_ = "Process-" + std::to_string(process_counter.fetch_add(1) + 1);
}

Process::Process(Process&& other) noexcept
    : method_(other.method_), daemon_(other.daemon_), parent_pid_(other.parent_pid_) {
  std::unique_lock lock(other.mu_);
  name_ = std::move(other.name_);
  launch_ = std::move(other.launch_);
  pid_ = std::exchange(other.pid_, 0);
  pidfd_ = std::exchange(other.pidfd_, -1);
  exitcode_ = std::exchange(other.exitcode_, std::nullopt);
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    this->~Process();  // stops and reaps a started child, as destruction does
    new (this) Process(std::move(other));
  }
  return *this;
}

Process::~Process() {
  std::unique_lock lock(mu_);
  if (pid_ != 0 && !exitcode_) {
    reap_if_ended(false);
    if (!exitcode_) {
      sys::send_signal(pidfd_, SIGTERM);
      pollfd p{pidfd_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) sys::send_signal(pidfd_, SIGKILL);
      reap_if_ended(true);
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
}

void Process::start() {
  const auto start_here = [this] {
    std::unique_lock lock(mu_);
    start_locked();
  };
  bool daemon;
  {
    std::unique_lock lock(mu_);
    daemon = daemon_;
  }
  // The kernel sends the parent-death signal when the *thread* that created the child ends, not the
  // process: a daemon started from a short-lived thread would be killed with that thread. So daemons
  // are created by one thread that lives as long as the process.
  if (daemon)
    detail::run_on_daemon_starter(start_here);
  else
    start_here();
}

void Process::start_locked() {
  if (pid_ != 0) throw InvalidStateError("tandem::Process: cannot start a process twice (" + name_ + ")");
  if (getpid() != parent_pid_)
    throw InvalidStateError("tandem::Process: can only start a process object created by the current process");

  if (method_ == StartMethod::fork) {
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) throw_errno("tandem::Process: fork failed", errno);
    if (pid == 0) {
      if (daemon_) bind_to_parent(parent_pid_);
      process_name_storage() = name_;
      int code = 0;
      try {
        launch_.call();
      } catch (...) {
        auto info = ipc::describe_current_exception();
        std::fprintf(stderr, "Process %s:\n%s: %s\n", name_.c_str(), info.type.c_str(), info.message.c_str());
        code = 1;
      }
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(code);
    }
    pid_ = pid;
    pidfd_ = sys::open_pidfd(pid);
    if (pidfd_ < 0) throw_errno("tandem::Process: pidfd_open failed", errno);
    launch_ = {};  // the child has its copy; drop ours (descriptors, segments) as a started process does
    return;
  }

  // spawn: the payload goes in a memfd (no pipe that could block or raise SIGPIPE); descriptors the
  // arguments carry are collected while encoding and inherited at fixed numbers 4, 5, ...
  ipc::Buffer payload;
  ipc::detail::FdTable table;
  {
    struct Reset {
      ~Reset() { ipc::detail::current_fd_table() = nullptr; }
    } reset;
    ipc::detail::current_fd_table() = &table;
    wire::encode_payload(payload,
                         {.name = name_,
                          .entry = detail::code_offset(launch_.entry),
                          .function = detail::code_offset(launch_.function),
                          .signature = launch_.signature,
                          .args = {}},
                         launch_.encode_args);
  }
  sys::UniqueFd payload_fd(memfd_create("tandem-spawn", MFD_CLOEXEC));
  if (!payload_fd) throw_errno("tandem::Process: memfd_create failed", errno);
  std::size_t written = 0;
  while (written < payload.size()) {
    ssize_t n = write(payload_fd.get(), payload.data() + written, payload.size() - written);
    if (n <= 0) throw_errno("tandem::Process: cannot write the start payload", errno);
    written += static_cast<std::size_t>(n);
  }
  std::vector<int> passed{payload_fd.get()};
  passed.insert(passed.end(), table.fds.begin(), table.fds.end());
  const wire::SpawnMarker marker{.parent = parent_pid_, .nfds = static_cast<int>(passed.size()), .daemon = daemon_};
  sys::Child child = sys::spawn_self({.marker = wire::kSpawnEnv,
                                      .value = wire::encode_marker(marker),
                                      .fds = passed,
                                      .detach = false,
                                      .argv0 = {},
                                      .what = "tandem::Process: cannot spawn " + name_});
  pid_ = child.pid;
  pidfd_ = child.pidfd.release();
  launch_ = {};  // the child has its copy; drop ours (descriptors, segments)
}

void Process::set_daemon(bool daemon) {
  std::unique_lock lock(mu_);
  if (pid_ != 0) throw InvalidStateError("tandem::Process: cannot set daemon once the process has started (" + name_ + ")");
  daemon_ = daemon;
}

void Process::reap_if_ended(bool block) {
  if (pid_ == 0 || exitcode_) return;
  exitcode_ = sys::reap(pid_, block);
}

bool Process::join_ms(long long timeout_ms) {
  int fd;
  {
    std::unique_lock lock(mu_);
    if (pid_ == 0) throw InvalidStateError("tandem::Process: can only join a started process (" + name_ + ")");
    if (getpid() != parent_pid_) throw InvalidStateError("tandem::Process: can only join a child process");
    if (exitcode_) return true;
    fd = pidfd_;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      wait_ms = left > 0 ? static_cast<int>(std::min<long long>(left, 1 << 30)) : 0;
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, wait_ms);
    if (r > 0) break;
    if (r == 0) return false;
    if (errno != EINTR) throw_errno("tandem::Process: poll on the child failed", errno);
  }
  std::unique_lock lock(mu_);
  reap_if_ended(true);
  return true;
}

bool Process::join() { return join_ms(-1); }

void Process::terminate() {
  std::unique_lock lock(mu_);
  reap_if_ended(false);
  if (pid_ != 0 && !exitcode_) sys::send_signal(pidfd_, SIGTERM);
}

void Process::kill() {
  std::unique_lock lock(mu_);
  reap_if_ended(false);
  if (pid_ != 0 && !exitcode_) sys::send_signal(pidfd_, SIGKILL);
}

bool Process::is_alive() {
  std::unique_lock lock(mu_);
  if (pid_ == 0) return false;
  reap_if_ended(false);
  return !exitcode_;
}

std::optional<int> Process::exitcode() {
  std::unique_lock lock(mu_);
  reap_if_ended(false);
  return exitcode_;
}

pid_t Process::pid() const noexcept {
  std::unique_lock lock(mu_);
  return pid_;
}

int Process::sentinel() const noexcept {
  std::unique_lock lock(mu_);
  return pidfd_;
}

std::string Process::repr() {
  std::unique_lock lock(mu_);
  reap_if_ended(false);
  std::string s = "<Process name='" + name_ + "'";
  if (pid_ != 0) s += " pid=" + std::to_string(pid_);
  s += " parent=" + std::to_string(parent_pid_);
  if (pid_ == 0) {
    s += " initial";
  } else if (!exitcode_) {
    s += " started";
  } else {
    s += " stopped exitcode=";
    s += *exitcode_ < 0 ? "-" + signal_name(-*exitcode_) : std::to_string(*exitcode_);
  }
  return s + ">";
}

}  // namespace tandem
