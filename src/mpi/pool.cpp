// mpi::PoolExecutor and run_workers_or: the client's manager thread, the workers' loop, the runtime.
//
// Messages are byte arrays on the pool's communicator: tag kTagTask carries a TaskHeader plus msgpack
// arguments (client → worker), tag kTagResult a ResultHeader plus the msgpack value or ErrorInfo (worker
// → client). The function runs through the process pool's task_entry / chunk_entry, named by offset.
#include "tandem/mpi/pool.hpp"

#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace tandem::mpi {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTagTask = 1;
constexpr int kTagResult = 2;
constexpr std::uint32_t kResultMagic = 0x4d505232;  // "MPR2"
enum ResultStatus : std::uint32_t { kValue = 0, kError = 1, kHelloBack = 2 };

struct ResultHeader {
  std::uint32_t magic;
  std::uint32_t status;
  std::uint64_t id;
  std::uint64_t compute_ns;  // time the worker spent in the task (for the prefetch decision)
};

// Process-wide state that run_workers_or sets up.
struct Runtime {
  int rank = -1;
  int size = 0;
  MPI_Comm world = MPI_COMM_NULL;       // a dup of MPI_COMM_WORLD: the world pool's communicator
  std::vector<std::string> args;        // argv[1..], for spawned copies
  std::mutex mutex;
  bool world_pool_active = false;       // guarded by mutex
  // Workers spawned by a singleton, kept from one pool to the next (guarded by mutex): every spawn is a
  // chance of Open MPI 4.1's intermittent spawn hang (see spawn_group), so a program spawns once.
  MPI_Comm group = MPI_COMM_NULL;
  std::vector<pid_t> group_pids;
  bool group_in_use = false;
  // Pools destroyed on their own manager thread (from a done-callback): that thread finishes their tasks
  // and frees them; run_workers_or waits for it before MPI_Finalize (guarded by mutex).
  std::size_t orphaned_pools = 0;
  std::condition_variable orphan_done;
  std::atomic<std::uint64_t> next_id{1};  // task ids, unique across pools: a late result is recognised
};
Runtime runtime;
thread_local bool on_some_manager_thread = false;  // this thread runs a pool's manager loop

// Waits until the pools destroyed in their own done-callbacks have finished and given their ranks back
// (not on a manager thread: one waiting for the others, or for itself, would never end).
void wait_for_orphaned_pools() {
  if (on_some_manager_thread) return;
  std::unique_lock lock(runtime.mutex);
  runtime.orphan_done.wait(lock, [] { return runtime.orphaned_pools == 0; });
}

[[noreturn]] void abort_job(MPI_Comm comm, const std::string& why) {
  std::fprintf(stderr, "tandem::mpi (rank %d): %s; aborting the MPI job\n", runtime.rank, why.c_str());
  std::fflush(stderr);
  MPI_Abort(comm, 70);
  std::_Exit(70);
}

// Waiting without burning a shared core: poll, then yield, then sleep, at most `short_sleep` while the
// wait is young (work usually follows soon: a sleeping worker would delay the tasks already on their
// way) and up to `long_sleep` once it has been idle for 50 ms.
class Backoff {
 public:
  Backoff(std::chrono::microseconds short_sleep, std::chrono::microseconds long_sleep)
      : short_(short_sleep), long_(long_sleep) {}
  void reset() noexcept { n_ = 0; }
  void pause() {
    if (n_ == 0) since_ = Clock::now();
    ++n_;
    if (n_ < 64) return;
    if (n_ < 256) {
      sched_yield();
      return;
    }
    const auto cap = Clock::now() - since_ < std::chrono::milliseconds(50) ? short_ : long_;
    auto sleep = std::chrono::microseconds(std::min<long long>(cap.count(), 1LL << std::min<unsigned>((n_ - 256) / 8, 20)));
    std::this_thread::sleep_for(sleep);
  }

 private:
  std::chrono::microseconds short_, long_;
  unsigned n_ = 0;
  Clock::time_point since_;
};

// ---- the worker's side ----

bool process_alive(pid_t pid) { return pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH; }

