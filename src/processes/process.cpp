// Process: start methods (spawn by re-exec, fork), the spawned child's entry before main, reaping.
#include "tandem/process.hpp"

#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

extern char** environ;

namespace tandem {

namespace {

constexpr const char* kSpawnEnv = "TANDEM_SPAWN";
constexpr const char* kPayloadMagic = "tandem-spawn";
constexpr std::uint32_t kPayloadVersion = 2;
constexpr int kFirstInheritedFd = 3;  // fd 3: the payload; 4...: descriptors the arguments carry

[[noreturn]] void throw_errno(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string& process_name_storage() {
  static std::string name = "MainProcess";
  return name;
}

// ---- the executable's code ranges ----

struct CodeRange {
  std::uintptr_t lo, hi;
};
struct Image {
  std::uintptr_t base = 0;
  std::vector<CodeRange> code;
};

const Image& main_image() {
  static const Image image = [] {
    Image img;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) -> int {
          auto* im = static_cast<Image*>(data);
          im->base = info->dlpi_addr;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const auto& ph = info->dlpi_phdr[i];
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
              im->code.push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
          }
          return 1;  // the first object is the main program
        },
        &img);
    return img;
  }();
  return image;
}

bool in_code(std::uintptr_t a) {
  for (const auto& r : main_image().code)
    if (a >= r.lo && a < r.hi) return true;
  return false;
}

}  // namespace

const char* to_string(StartMethod m) noexcept { return m == StartMethod::fork ? "fork" : "spawn"; }

StartMethod default_start_method() noexcept {
  const char* v = std::getenv("TANDEM_START_METHOD");
  return v && std::string_view(v) == "fork" ? StartMethod::fork : StartMethod::spawn;
}

const std::string& current_process_name() noexcept { return process_name_storage(); }

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

