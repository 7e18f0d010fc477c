// The latency table's probes: each returns nanoseconds per operation for one batch.
#include "lab/latency.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <linux/futex.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <system_error>
#include <thread>

#include "tandem/aio/runners.hpp"
#include "tandem/aio/tasks.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

extern char** environ;

namespace tandem::lab {

namespace {

using Clock = std::chrono::steady_clock;
namespace aio = tandem::aio;

double ns_per_op(Clock::time_point t0, std::size_t ops) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(ops);
}

// Keeps a value alive so that the loop computing it is not optimized away.
template <class T>
void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// A random single cycle through `bytes` of cache lines: each load depends on the one before, so the
// time per step is the latency of wherever the working set lives (L1, L2, memory).
class PointerChase {
 public:
  explicit PointerChase(std::size_t bytes) {
    const std::size_t lines = std::max<std::size_t>(bytes / kLine, 16);
    std::vector<std::size_t> order(lines);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
    next_.assign(lines * kStride, 0);
    for (std::size_t k = 0; k < lines; ++k) next_[order[k] * kStride] = order[(k + 1) % lines] * kStride;
  }
  double ns_per_step(std::size_t steps) {
    std::size_t p = 0;
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < steps; ++i) p = next_[p];
    const double ns = ns_per_op(t0, steps);
    keep(p);
    return ns;
  }

 private:
  static constexpr std::size_t kLine = 64;
  static constexpr std::size_t kStride = kLine / sizeof(std::size_t);
  std::vector<std::size_t> next_;
};

double read_sequentially_ns_per_mb(const std::vector<std::uint64_t>& buffer) {
  const auto t0 = Clock::now();
  std::uint64_t sum = 0;
  for (std::uint64_t v : buffer) sum += v;
  keep(sum);
  const double megabytes = static_cast<double>(buffer.size() * sizeof(std::uint64_t)) / (1 << 20);
  return ns_per_op(t0, 1) / megabytes;
}

double mutex_ns(std::size_t n) {
  std::mutex m;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    m.lock();
    m.unlock();
  }
  return ns_per_op(t0, n);
}

// Two threads taking turns at one mutex as fast as they can: each lock may find it held.
double contended_mutex_ns(std::size_t n) {
  std::mutex m;
  std::uint64_t shared = 0;
  auto hammer = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      std::lock_guard lock(m);
      ++shared;
    }
  };
  const auto t0 = Clock::now();
  std::thread other(hammer);
  hammer();
  other.join();
  keep(shared);
  return ns_per_op(t0, 2 * n);
}

// A 1 MB file written once, then read whole with read(2): the page cache, not the disk.
class CachedFile {
 public:
  CachedFile() {
    char name[] = "/tmp/tandem-latency-XXXXXX";
    fd_ = ::mkstemp(name);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "mkstemp");
    ::unlink(name);  // nothing left behind, whatever happens
    std::vector<char> data(kSize, 'x');
    if (::write(fd_, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      const int error = errno;
      ::close(fd_);
      throw std::system_error(error, std::generic_category(), "write");
    }
    buffer_.resize(kSize);
  }
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;
  ~CachedFile() { ::close(fd_); }
  double ns_per_read(std::size_t n) {
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t done = 0;
      while (done < kSize) {
        const ssize_t got = ::pread(fd_, buffer_.data() + done, kSize - done, static_cast<off_t>(done));
        if (got <= 0) throw std::system_error(errno, std::generic_category(), "pread");
        done += static_cast<std::size_t>(got);
      }
    }
    return ns_per_op(t0, n);
  }

 private:
  static constexpr std::size_t kSize = 1 << 20;
  int fd_ = -1;
  std::vector<char> buffer_;
};

// futex(2) on a private word: what every mutex and condition variable does when it must sleep or
// wake a sleeper. Returns the syscall's result (FUTEX_WAKE: how many it woke).
long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op | FUTEX_PRIVATE_FLAG, value, nullptr,
                   nullptr, 0);
}

// FUTEX_WAKE with nobody waiting: the bare system call an unlock makes when it cannot tell whether
// anyone sleeps (glibc avoids it when the lock word says so; this is its price when it cannot).
double futex_wake_no_waiter_ns(std::size_t n) {
  std::atomic<std::uint32_t> word{0};
  long woken = 0;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) woken += futex(word, FUTEX_WAKE, 1);
  const double ns = ns_per_op(t0, n);
  if (woken != 0) throw std::runtime_error("FUTEX_WAKE woke a waiter on a word nobody waits on");
  return ns;
}