void serve(MPI_Comm comm, int client) {
  std::vector<char> in;
  ipc::Buffer out;
  Backoff backoff(std::chrono::microseconds(50), std::chrono::microseconds(1000));
  pid_t client_pid = 0;  // known to spawned workers (the client says hello); mpirun watches the others
  auto last_check = Clock::now();
  for (;;) {
    int flag = 0;
    MPI_Message msg;
    MPI_Status st;
    MPI_Improbe(client, kTagTask, comm, &flag, &msg, &st);
    if (!flag) {
      backoff.pause();
      if (client_pid > 0 && Clock::now() - last_check > std::chrono::milliseconds(100)) {
        last_check = Clock::now();
        if (!process_alive(client_pid)) {  // Open MPI would leave a spawned copy polling forever
          std::fprintf(stderr, "tandem::mpi worker (pid %d): the pool's process %d is gone; exiting\n",
                       static_cast<int>(getpid()), static_cast<int>(client_pid));
          std::_Exit(0);
        }
      }
      continue;
    }
    backoff.reset();
    int n = 0;
    MPI_Get_count(&st, MPI_BYTE, &n);
    in.resize(static_cast<std::size_t>(n));
    MPI_Mrecv(in.data(), n, MPI_BYTE, &msg, &st);
    detail::TaskHeader h;
    if (in.size() < sizeof h) abort_job(comm, "a task message is shorter than its header (corrupt traffic)");
    std::memcpy(&h, in.data(), sizeof h);
    if (h.magic != detail::kTaskMagic)
      abort_job(comm, "a task message has a bad magic number (a different tandem version on this rank?)");
    if (h.kind == detail::kStop) return;
    if (h.kind == detail::kHello) {  // a spawning client: its pid, answered with ours
      client_pid = static_cast<pid_t>(h.id);
      ResultHeader r{kResultMagic, kHelloBack, static_cast<std::uint64_t>(getpid()), 0};
      MPI_Send(&r, sizeof r, MPI_BYTE, client, kTagResult, comm);
      continue;
    }

    out.clear();
    ResultHeader r{kResultMagic, kValue, h.id, 0};
    out.write(reinterpret_cast<const char*>(&r), sizeof r);
    const auto t0 = Clock::now();
    try {
      if (h.kind != detail::kCall && h.kind != detail::kChunk)
        throw ipc::CodecError("tandem::mpi: unknown task kind " + std::to_string(h.kind));
      auto entry = reinterpret_cast<tandem::detail::TaskEntry>(tandem::detail::code_address(h.entry));
      auto fn = tandem::detail::code_address(h.fn);
      auto handle = ipc::detail::parse({in.data() + sizeof h, in.size() - sizeof h}, typeid(detail::TaskHeader));
      entry(h.signature, fn, handle.get(), out);
    } catch (...) {
      auto info = ipc::describe_current_exception();
      out.clear();
      r.status = kError;
      out.write(reinterpret_cast<const char*>(&r), sizeof r);
      ipc::encode_into(out, info);
    }
    r.compute_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    std::memcpy(out.data(), &r, sizeof r);
    if (out.size() > static_cast<std::size_t>(INT32_MAX)) {
      out.clear();
      r.status = kError;
      out.write(reinterpret_cast<const char*>(&r), sizeof r);
      ipc::encode_into(out, ipc::ErrorInfo{"std::length_error", "the task's result is over 2 GiB, more than one MPI message"});
    }
    MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, client, kTagResult, comm);
  }
}

void send_stop(MPI_Comm comm, int rank) {
  detail::TaskHeader h{detail::kTaskMagic, detail::kStop, 0, 0, 0, 0};
  MPI_Send(&h, sizeof h, MPI_BYTE, rank, kTagTask, comm);
}

std::string executable_path() {
  std::vector<char> buf(4096);
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw BrokenExecutor("mpi::PoolExecutor: cannot find this executable (/proc/self/exe) to spawn workers");
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

std::size_t cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(len));
}

