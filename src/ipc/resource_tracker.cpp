// The shared-memory resource tracker: one helper process per creating process that unlinks the names
// its creator leaves behind by dying (SIGKILL, abort, _exit, exec). Python: multiprocessing.resource_tracker.
//
//   creator process                                   tracker (a copy of the program, own session)
//   ---------------                                   ---------------------------------------------
//   SharedMemory::create("x")  -- track_segment -->   frame R "x"   names["x"] += 1
//   unlink() / keep_name() /   -- untrack_segment ->  frame U "x"   names["x"] -= 1
//     destructor
//   (dies: every copy of its                          read() == 0:  shm_unlink every name left; _exit
//    socket end is closed)
//
// Transport: a Unix stream socket pair. The creator's end is close-on-exec, non-blocking, written with
// MSG_NOSIGNAL (a dead tracker is EPIPE, never SIGPIPE), and closed in fork children (pthread_atfork),
// so end-of-file at the tracker means "the creator is gone". Frames: [op u8][length u8][length bytes];
// names are at most 250 bytes. The tracker's own first frame, P with its pid, goes the other way.
//
// Start: posix_spawn of /proc/self/exe with TANDEM_SHM_TRACKER in the environment (sys::spawn_self,
// detached: own session, stdio on /dev/null, no other descriptor). The static initializer below catches
// the marker before main; that process forks the tracker and exits at once, and the creator reaps it
// (so the tracker is nobody's zombie: init adopts it), then reads the tracker's pid from the socket.
#include "resource_tracker.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "../sys/executable.hpp"
#include "../sys/spawn.hpp"
#include "tandem/ipc/shared_memory.hpp"