// FUTEX_WAKE of a thread asleep in FUTEX_WAIT: the waker's cost (the kernel dequeues the sleeper and
// makes it runnable, maybe with an interrupt to another CPU), timed call by call. Where the scheduler
// runs the woken thread at once on the waker's CPU, the call returns only when the waker runs again:
// that is part of what a wake costs as the scheduler places the threads, so they are not pinned.
// A wake that found the sleeper not yet asleep (it returns 0) is not counted; the round is retried.
double futex_wake_waiter_ns(std::size_t rounds) {
  std::atomic<std::uint32_t> word{0};          // 0: sleep; 1: woken
  std::atomic<std::size_t> armed{0}, done{0};  // rounds the sleeper started / finished
  std::atomic<bool> stop{false};
  std::thread sleeper([&] {
    for (std::size_t round = 1; !stop.load(); ++round) {
      armed.store(round);
      while (word.load() == 0 && !stop.load()) futex(word, FUTEX_WAIT, 0);
      word.store(0);
      done.store(round);
    }
  });
  double total_ns = 0;
  std::size_t counted = 0, round = 0;
  while (counted < rounds && round < 20 * rounds) {
    ++round;
    while (armed.load() != round) std::this_thread::yield();
    // Give the sleeper time to reach the kernel (about a microsecond), then the wake, timed alone.
    const auto until = Clock::now() + std::chrono::microseconds(20);
    while (Clock::now() < until) {
    }
    word.store(1);
    const auto t0 = Clock::now();
    const long woken = futex(word, FUTEX_WAKE, 1);
    const double ns = ns_per_op(t0, 1);
    if (woken == 1) {
      total_ns += ns;
      ++counted;
    }
    while (done.load() != round) std::this_thread::yield();
  }
  stop.store(true);
  word.store(1);
  futex(word, FUTEX_WAKE, 1);
  sleeper.join();
  if (counted == 0) throw std::runtime_error("the futex sleeper was never found asleep");
  return total_ns / static_cast<double>(counted);
}

std::string filesystem_name(const struct statfs& fs) {
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC: return "ext4";  // ext2 and ext3 share the magic
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case TMPFS_MAGIC: return "tmpfs";
    case RAMFS_MAGIC: return "ramfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlay";
    case NFS_SUPER_MAGIC: return "nfs";
    case PROC_SUPER_MAGIC: return "proc";
    default: return fmt::format("filesystem 0x{:x}", static_cast<unsigned long>(fs.f_type));
  }
}

constexpr std::size_t kMegabyte = 1 << 20;
constexpr std::size_t kDirectAlignment = 4096;  // a multiple of every logical block size in use

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<char, FreeDeleter>;

// A 1 MB file read with O_DIRECT into an aligned buffer: from the device, past the page cache.
class DirectFile {
 public:
  // Opens one in the first of `dirs` that allows it; nullopt, with every folder's reason, otherwise.
  static std::optional<DirectFile> open(const std::vector<std::string>& dirs, std::string& place, std::string& refusal) {
    std::vector<std::string> reasons;
    AlignedBuffer buffer(static_cast<char*>(std::aligned_alloc(kDirectAlignment, kMegabyte)));
    if (!buffer) throw std::bad_alloc();
    std::memset(buffer.get(), 'x', kMegabyte);
    for (const auto& dir : dirs) {
      struct statfs fs{};
      if (::statfs(dir.c_str(), &fs) != 0) {
        reasons.push_back(fmt::format("{}: {}", dir, std::strerror(errno)));
        continue;
      }
      const std::string type = filesystem_name(fs);
      if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC) {
        reasons.push_back(fmt::format("{}: {}, memory with no disk under it", dir, type));
        continue;
      }
      std::string name = dir + "/tandem-direct-XXXXXX";
      const int writer = ::mkstemp(name.data());
      if (writer < 0) {
        reasons.push_back(fmt::format("{} ({}): cannot create a file there ({})", dir, type, std::strerror(errno)));
        continue;
      }
      const bool written = ::write(writer, buffer.get(), kMegabyte) == static_cast<ssize_t>(kMegabyte) &&
                           ::fsync(writer) == 0;
      const int write_error = errno;
      const int fd = written ? ::open(name.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC) : -1;
      const int open_error = errno;
      ::unlink(name.c_str());  // nothing left behind, whatever happens
      ::close(writer);
      if (!written) {
        reasons.push_back(fmt::format("{} ({}): cannot write 1 MB there ({})", dir, type, std::strerror(write_error)));
        continue;
      }
      if (fd < 0) {
        reasons.push_back(fmt::format("{} ({}): O_DIRECT refused ({})", dir, type, std::strerror(open_error)));
        continue;
      }
      DirectFile file(fd, std::move(buffer));
      if (const int error = file.read_once(); error != 0) {
        reasons.push_back(fmt::format("{} ({}): an O_DIRECT read refused ({})", dir, type, std::strerror(error)));
        buffer = std::move(file.buffer_);
        continue;
      }
      place = fmt::format("{} ({})", dir, type);
      return file;
    }
    refusal = "O_DIRECT: ";
    for (std::size_t i = 0; i < reasons.size(); ++i) refusal += (i ? "; " : "") + reasons[i];
    if (reasons.empty()) refusal += "no folder to try";
    return std::nullopt;
  }
  DirectFile(DirectFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}
  DirectFile& operator=(DirectFile&& other) noexcept {
    std::swap(fd_, other.fd_);  // ours closes with `other`
    std::swap(buffer_, other.buffer_);
    return *this;
  }
  ~DirectFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  double ns_per_read(std::size_t n) {
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i)
      if (const int error = read_once(); error != 0) throw std::system_error(error, std::generic_category(), "O_DIRECT pread");
    return ns_per_op(t0, n);
  }

 private:
  DirectFile(int fd, AlignedBuffer buffer) : fd_(fd), buffer_(std::move(buffer)) {}
  // 0, or the errno of the read that failed (a short read is EIO: the file is 1 MB).
  int read_once() {
    for (std::size_t done = 0; done < kMegabyte;) {
      const ssize_t got = ::pread(fd_, buffer_.get() + done, kMegabyte - done, static_cast<off_t>(done));
      if (got < 0) return errno;
      if (got == 0) return EIO;
      done += static_cast<std::size_t>(got);
    }
    return 0;
  }
  int fd_ = -1;
  AlignedBuffer buffer_;
};