void say_hello(MPI_Comm comm, std::vector<pid_t>& pids) {
  // Each worker learns our pid (it leaves if we die) and tells us its own (we watch it).
  for (std::size_t i = 0; i < pids.size(); ++i) {
    detail::TaskHeader h{detail::kTaskMagic, detail::kHello, static_cast<std::uint64_t>(getpid()), 0, 0, 0};
    MPI_Send(&h, sizeof h, MPI_BYTE, static_cast<int>(i), kTagTask, comm);
  }
  for (std::size_t i = 0; i < pids.size(); ++i) {
    ResultHeader r{};
    MPI_Recv(&r, sizeof r, MPI_BYTE, static_cast<int>(i), kTagResult, comm, MPI_STATUS_IGNORE);
    if (r.magic != kResultMagic || r.status != kHelloBack)
      abort_job(comm, "a spawned worker answered hello with something else (a different executable?)");
    pids[i] = static_cast<pid_t>(r.id);
  }
}

// Spawns n copies of this executable and greets them. Open MPI 4.1 with PMIx 4 (Debian 12's pair) hangs
// now and then inside MPI_Comm_spawn (openpmix/openpmix#2735, not fixed for 4.1): a child waits in
// PMIx_Init while the parent waits in the connect. MPI cannot cancel a spawn, so past `limit` a watchdog
// says so and ends the process (its orted then stops the children) rather than hang.
void spawn_group(std::size_t n, std::chrono::nanoseconds limit, MPI_Comm& comm, std::vector<pid_t>& pids) {
  const std::string exe = executable_path();
  std::vector<char*> args;
  for (auto& a : runtime.args) args.push_back(a.data());
  args.push_back(nullptr);
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (cv.wait_for(lock, limit, [&] { return done; })) return;
    std::fprintf(stderr,
                 "tandem::mpi: spawning %zu worker(s) with MPI_Comm_spawn did not finish in %lld s. Open MPI 4.1 with "
                 "PMIx 4 hangs in spawn now and then (openpmix/openpmix#2735); MPI cannot cancel it, so this process "
                 "ends. Start the program under mpirun -n N instead, which does not spawn.\n",
                 n, static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(limit).count()));
    std::fflush(stderr);
    std::_Exit(70);
  });
  MPI_Info info;
  MPI_Info_create(&info);
  // More workers than this machine's slots is allowed, as with mpirun --oversubscribe.
  MPI_Info_set(info, "map_by", "slot:OVERSUBSCRIBE");
  std::vector<int> codes(n, MPI_SUCCESS);
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  int rc = MPI_Comm_spawn(exe.c_str(), args.data(), static_cast<int>(n), info, 0, MPI_COMM_SELF, &comm, codes.data());
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
  MPI_Info_free(&info);
  for (int c : codes)
    if (rc == MPI_SUCCESS && c != MPI_SUCCESS) rc = c;
  if (rc == MPI_SUCCESS) {
    pids.assign(n, 0);
    say_hello(comm, pids);
  }
  {
    std::lock_guard lock(m);
    done = true;
    cv.notify_one();
  }
  watchdog.join();
  if (rc != MPI_SUCCESS)
    throw BrokenExecutor("mpi::PoolExecutor: MPI_Comm_spawn of " + std::to_string(n) + " worker(s) of " + exe +
                         " failed: " + mpi_error_text(rc));
}

void release_group(MPI_Comm& comm, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) send_stop(comm, static_cast<int>(i));
  MPI_Comm_disconnect(&comm);
}

}  // namespace

int world_rank() noexcept { return runtime.rank; }
int world_size() noexcept { return runtime.size; }