namespace detail {

std::uint64_t code_offset(std::uintptr_t address) {
  if (!in_code(address))
    throw std::invalid_argument(
        "tandem: this function is not in the main executable's code (a shared library, or JIT code?); a "
        "process can only name functions of the executable it shares with its parent");
  return address - main_image().base;
}

std::uintptr_t code_address(std::uint64_t offset) {
  std::uintptr_t a = main_image().base + offset;
  if (!in_code(a))
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

[[noreturn]] void run_spawned_child(const char* marker) {
  unsigned version = 0;
  long parent = 0;
  int nfds = 0;
  int daemon = 0;
  if (std::sscanf(marker, "%u:%ld:%d:%d", &version, &parent, &nfds, &daemon) != 4 || version != kPayloadVersion ||
      nfds < 1 || nfds > 1000)
    child_fail("malformed TANDEM_SPAWN marker");
  if (daemon) bind_to_parent(static_cast<pid_t>(parent));
  unsetenv(kSpawnEnv);  // the child's own children are ordinary
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
    const auto& obj = handle.get();
    if (obj.type != msgpack::type::ARRAY || obj.via.array.size != 7)
      throw ipc::CodecError("tandem: unknown start payload layout");
    const auto* f = obj.via.array.ptr;
    if (ipc::convert<std::string>(f[0]) != kPayloadMagic || ipc::convert<std::uint32_t>(f[1]) != kPayloadVersion)
      throw ipc::CodecError("tandem: start payload of another tandem version");
    name = ipc::convert<std::string>(f[2]);
    process_name_storage() = name;
    auto entry = reinterpret_cast<detail::ProcessEntry>(detail::code_address(ipc::convert<std::uint64_t>(f[3])));
    auto fn = detail::code_address(ipc::convert<std::uint64_t>(f[4]));
    auto sig = ipc::convert<std::uint64_t>(f[5]);
    entry(sig, fn, f[6]);
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
    if (const char* marker = std::getenv(kSpawnEnv)) run_spawned_child(marker);
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


int pidfd_open_or_throw(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) throw_errno("tandem::Process: pidfd_open failed", errno);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
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

Process::~Process() {
  std::unique_lock lock(mu_);
  if (pid_ != 0 && !exitcode_) {
    reap_if_ended(false);
    if (!exitcode_) {
      syscall(SYS_pidfd_send_signal, pidfd_, SIGTERM, nullptr, 0);
      pollfd p{pidfd_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
      reap_if_ended(true);
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
}

void Process::start() {
  std::unique_lock lock(mu_);
  if (pid_ != 0) throw InvalidStateError("tandem::Process: cannot start a process twice (" + name_ + ")");
  if (getpid() != parent_pid_)
    throw InvalidStateError("tandem::Process: can only start a process object created by the current process");
  if (daemon_) {
    // The kernel sends the parent-death signal when the *thread* that created the child ends, not the
    // process: a daemon started from a short-lived thread would be killed with that thread. So daemons
    // are created by one thread that lives as long as the process.
    lock.unlock();
    detail::run_on_daemon_starter([this] {
      std::unique_lock l(mu_);
      start_locked();
    });
    return;
  }
  start_locked();
}

void Process::start_locked() {
  if (pid_ != 0) throw InvalidStateError("tandem::Process: cannot start a process twice (" + name_ + ")");

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
    pidfd_ = pidfd_open_or_throw(pid);
    launch_ = {};  // the child has its copy; drop ours (descriptors, segments) as a started process does
    return;
  }

  // spawn: the payload goes in a memfd (no pipe that could block or raise SIGPIPE); descriptors the
  // arguments carry are collected while encoding and inherited at fixed numbers 4, 5, ...
  ipc::Buffer payload;
  ipc::detail::FdTable table;
  {
    msgpack::packer<ipc::Buffer> pk(payload);
    pk.pack_array(7);
    pk.pack(std::string_view(kPayloadMagic));
    pk.pack(kPayloadVersion);
    pk.pack(name_);
    pk.pack(detail::code_offset(launch_.entry));
    pk.pack(detail::code_offset(launch_.function));
    pk.pack(launch_.signature);
    struct Reset {
      ~Reset() { ipc::detail::current_fd_table() = nullptr; }
    } reset;
    ipc::detail::current_fd_table() = &table;
    launch_.encode_args(payload);
  }
  int payload_fd = memfd_create("tandem-spawn", MFD_CLOEXEC);
  if (payload_fd < 0) throw_errno("tandem::Process: memfd_create failed", errno);
  std::vector<int> sources{payload_fd};
  sources.insert(sources.end(), table.fds.begin(), table.fds.end());
  std::vector<int> copies;  // above every target number, so that no dup2 clobbers a later source
  auto cleanup = [&] {
    for (int c : copies) close(c);
    close(payload_fd);
  };
  std::size_t written = 0;
  while (written < payload.size()) {
    ssize_t n = write(payload_fd, payload.data() + written, payload.size() - written);
    if (n <= 0) {
      int err = errno;
      cleanup();
      throw_errno("tandem::Process: cannot write the start payload", err);
    }
    written += static_cast<std::size_t>(n);
  }
  const int base = kFirstInheritedFd + static_cast<int>(sources.size()) + 8;
  for (int s : sources) {
    int c = fcntl(s, F_DUPFD_CLOEXEC, base);
    if (c < 0) {
      int err = errno;
      cleanup();
      throw_errno("tandem::Process: cannot duplicate a descriptor for the child", err);
    }
    copies.push_back(c);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (std::size_t i = 0; i < copies.size(); ++i)
    posix_spawn_file_actions_adddup2(&actions, copies[i], kFirstInheritedFd + static_cast<int>(i));
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_storage;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "TANDEM_SPAWN=", 13) != 0) env_storage.emplace_back(*e);
  env_storage.push_back(std::string(kSpawnEnv) + "=" + std::to_string(kPayloadVersion) + ":" +
                        std::to_string(parent_pid_) + ":" + std::to_string(sources.size()) + ":" +
                        (daemon_ ? "1" : "0"));
  std::vector<char*> envp;
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string argv0 = program_invocation_name ? program_invocation_name : "tandem-child";
  char* argv[] = {argv0.data(), nullptr};

  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  cleanup();
  if (rc != 0) throw_errno("tandem::Process: cannot spawn " + name_, rc);
  pid_ = pid;
  pidfd_ = pidfd_open_or_throw(pid);
  launch_ = {};  // the child has its copy; drop ours (descriptors, segments)
}

void Process::reap_if_ended(bool block) {
  if (pid_ == 0 || exitcode_) return;
  int status = 0;
  pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    if (WIFEXITED(status)) exitcode_ = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) exitcode_ = -WTERMSIG(status);
    else exitcode_ = -1;
  } else if (r < 0 && errno == ECHILD) {
    exitcode_ = -1;  // reaped by someone else (a SIGCHLD handler with SA_NOCLDWAIT?): status unknown
  }
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
  if (pid_ != 0 && !exitcode_) syscall(SYS_pidfd_send_signal, pidfd_, SIGTERM, nullptr, 0);
}

void Process::kill() {
  std::unique_lock lock(mu_);
  reap_if_ended(false);
  if (pid_ != 0 && !exitcode_) syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
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