// One byte there and back over a loopback TCP connection (Nagle off), echoed by a thread.
double tcp_round_trip_ns(std::size_t rounds) {
  auto fail = [](const char* what) { throw std::system_error(errno, std::generic_category(), what); };
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) fail("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int server = -1;
  auto close_all = [&] {
    for (int fd : {listener, client, server})
      if (fd >= 0) ::close(fd);
  };
  const int one = 1;
  if (client < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      (server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) < 0) {
    const int error = errno;
    close_all();
    throw std::system_error(error, std::generic_category(), "loopback TCP connection");
  }
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::thread echo([server] {
    char c;
    while (::read(server, &c, 1) == 1)
      if (::write(server, &c, 1) != 1) break;
  });
  char c = 'x';
  bool ok = true;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < rounds && ok; ++i) ok = ::write(client, &c, 1) == 1 && ::read(client, &c, 1) == 1;
  const double ns = ns_per_op(t0, rounds);
  ::shutdown(client, SHUT_WR);  // the echo thread reads EOF and ends
  echo.join();
  close_all();
  if (!ok) throw std::runtime_error("the TCP round trip's echo thread stopped answering");
  return ns;
}

// Two threads handing a token back and forth through an atomic (futex wait/wake): two switches per
// round.
double context_switch_ns(std::size_t rounds) {
  std::atomic<std::size_t> turn{0};
  std::thread other([&] {
    for (std::size_t i = 0; i < rounds; ++i) {
      turn.wait(2 * i);
      turn.store(2 * i + 2);
      turn.notify_one();
    }
  });
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < rounds; ++i) {
    turn.store(2 * i + 1);
    turn.notify_one();
    turn.wait(2 * i + 1);
  }
  const double ns = ns_per_op(t0, 2 * rounds);
  other.join();
  return ns;
}

double thread_create_join_ns(std::size_t n) {
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) std::thread([] {}).join();
  return ns_per_op(t0, n);
}

double fork_wait_ns(std::size_t n) {
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) ::_exit(0);
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  return ns_per_op(t0, n);
}

double spawn_wait_ns(std::size_t n) {
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    pid_t pid = 0;
    if (int e = ::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ); e != 0)
      throw std::system_error(e, std::generic_category(), "posix_spawnp true");
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  return ns_per_op(t0, n);
}