int run_workers_or(int argc, char** argv, const std::function<int()>& main) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw std::logic_error("tandem::mpi::run_workers_or: MPI is already initialized (call it once)");
  runtime.args.assign(argv + (argc > 0 ? 1 : 0), argv + argc);
  // A singleton (no launcher's PMIX_RANK) will spawn: its PMIx keeps job data in a hash table rather
  // than the shared-memory dstore, which made the intermittent spawn hang (openpmix#2735) rarer here:
  // 9 hangs in 114 spawns with the default, 8 in 456 with hash (docs/architecture.md, "mpi layer").
  // The daemon it starts and the workers spawned inherit the setting; a user's own value is kept.
  if (!std::getenv("PMIX_RANK")) setenv("PMIX_MCA_gds", "hash", 0);
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw std::logic_error("tandem::mpi: this MPI library gives only thread level " + std::to_string(provided) +
                           "; tandem needs MPI_THREAD_SERIALIZED (its pool calls MPI from a manager thread)");
  }
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent != MPI_COMM_NULL) {  // spawned by a singleton's PoolExecutor: serve it, then leave
    MPI_Comm_rank(MPI_COMM_WORLD, &runtime.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &runtime.size);
    serve(parent, 0);
    MPI_Comm_disconnect(&parent);
    MPI_Finalize();
    runtime.rank = -1;
    return 0;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &runtime.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &runtime.size);
  MPI_Comm_dup(MPI_COMM_WORLD, &runtime.world);
  auto finish = [] {
    wait_for_orphaned_pools();
    if (runtime.group != MPI_COMM_NULL) release_group(runtime.group, runtime.group_pids.size());
    if (runtime.rank == 0)
      for (int r = 1; r < runtime.size; ++r) send_stop(runtime.world, r);
    MPI_Comm_free(&runtime.world);
    MPI_Finalize();
    runtime.rank = -1;
    runtime.size = 0;
  };
  if (runtime.rank != 0) {
    serve(runtime.world, 0);
    finish();
    return 0;
  }
  int result = 0;
  try {
    result = main();
  } catch (...) {
    finish();
    throw;
  }
  finish();
  return result;
}

// ---- the client's side ----

struct PoolExecutor::Impl {
  struct InFlight {
    std::unique_ptr<detail::Job> job;
    std::size_t worker = 0;
    MPI_Request send = MPI_REQUEST_NULL;
    std::optional<Clock::time_point> deadline;
    bool expired = false;  // its future failed with TimeoutError; the result will be dropped
  };
  struct Worker {
    int rank = 0;
    std::size_t in_flight = 0;
    bool holds_timed = false;  // runs a task with a timeout: nothing else is sent to it
    pid_t pid = 0;             // spawned workers only (same node): watched, since MPI would not say
  };

  Options options;
  MPI_Comm comm = MPI_COMM_NULL;
  bool spawned = false;
  bool cached_group = false;  // spawned: the runtime's group (kept after shutdown) or this pool's own
  std::vector<Worker> workers;

  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable finished_cv;
  std::deque<std::unique_ptr<detail::Job>> pending;  // guarded by mutex
  bool stopping = false;                             // guarded by mutex
  bool finished = false;                             // guarded by mutex
  std::string broken;                                // guarded by mutex: why, once a worker died
  std::thread manager;
  std::atomic<std::thread::id> manager_id{};  // set by the manager thread as it starts
  bool orphaned = false;  // the pool was destroyed on the manager thread, which frees this Impl at its end

  // Whether the caller is this pool's manager thread: a done-callback of one of its futures.
  bool on_manager_thread() const noexcept { return manager_id.load() == std::this_thread::get_id(); }

  // The manager thread's own state.
  std::unordered_map<std::uint64_t, InFlight> in_flight;
  double avg_ns = -1;  // moving average of the workers' compute time per task; < 0: none seen yet
  std::vector<char> in;

  std::size_t limit() const {
    if (avg_ns >= 0 && avg_ns < 200e3) return 1 + options.prefetch;
    return 1;
  }

  // Sends queued tasks to workers with room. Returns whether it sent any.
  bool dispatch() {
    bool any = false;
    for (;;) {
      std::unique_ptr<detail::Job> job;
      {
        std::lock_guard lock(mutex);
        if (pending.empty()) return any;
        const bool timed = pending.front()->timeout.count() > 0;
        std::size_t best = workers.size();
        for (std::size_t i = 0; i < workers.size(); ++i) {
          const Worker& w = workers[i];
          if (w.holds_timed) continue;
          if (timed ? w.in_flight != 0 : w.in_flight >= limit()) continue;
          if (best == workers.size() || w.in_flight < workers[best].in_flight) best = i;
        }
        if (best == workers.size()) return any;
        job = std::move(pending.front());
        pending.pop_front();
        if (!job->start()) continue;  // cancelled while queued: its future says so already
        send(std::move(job), best);
      }
      any = true;
    }
  }