namespace tandem::ipc::detail {

namespace {

constexpr const char* kTrackerEnv = "TANDEM_SHM_TRACKER";
constexpr int kTrackerFd = sys::kFirstPassedFd;
constexpr char kRegister = 'R', kUnregister = 'U', kPid = 'P';
// Frames the socket has no room for wait in the creator, up to this much; beyond it they are dropped.
constexpr std::size_t kMaxPending = std::size_t{1} << 20;
constexpr int kSocketBuffer = 1 << 20;  // asked for; the kernel caps it (net.core.wmem_max)

std::string frame(char op, const void* data, std::size_t n) {
  std::string f;
  f.reserve(2 + n);
  f.push_back(op);
  f.push_back(static_cast<char>(static_cast<unsigned char>(n)));
  f.append(static_cast<const char*>(data), n);
  return f;
}

// ---- the tracker process ----

[[noreturn]] void run_tracker() {
  // It ends when its creator does, not when the creator's session or terminal is told to stop.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_NAME, "tandem-tracker");
  pid_t pid = fork();
  if (pid < 0) _exit(1);
  if (pid > 0) {  // the spawned process: hand the tracker's pid to the creator, then be reaped by it
    std::int32_t p = pid;
    std::string f = frame(kPid, &p, sizeof p);
    ssize_t n = send(kTrackerFd, f.data(), f.size(), MSG_NOSIGNAL);
    _exit(n == static_cast<ssize_t>(f.size()) ? 0 : 1);
  }
  std::unordered_map<std::string, long> names;
  std::string in;
  char chunk[4096];
  for (;;) {
    ssize_t n = read(kTrackerFd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of file (or an error): the creator is gone
    in.append(chunk, static_cast<std::size_t>(n));
    std::size_t at = 0;
    while (in.size() - at >= 2 && in.size() - at >= 2 + std::size_t{static_cast<unsigned char>(in[at + 1])}) {
      const char op = in[at];
      std::string name = in.substr(at + 2, static_cast<unsigned char>(in[at + 1]));
      at += 2 + name.size();
      if (op == kRegister) {
        ++names[name];
      } else if (op == kUnregister) {
        auto it = names.find(name);
        if (it != names.end() && --it->second <= 0) names.erase(it);
      }
    }
    in.erase(0, at);
  }
  for (const auto& [name, count] : names) shm_unlink(("/" + name).c_str());
  _exit(0);
}

// Runs during static initialisation: in the tracker's copy of the program, main never runs.
struct TrackerHook {
  TrackerHook() {
    if (sys::take_marker(kTrackerEnv)) run_tracker();
  }
} tracker_hook;

// ---- the creator's side ----

struct Client {
  std::mutex mu;
  enum class State { idle, running, unavailable } state = State::idle;
  int fd = -1;        // our end of the socket
  pid_t pid = 0;      // the tracker's
  std::string pending;  // bytes of frames not yet sent, in order
};

// Never destroyed: segments in static storage are destroyed after any ordinary static would be.
Client& client() {
  static Client* c = new Client;
  return *c;
}

// In a fork child the creator's end must not stay open (the tracker would wait for the child too), and
// the child's own segments need a tracker of the child's.
void before_fork() { client().mu.lock(); }
void after_fork_in_parent() { client().mu.unlock(); }
void after_fork_in_child() {
  Client& c = client();
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.pid = 0;
  c.state = Client::State::idle;
  c.pending.clear();
  c.mu.unlock();
}

void give_up(Client& c) noexcept {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.pid = 0;
  c.state = Client::State::unavailable;
  c.pending.clear();
}

void start_locked(Client& c) noexcept {
  c.state = Client::State::unavailable;  // unless all of the below works
  // A tracker's copy runs the program's static initialisers before its hook: one of them creating a
  // segment must not start a tracker of the tracker.
  if (std::getenv(kTrackerEnv)) return;
  // The copy would run main instead of the tracker if this code is not in the executable itself.
  if (!sys::in_executable_code(reinterpret_cast<std::uintptr_t>(&run_tracker))) return;
  static const bool fork_handlers = pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child) == 0;
  if (!fork_handlers) return;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return;
  sys::UniqueFd ours(sv[0]);
  sys::Child tracker;
  {
    sys::UniqueFd theirs(sv[1]);
    try {
      tracker = sys::spawn_self({.marker = kTrackerEnv,
                                 .value = "1",
                                 .fds = std::span<const int>(&sv[1], 1),
                                 .detach = true,
                                 .argv0 = "tandem-tracker",
                                 .what = "SharedMemory: cannot start the resource tracker"});
    } catch (...) {
      return;
    }
  }
  sys::reap_within(tracker, std::chrono::seconds(30));
  char buf[2 + sizeof(std::int32_t)];
  ssize_t n = recv(ours.get(), buf, sizeof buf, MSG_DONTWAIT);
  std::int32_t pid = 0;
  if (n == static_cast<ssize_t>(sizeof buf) && buf[0] == kPid) std::memcpy(&pid, buf + 2, sizeof pid);
  if (pid <= 0) return;  // closing ours: a tracker that started after all reads end-of-file and exits
  setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
  c.fd = ours.release();
  c.pid = pid;
  c.state = Client::State::running;
}

// Sends what is pending without blocking; what the socket has no room for stays for the next call.
void flush_locked(Client& c) noexcept {
  while (!c.pending.empty()) {
    ssize_t n = send(c.fd, c.pending.data(), c.pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      c.pending.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;  // the tracker is behind
    } else {
      give_up(c);  // the tracker is gone (killed): nothing can be tracked any more
      return;
    }
  }
}

void send_locked(Client& c, char op, const std::string& name) noexcept {
  if (c.state != Client::State::running || name.size() > 255) return;
  if (c.pending.size() + 2 + name.size() <= kMaxPending) {
    try {
      c.pending += frame(op, name.data(), name.size());
    } catch (...) {  // out of memory: this name goes untracked
    }
  }
  flush_locked(c);
}

}  // namespace

void track_segment(const std::string& name) noexcept {
  Client& c = client();
  std::lock_guard lock(c.mu);
  if (c.state == Client::State::idle) start_locked(c);
  send_locked(c, kRegister, name);
}

void untrack_segment(const std::string& name) noexcept {
  Client& c = client();
  std::lock_guard lock(c.mu);
  send_locked(c, kUnregister, name);
}

int resource_tracker_pid() noexcept {
  Client& c = client();
  std::lock_guard lock(c.mu);
  return c.state == Client::State::running ? static_cast<int>(c.pid) : 0;
}

}  // namespace tandem::ipc::detail