// One byte there and back between two threads over two pipes.
double pipe_round_trip_ns(std::size_t rounds) {
  int there[2], back[2];
  if (::pipe(there) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  if (::pipe(back) != 0) {
    const int error = errno;
    ::close(there[0]);
    ::close(there[1]);
    throw std::system_error(error, std::generic_category(), "pipe");
  }
  std::thread echo([&] {
    char c;
    while (::read(there[0], &c, 1) == 1)
      if (::write(back[1], &c, 1) != 1) break;
  });
  char c = 'x';
  bool ok = true;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < rounds && ok; ++i) ok = ::write(there[1], &c, 1) == 1 && ::read(back[0], &c, 1) == 1;
  const double ns = ns_per_op(t0, rounds);
  ::close(there[1]);  // the echo thread reads EOF and ends
  echo.join();
  for (int fd : {there[0], back[0], back[1]}) ::close(fd);
  if (!ok) throw std::runtime_error("the pipe round trip's echo thread stopped answering");
  return ns;
}

int one() { return 1; }

template <class Pool>
double future_round_trip_ns(Pool& pool, std::size_t n) {
  pool.submit(&one).result();  // the worker is started outside the timing
  const auto t0 = Clock::now();
  int sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += pool.submit(&one).result();
  keep(sum);
  return ns_per_op(t0, n);
}

aio::Task<void> nothing() { co_return; }

aio::Task<double> create_tasks(std::size_t n) {
  const auto t0 = Clock::now();
  std::vector<aio::TaskHandle<void>> tasks;
  tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(aio::create_task(nothing()));
  co_await aio::gather(std::move(tasks));
  co_return ns_per_op(t0, n);
}

aio::Task<double> yield_to_loop(std::size_t n) {
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) co_await aio::sleep(0.0);
  co_return ns_per_op(t0, n);
}

std::size_t sysconf_size(int name, std::size_t fallback) {
  const long v = ::sysconf(name);
  return v > 0 ? static_cast<std::size_t>(v) : fallback;
}

}  // namespace

std::vector<std::string> direct_io_dirs() {
  std::vector<std::string> dirs;
  auto add = [&](std::string dir) {
    if (!dir.empty() && std::ranges::find(dirs, dir) == dirs.end()) dirs.push_back(std::move(dir));
  };
  if (const char* tmpdir = std::getenv("TMPDIR")) add(tmpdir);
  add("/var/tmp");
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) add(exe.parent_path().string());
  add("/tmp");
  return dirs;
}

DirectIoPlace probe_direct_io(const std::vector<std::string>& dirs) {
  DirectIoPlace out;
  DirectFile::open(dirs, out.place, out.refusal);
  return out;
}

CacheSizes cache_sizes() {
  return {sysconf_size(_SC_LEVEL1_DCACHE_SIZE, 0), sysconf_size(_SC_LEVEL2_CACHE_SIZE, 0),
          sysconf_size(_SC_LEVEL3_CACHE_SIZE, 0)};
}

double cpu_ghz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("cpu MHz")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return std::strtod(line.c_str() + colon + 1, nullptr) / 1000;
    }
  return 0;
}