  void send(std::unique_ptr<detail::Job> job, std::size_t worker) {
    const std::uint64_t id = runtime.next_id.fetch_add(1);
    std::memcpy(job->message.data() + offsetof(detail::TaskHeader, id), &id, sizeof id);
    InFlight f;
    f.worker = worker;
    if (job->timeout.count() > 0) {
      f.deadline = Clock::now() + job->timeout;
      workers[worker].holds_timed = true;
    }
    ++workers[worker].in_flight;
    if (job->message.size() > static_cast<std::size_t>(INT32_MAX)) {
      job->fail(std::make_exception_ptr(std::length_error("mpi::PoolExecutor: a task over 2 GiB does not fit one MPI message")));
      --workers[worker].in_flight;
      workers[worker].holds_timed = false;
      return;
    }
    int rc = MPI_Isend(job->message.data(), static_cast<int>(job->message.size()), MPI_BYTE, workers[worker].rank, kTagTask,
                       comm, &f.send);
    if (rc != MPI_SUCCESS) abort_job(comm, "sending a task to rank " + std::to_string(workers[worker].rank) + " failed: " + mpi_error_text(rc));
    f.job = std::move(job);
    in_flight.emplace(id, std::move(f));
  }

  // Takes the results that arrived. Returns whether there were any.
  bool collect() {
    bool any = false;
    for (int round = 0; round < 256; ++round) {
      int flag = 0;
      MPI_Message msg;
      MPI_Status st;
      MPI_Improbe(MPI_ANY_SOURCE, kTagResult, comm, &flag, &msg, &st);
      if (!flag) break;
      any = true;
      int n = 0;
      MPI_Get_count(&st, MPI_BYTE, &n);
      in.resize(static_cast<std::size_t>(n));
      MPI_Mrecv(in.data(), n, MPI_BYTE, &msg, &st);
      ResultHeader r;
      if (in.size() < sizeof r) abort_job(comm, "a result from rank " + std::to_string(st.MPI_SOURCE) + " is shorter than its header");
      std::memcpy(&r, in.data(), sizeof r);
      if (r.magic != kResultMagic)
        abort_job(comm, "a result from rank " + std::to_string(st.MPI_SOURCE) + " has a bad magic number");
      auto it = in_flight.find(r.id);
      if (it == in_flight.end()) continue;  // a stale id (cannot happen with one client): drop it
      InFlight f = std::move(it->second);
      in_flight.erase(it);
      MPI_Wait(&f.send, MPI_STATUS_IGNORE);  // done: the worker has the whole task
      Worker& w = workers[f.worker];
      --w.in_flight;
      if (f.deadline) w.holds_timed = false;
      const double ns = static_cast<double>(r.compute_ns);
      avg_ns = avg_ns < 0 ? ns : 0.8 * avg_ns + 0.2 * ns;
      if (f.expired) continue;
      try {
        auto handle = ipc::detail::parse({in.data() + sizeof r, in.size() - sizeof r}, typeid(ResultHeader));
        if (r.status == kError) {
          auto info = ipc::convert<ipc::ErrorInfo>(handle.get());
          f.job->fail(std::make_exception_ptr(RemoteError(info.type, info.message)));
        } else {
          f.job->deliver(handle.get());
        }
      } catch (...) {
        f.job->fail(std::current_exception());
      }
    }
    return any;
  }

  void expire(Clock::time_point now) {
    for (auto& [id, f] : in_flight) {
      if (f.expired || !f.deadline || now < *f.deadline) continue;
      f.expired = true;
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(f.job->timeout).count();
      f.job->fail(std::make_exception_ptr(TimeoutError(
          "mpi::PoolExecutor: the task ran past its timeout of " + std::to_string(ms) + " ms on rank " +
          std::to_string(workers[f.worker].rank) + " (MPI cannot interrupt a rank: it finishes the task and the result is dropped)")));
    }
  }

  // A spawned worker that died: Open MPI 4.1 prints how (signal, exit code) and aborts the child job,
  // but this process is not told and would wait forever. Every future fails instead, naming the rank.
  bool dead_worker_found() {
    for (auto& w : workers) {
      if (process_alive(w.pid)) continue;
      std::string why = "mpi::PoolExecutor: spawned worker rank " + std::to_string(w.rank) + " (pid " +
                        std::to_string(w.pid) +
                        ") died; Open MPI 4.1 cannot recover a job that lost a rank (its message above says how it "
                        "died), so this pool is broken. For tasks that may crash, use ProcessPoolExecutor";
      if (cached_group) {  // the group is lost: the next pool spawns a new one (no disconnect: it would wait)
        std::lock_guard rt(runtime.mutex);
        runtime.group = MPI_COMM_NULL;
        runtime.group_pids.clear();
        runtime.group_in_use = false;
      }
      std::deque<std::unique_ptr<detail::Job>> queued;
      {
        std::lock_guard lock(mutex);  // first, so that a submit after a failed future is refused
        broken = why;
        queued.swap(pending);
      }
      for (auto& [id, f] : in_flight)
        if (!f.expired) f.job->fail(std::make_exception_ptr(BrokenExecutor(why)));
      in_flight.clear();  // their send requests are abandoned with the communicator
      for (auto& job : queued) job->fail(std::make_exception_ptr(BrokenExecutor(why)));
      return true;
    }
    return false;
  }

  void run() {
    manager_id = std::this_thread::get_id();
    on_some_manager_thread = true;
    Backoff backoff(std::chrono::microseconds(20), std::chrono::microseconds(100));
    std::optional<Clock::time_point> grace_end;
    auto last_check = Clock::now();
    for (;;) {
      bool progress = dispatch();
      progress |= collect();
      const auto now = Clock::now();
      if (!in_flight.empty()) expire(now);
      if (spawned && now - last_check > std::chrono::milliseconds(50)) {
        last_check = now;
        if (dead_worker_found()) {
          std::lock_guard lock(mutex);
          finished = true;
          finished_cv.notify_all();
          return;  // no stop and no disconnect: they would wait for the dead rank
        }
      }
      std::unique_lock lock(mutex);
      if (stopping && pending.empty()) {
        bool only_expired = true;
        for (auto& [id, f] : in_flight) only_expired &= f.expired;
        if (in_flight.empty()) break;
        if (only_expired) {
          if (!grace_end) grace_end = Clock::now() + options.shutdown_grace;
          if (Clock::now() >= *grace_end) {
            std::string ranks;
            for (auto& [id, f] : in_flight) ranks += (ranks.empty() ? "" : ", ") + std::to_string(workers[f.worker].rank);
            abort_job(comm, "mpi::PoolExecutor::shutdown: rank(s) " + ranks +
                                " still run a task that timed out, past Options::shutdown_grace; MPI cannot stop a rank, "
                                "and the job could never finalize");
          }
        }
      }
      if (progress) {
        backoff.reset();
        continue;
      }
      if (in_flight.empty() && pending.empty() && !stopping) {
        // Idle: sleep until a submit, waking now and then to watch spawned workers.
        wake.wait_for(lock, std::chrono::milliseconds(spawned ? 100 : 1000), [&] { return stopping || !pending.empty(); });
        continue;
      }
      lock.unlock();
      backoff.pause();
    }
    if (spawned && cached_group) {
      std::lock_guard rt(runtime.mutex);
      runtime.group_in_use = false;
    } else if (spawned) {
      release_group(comm, workers.size());
    } else {
      std::lock_guard rt(runtime.mutex);
      runtime.world_pool_active = false;
    }
    std::lock_guard lock(mutex);
    finished = true;
    finished_cv.notify_all();
  }
};