std::vector<LatencyRow> measure_latency(const LatencyOptions& options, const ProgressCallback& progress) {
  if (options.runs == 0) throw std::invalid_argument("a measurement needs at least one run");
  const CacheSizes caches = cache_sizes();
  const std::size_t l1 = caches.l1d ? caches.l1d : 32 << 10;
  const std::size_t l2 = caches.l2 ? caches.l2 : 256 << 10;
  const std::size_t l3 = caches.l3 ? caches.l3 : 8 << 20;
  // Far past the last-level cache, so that nearly every step goes to memory.
  const std::size_t memory = std::clamp<std::size_t>(4 * l3, 64 << 20, options.quick ? 64 << 20 : 512 << 20);
  const std::size_t scale = options.quick ? 10 : 1;  // quick: a tenth of each batch

  struct Probe {
    std::string name;
    double seed_ns;
    std::function<double()> batch;
    std::function<void()> release = {};      // after the row: give its memory back
    std::function<std::string()> check = {};  // before the row: why it cannot be measured here ("" if it can)
    std::function<std::string()> note = {};   // after the row: what it measured
  };
  PointerChase l1_chase(l1 / 2), l2_chase(l2 / 2);
  std::optional<PointerChase> memory_chase;
  std::vector<std::uint64_t> buffer;
  std::optional<CachedFile> file;
  std::optional<DirectFile> direct_file;
  std::string direct_place, direct_refusal;
  std::optional<ThreadPoolExecutor> thread_pool;  // started at its row: fork and spawn run without it
  std::optional<ProcessPoolExecutor> process_pool;
  const std::vector<Probe> probes = {
      {"L1 cache reference", 0.5, [&] { return l1_chase.ns_per_step(10'000'000 / scale); }},
      {"L2 cache reference", 7, [&] { return l2_chase.ns_per_step(10'000'000 / scale); }},
      {"Mutex lock/unlock (uncontended)", 25, [&] { return mutex_ns(10'000'000 / scale); }},
      {"Mutex lock/unlock (two threads contending)", 0, [&] { return contended_mutex_ns(1'000'000 / scale); }},
      {"Futex wake, no waiter", 0, [&] { return futex_wake_no_waiter_ns(1'000'000 / scale); }},
      {"Futex wake of a sleeping thread", 0,
       [&] { return futex_wake_waiter_ns(2'000 / scale); }},
      {"Main memory reference", 100,
       [&] {
         if (!memory_chase) memory_chase.emplace(memory);
         return memory_chase->ns_per_step(2'000'000 / scale);
       },
       [&] { memory_chase.reset(); }},
      {"Read 1 MB sequentially from memory", 250'000,
       [&] {
         if (buffer.empty()) buffer.assign(memory / sizeof(std::uint64_t), 1);  // touched: no page faults timed
         return read_sequentially_ns_per_mb(buffer);
       },
       [&] { buffer = {}; }},
      {"Read 1 MB from a file (page cache)", 0,
       [&] {
         if (!file) file.emplace();
         return file->ns_per_read(1'000 / scale);
       },
       [&] { file.reset(); }},
      {"Read 1 MB from a file (O_DIRECT)", 1'000'000,
       [&] { return direct_file->ns_per_read(100 / scale); },
       [&] { direct_file.reset(); },
       [&] {
         direct_file = DirectFile::open(options.direct_io_dirs.empty() ? direct_io_dirs() : options.direct_io_dirs,
                                        direct_place, direct_refusal);
         return direct_file ? std::string() : direct_refusal;
       },
       [&] { return "read from " + direct_place; }},
      {"Loopback TCP round trip", 0, [&] { return tcp_round_trip_ns(10'000 / scale); }},
      {"Context switch (two threads, futex)", 0, [&] { return context_switch_ns(20'000 / scale); }},
      {"Pipe round trip (two threads)", 0, [&] { return pipe_round_trip_ns(20'000 / scale); }},
      {"Thread create + join", 0, [&] { return thread_create_join_ns(1'000 / scale); }},
      {"fork + wait", 0, [&] { return fork_wait_ns(200 / scale); }},
      {"spawn + wait (posix_spawn true)", 0, [&] { return spawn_wait_ns(200 / scale); }},
      {"Future round trip, thread pool", 0,
       [&] {
         if (!thread_pool) thread_pool.emplace(1, "latency");
         return future_round_trip_ns(*thread_pool, 20'000 / scale);
       }},
      {"Future round trip, process pool", 0,
       [&] {
         if (!process_pool) process_pool.emplace(1);
         return future_round_trip_ns(*process_pool, 2'000 / scale);
       }},
      {"Coroutine task create + run + gather", 0, [&] { return aio::run(create_tasks(200'000 / scale)); }},
      {"Coroutine yield to the loop (sleep(0))", 0, [&] { return aio::run(yield_to_loop(200'000 / scale)); }},
  };

  std::vector<LatencyRow> rows;
  const unsigned total = static_cast<unsigned>(probes.size()) * options.runs;
  unsigned done = 0;
  const auto t0 = Clock::now();
  auto advance = [&] {
    ++done;
    if (progress) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      progress(Progress{done, total, elapsed, elapsed / done * (total - done)});
    }
  };
  for (const auto& probe : probes) {
    if (std::string why = probe.check ? probe.check() : std::string(); !why.empty()) {
      for (unsigned r = 0; r < options.runs; ++r) advance();  // its batches are done: none to run
      rows.push_back({probe.name, probe.seed_ns, Stats{}, std::move(why)});
      continue;
    }
    std::vector<double> samples;
    for (unsigned r = 0; r < options.runs; ++r) {
      samples.push_back(probe.batch());
      advance();
    }
    std::string note = probe.note ? probe.note() : std::string();
    if (probe.release) probe.release();
    rows.push_back({probe.name, probe.seed_ns, summarize(std::move(samples)), "", std::move(note)});
  }
  return rows;
}

std::vector<std::string> latency_warnings(const std::vector<LatencyRow>& rows, const Conditions& conditions) {
  std::vector<std::string> out;
  if (auto load = load_warning(conditions)) out.push_back(std::move(*load));
  for (const auto& row : rows)
    if (row.stats.min > 0 && row.stats.max / row.stats.min > kMaxSpread)
      out.push_back(fmt::format("'{}': the slowest batch took {:.1f}x as long as the fastest", row.name,
                                row.stats.max / row.stats.min));
  return out;
}

}  // namespace tandem::lab