PoolExecutor::PoolExecutor(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (runtime.rank != 0)
    throw std::logic_error(
        "mpi::PoolExecutor: make it inside the main that tandem::mpi::run_workers_or(argc, argv, main) runs on rank 0");
  wait_for_orphaned_pools();  // a pool destroyed in a done-callback gives its ranks back first
  if (runtime.size > 1) {
    std::lock_guard lock(runtime.mutex);
    if (runtime.world_pool_active)
      throw std::logic_error("mpi::PoolExecutor: another pool uses mpirun's ranks; shut it down first (one at a time)");
    const std::size_t available = static_cast<std::size_t>(runtime.size - 1);
    std::size_t n = options.max_workers == 0 ? available : options.max_workers;
    if (n > available)
      throw std::invalid_argument("mpi::PoolExecutor: max_workers " + std::to_string(n) + " but mpirun started only " +
                                  std::to_string(available) + " worker rank(s) (mpirun -n " + std::to_string(n + 1) + ")");
    runtime.world_pool_active = true;
    impl_->comm = runtime.world;
    for (std::size_t i = 0; i < n; ++i) impl_->workers.push_back({static_cast<int>(i + 1), 0, false, 0});
  } else {
    const std::size_t n = options.max_workers == 0 ? cpu_count() : options.max_workers;
    std::vector<pid_t> pids;
    {
      std::unique_lock lock(runtime.mutex);
      if (!runtime.group_in_use) {  // this pool takes the runtime's group, spawning it if needed
        runtime.group_in_use = true;
        impl_->cached_group = true;
        if (runtime.group != MPI_COMM_NULL && runtime.group_pids.size() != n) {
          release_group(runtime.group, runtime.group_pids.size());  // another size: start afresh
          runtime.group_pids.clear();
        }
        if (runtime.group == MPI_COMM_NULL) {
          try {
            spawn_group(n, options.spawn_timeout, runtime.group, runtime.group_pids);
          } catch (...) {
            runtime.group_in_use = false;
            throw;
          }
        }
        impl_->comm = runtime.group;
        pids = runtime.group_pids;
      }
    }
    if (!impl_->cached_group) spawn_group(n, options.spawn_timeout, impl_->comm, pids);  // a second pool at once
    impl_->spawned = true;
    for (std::size_t i = 0; i < n; ++i) impl_->workers.push_back({static_cast<int>(i), 0, false, pids[i]});
  }
  impl_->manager = std::thread([impl = impl_.get()] {
    impl->run();
    if (impl->orphaned) {  // set on this thread, in a done-callback: nobody else holds the Impl
      delete impl;
      std::lock_guard lock(runtime.mutex);
      --runtime.orphaned_pools;
      runtime.orphan_done.notify_all();
    }
  });
}

PoolExecutor::~PoolExecutor() {
  if (!impl_->on_manager_thread()) {
    shutdown(true, false);
    return;
  }
  // Destroyed in a done-callback: waiting here would wait for this very thread. The pool stops taking
  // tasks; the manager finishes those submitted, releases the workers and then frees the Impl.
  shutdown(false, false);
  {
    std::lock_guard lock(runtime.mutex);
    ++runtime.orphaned_pools;
  }
  impl_->orphaned = true;
  impl_->manager.detach();
  static_cast<void>(impl_.release());
}

void PoolExecutor::enqueue(std::unique_ptr<detail::Job> job) {
  if (job->timeout.count() == 0) job->timeout = impl_->options.task_timeout;
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) throw ShutdownError("mpi::PoolExecutor: submit after shutdown");
  if (!impl_->broken.empty()) throw BrokenExecutor(impl_->broken);
  const bool was_empty = impl_->pending.empty();
  impl_->pending.push_back(std::move(job));
  if (was_empty) impl_->wake.notify_one();
}

void PoolExecutor::shutdown(bool wait, bool cancel_futures) {
  if (wait && impl_->on_manager_thread())
    throw std::logic_error(
        "mpi::PoolExecutor::shutdown(wait=true) called from a done-callback of one of the pool's futures: callbacks "
        "run on the pool's manager thread, which would wait for itself. Call shutdown(false) there (the pool still "
        "finishes every submitted task), or shut down from another thread");
  std::deque<std::unique_ptr<detail::Job>> cancelled;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    if (cancel_futures) cancelled.swap(impl_->pending);
    impl_->wake.notify_one();
  }
  // Outside the lock: cancelling runs the futures' done-callbacks, which may call into the pool.
  for (auto& job : cancelled) job->cancel();
  cancelled.clear();
  if (!wait) return;
  {
    std::unique_lock lock(impl_->mutex);
    impl_->finished_cv.wait(lock, [&] { return impl_->finished; });
  }
  if (impl_->manager.joinable()) impl_->manager.join();
}

std::size_t PoolExecutor::max_workers() const noexcept { return impl_->workers.size(); }

std::vector<int> PoolExecutor::worker_ranks() const {
  std::vector<int> r;
  for (auto& w : impl_->workers) r.push_back(w.rank);
  return r;
}

bool PoolExecutor::spawned() const noexcept { return impl_->spawned; }

}  // namespace tandem::mpi
