// ProcessPoolExecutor: the worker loop (child side) and the manager thread (parent side).
//
// The records and the data flow between the pool and its workers: wire.hpp.
//
// * submit() encodes the call into a record (TaskWire + msgpack arguments, at most one ring's worth:
//   RecordBuffer refuses more while encoding) and queues it in `pending`.
// * dispatch gives a pending task to an idle worker, or, when none is idle and fewer than max_workers
//   run, leaves it for the manager to start one (grow_locked); with every worker started it queues up
//   to `prefetch` tasks behind a busy worker's running one (one, once tasks average over 0.2 ms).
// * A task in a ring has a claim word (WorkerShared::claims, index in TaskWire::claim): the worker
//   CASes it queued -> taken before running (then sets `started`, `current`, `deadline_ns` and rings
//   the doorbell if the manager sleeps); cancel() CASes it queued -> cancelled, and the worker then
//   answers kResultSkipped. The manager marks a future running once it sees its claim taken.
// * Results come back in task order (ResultWire: value, error, initializer failure, skipped); the
//   manager matches each to the front of the worker's `inflight` deque and delivers outside `mu`.
// * A worker's death is seen on its pidfd: results already in the ring are good; if it had a task
//   running (started != answered) that task fails (WorkerCrashed, or TimeoutError if the manager killed
//   it for its deadline); tasks still queued in its ring go back to `pending`; the worker is replaced.
//   A worker that dies before its loop is a start failure (kMaxStartFailures in a row break the pool).
// * Shutdown: a kTaskStop record per worker once nothing is pending or in flight, then reap.
#include "tandem/process_pool.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <system_error>
#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <thread>

#include "../sys/errors.hpp"
#include "../sys/futex.hpp"
#include "../sys/spin.hpp"
#include "spsc_ring.hpp"
#include "wire.hpp"
#include "tandem/ipc/pipe.hpp"
#include "tandem/ipc/shared_memory.hpp"

namespace tandem {

WorkerCrashed::WorkerCrashed(pid_t pid, int exitcode)
    : Error("worker process " + std::to_string(pid) + " died while running the task: " +
            (exitcode < 0 ? "killed by signal " + signal_name(-exitcode) + " (" + std::to_string(-exitcode) + ")"
                          : "exited with code " + std::to_string(exitcode)) +
            "; the worker was replaced"),
      pid_(pid),
      exitcode_(exitcode) {}

RemoteError::RemoteError(std::string type, std::string message)
    : Error(type + ": " + message), type_(std::move(type)), message_(std::move(message)) {}

namespace detail {

void throw_record_too_large(std::size_t at_least, std::size_t limit) {
  throw std::length_error("ProcessPoolExecutor: the task's encoded arguments (at least " + std::to_string(at_least) +
                          " bytes) exceed the largest record the pool's ring takes (" + std::to_string(limit) +
                          " bytes); raise Options::ring_bytes or pass the data through SharedMemory");
}

namespace {

using sys::monotonic_ns;
using namespace wire;

constexpr std::uint32_t kWorkerMagic = 0x574b5231;  // "WKR1"
constexpr std::size_t kRingsOffset = 4096;
// Exit code of a worker whose doorbell descriptor was closed by a task (it cannot signal any more).
constexpr int kExitLostDoorbell = 122;
struct WorkerShared {
  std::atomic<std::uint32_t> magic;
  std::atomic<std::uint32_t> ring_bytes;
  std::atomic<std::uint32_t> init_done;
  std::atomic<std::uint32_t> started;  // tasks begun, free-running
  std::atomic<std::uint64_t> current;  // id of the task begun last
  std::atomic<std::int64_t> deadline_ns;  // CLOCK_MONOTONIC deadline of the running task; 0: none
  std::atomic<std::uint64_t> claims[kClaimWords];  // see kClaimQueued
  SpscRingHeader tasks;
  SpscRingHeader results;
};
static_assert(sizeof(WorkerShared) <= kRingsOffset);

/// The shared segment between the pool and one worker: control words and the two rings.
class WorkerLink : public ipc::detail::SharedObject {
 public:
  explicit WorkerLink(std::uint32_t ring_bytes) : SharedObject(kRingsOffset + 2 * std::size_t{ring_bytes}) {
    auto* s = new (raw()) WorkerShared{};
    s->ring_bytes.store(ring_bytes);
    s->magic.store(kWorkerMagic);
  }
  WorkerLink(ipc::detail::adopt_segment_t, std::shared_ptr<ipc::SharedMemory> seg)
      : SharedObject(std::move(seg), kWorkerMagic, kRingsOffset, "pool worker link") {
    if (segment()->size() < kRingsOffset + 2 * std::size_t{shared()->ring_bytes.load()})
      throw ipc::CodecError("tandem: pool worker segment is smaller than its rings");
  }
  WorkerShared* shared() const noexcept { return static_cast<WorkerShared*>(raw()); }
  SpscRing tasks() const noexcept {
    return SpscRing(&shared()->tasks, static_cast<char*>(raw()) + kRingsOffset, shared()->ring_bytes.load());
  }
  SpscRing results() const noexcept {
    std::uint32_t n = shared()->ring_bytes.load();
    return SpscRing(&shared()->results, static_cast<char*>(raw()) + kRingsOffset + n, n);
  }
};

// Busy-wait budget before sleeping: long enough to catch the next message of a busy stream, short
// enough that an idle pool parks at once.
constexpr int kSpinIterations = 4000;

}  // namespace

// The worker process: runs tasks from its ring until told to stop, its parent dies, or max_tasks.
void pool_worker_main(WorkerLink link, ipc::detail::Fd doorbell, std::int64_t parent, CodeRef<void (*)()> init,
                      std::uint32_t max_tasks) {
  // A daemon Process: the parent-death signal is armed; getppid() stays the cheap check while idle.
  if (getppid() != static_cast<pid_t>(parent)) return;  // the parent died before we got here
  signal(SIGPIPE, SIG_IGN);

  WorkerShared* sh = link.shared();
  SpscRing tasks = link.tasks();
  SpscRing results = link.results();
  ipc::Buffer out;
  std::vector<char> rec;
  const auto parent_alive = [&] { return getppid() == static_cast<pid_t>(parent); };
  // After a result: EAGAIN means the counter is full, the manager is awake anyway. Any other failure
  // means a task closed (or replaced) the doorbell descriptor: this worker can no longer wake the
  // manager, so it leaves; the manager sees its pidfd, takes the results already in the ring and starts
  // a replacement. (At a task's start the ring is only a courtesy: a failure there is left to the
  // result that follows, so that no task is taken and then abandoned.)
  const auto ring_parent = [&](bool after_result) {
    if (results.reader_needs_wake()) {
      std::uint64_t one = 1;
      if (write(doorbell.get(), &one, sizeof one) < 0 && errno != EAGAIN && errno != EINTR && after_result)
        _exit(kExitLostDoorbell);
    }
  };
  const auto send = [&](std::uint64_t id) {
    if (out.size() > results.max_record()) {
      encode_error_result(out, kResultError, id,
                          {"std::length_error", "the task's result (" + std::to_string(out.size()) +
                                                    " bytes) is larger than the pool's ring; raise Options::ring_bytes"});
    }
    while (!results.try_write(out.data(), out.size(), nullptr, 0)) {
      auto* h = results.header();
      std::uint32_t seen = h->head.load();
      h->writer_waiting.store(1);
      if (!results.fits(out.size()))
        sys::shared_futex_wait(&h->head, seen, sys::Clock::now() + std::chrono::seconds(1));
      h->writer_waiting.store(0);
      if (!parent_alive()) _exit(0);
    }
    ring_parent(true);
  };

  if (init.fn) {
    try {
      init.fn();
    } catch (...) {
      encode_error_result(out, kResultInitFailed, 0, ipc::describe_current_exception());
      send(0);
      return;
    }
  }
  sh->init_done.store(1);
  ring_parent(false);  // tasks are sent to a worker only once it is ready: tell a sleeping manager

  std::uint32_t done = 0;
  for (;;) {
    bool corrupt = false;
    if (!tasks.try_read(rec, &corrupt)) {
      if (corrupt) _exit(120);
      int spins = 0;
      while (tasks.empty() && spins++ < kSpinIterations) sys::cpu_relax();
      if (!tasks.empty()) continue;
      auto* h = tasks.header();
      std::uint32_t seen = h->tail.load();
      h->reader_waiting.store(1);
      if (tasks.empty()) sys::shared_futex_wait(&h->tail, seen, sys::Clock::now() + std::chrono::seconds(1));
      h->reader_waiting.store(0);
      if (!parent_alive()) _exit(0);
      continue;
    }
    auto task = decode_task(rec);
    if (!task) _exit(120);
    const TaskWire& w = task->header;
    if (w.kind == kTaskStop) break;

    // Take the task, unless cancel() got to its claim word first: then answer "skipped".
    std::uint64_t queued = w.id << 2 | kClaimQueued;
    if (!sh->claims[w.claim].compare_exchange_strong(queued, w.id << 2 | kClaimTaken)) {
      sh->started.fetch_add(1);
      begin_result(out, kResultSkipped, w.id);
      send(w.id);
      continue;
    }
    sh->current.store(w.id);
    if (w.timeout_ns > 0) sh->deadline_ns.store(monotonic_ns() + w.timeout_ns);
    sh->started.fetch_add(1);
    ring_parent(false);  // a sleeping manager marks the future running and learns the new deadline

    const std::int64_t start_ns = (w.flags & kTaskTimed) ? monotonic_ns() : 0;
    begin_result(out, kResultValue, w.id);
    try {
      if (w.kind != kTaskCall && w.kind != kTaskChunk)
        throw ipc::CodecError("tandem: unknown task kind " + std::to_string(w.kind));
      auto entry = reinterpret_cast<TaskEntry>(code_address(w.entry));
      auto fn = code_address(w.fn);
      auto handle = ipc::detail::parse(task->args, typeid(TaskWire));
      entry(w.signature, fn, handle.get(), out);
    } catch (...) {
      encode_error_result(out, kResultError, w.id, ipc::describe_current_exception());
    }
    if (w.flags & kTaskTimed) patch_result_times(out, start_ns, monotonic_ns());
    sh->deadline_ns.store(0);
    send(w.id);
    if (max_tasks != 0 && ++done >= max_tasks) break;
  }
}

}  // namespace detail

// ---- the parent's side ---------------------------------------------------------------------------

using detail::ProcessJob;
using detail::SpscRing;
using detail::kSpinIterations;
using detail::WorkerLink;
using sys::shared_futex_wake;
namespace wire = detail::wire;

namespace {

constexpr std::size_t kMaxRingBytes = std::size_t{1} << 30;  // the rings count bytes in 32 bits

std::uint32_t checked_ring_bytes(std::size_t n) {
  if (n > kMaxRingBytes)
    throw std::invalid_argument("ProcessPoolExecutor: Options::ring_bytes is " + std::to_string(n) +
                                "; a ring holds at most 1 GiB (1073741824 bytes). Pass larger data through "
                                "SharedMemory and send its name");
  std::size_t p = 4096;
  while (p < n) p <<= 1;
  return static_cast<std::uint32_t>(p);
}

struct Completion {
  std::unique_ptr<ProcessJob> job;
  std::vector<char> record;    // a result record, or empty when `error` is set
  std::exception_ptr error;
};

}  // namespace

struct ProcessPoolExecutor::Impl {
  struct Inflight {
    std::uint64_t id;
    std::unique_ptr<ProcessJob> job;
    std::int64_t dispatched_ns;
    std::uint32_t claim;  // its claim word in the worker's segment
  };
  struct Worker {
    explicit Worker(std::uint32_t ring_bytes) : link(ring_bytes), tasks(link.tasks()), results(link.results()) {}
    WorkerLink link;
    SpscRing tasks, results;
    std::unique_ptr<Process> proc;
    std::deque<Inflight> inflight;
    std::uint32_t results_seen = 0;
    std::uint32_t dispatched = 0;
    std::int64_t last_result_ns = 0;
    bool killed = false;  // by us, for a timeout
    std::uint64_t timeout_victim = 0;
    bool stopping = false;
    bool seen_ready = false;  // counted as having reached its loop (note_ready_workers_locked)
    Recorder::Lane* lane = nullptr;  // with a recorder: its slot's lane (written by the manager only)
  };

  Options opts;
  StartMethod method;
  std::size_t nworkers;
  std::uint32_t ring_bytes;
  pid_t self = getpid();

  mutable std::mutex mu;
  std::deque<std::unique_ptr<ProcessJob>> pending;
  std::vector<std::unique_ptr<Worker>> workers;
  ipc::detail::Fd doorbell;
  bool shutting_down = false;
  bool broken = false;
  std::string broken_reason;
  std::uint64_t next_id = 1;
  std::atomic<std::size_t> replaced{0};
  // Workers that died before reaching their loop, in a row; kMaxStartFailures of them break the pool.
  unsigned start_failures_in_a_row = 0;
  static constexpr unsigned kMaxStartFailures = 10;
  // Longest the manager sleeps while tasks are in flight. Workers ring the doorbell when they post a
  // result, but a task can close its worker's descriptors: this bound (and the worker leaving once its
  // doorbell is gone) keeps such a result from waiting forever.
  static constexpr int kMaxSleepWithWorkMs = 50;
  std::atomic<unsigned> spawned{0};
  // Moving average of how long a task takes in a worker. Slow tasks are not queued deep in one
  // worker's ring (they would wait there while another worker idles, and could not be cancelled):
  // past kSlowTaskNs a worker gets one task beside the running one, as Python's call queue does.
  std::int64_t avg_task_ns = 0;
  static constexpr std::int64_t kSlowTaskNs = 200'000;

  std::size_t queue_limit_locked() const {
    return avg_task_ns > kSlowTaskNs ? std::min<std::size_t>(1, opts.prefetch) : opts.prefetch;
  }

  std::mutex join_mu;
  std::thread manager;
  std::atomic<std::thread::id> manager_id{};  // set by the manager thread as it starts
  bool orphaned = false;  // the pool was destroyed on the manager thread, which frees this Impl at its end

  // Whether the caller is the manager thread: a done-callback of one of this pool's futures.
  bool on_manager_thread() const noexcept { return manager_id.load() == std::this_thread::get_id(); }

  static Options checked(Options o) {
    if (o.prefetch > detail::kClaimWords - 2)
      throw std::invalid_argument("ProcessPoolExecutor: Options::prefetch is " + std::to_string(o.prefetch) +
                                  "; at most " + std::to_string(detail::kClaimWords - 2) +
                                  " tasks can wait in one worker's ring");
    return o;
  }

  explicit Impl(Options o)
      : opts(checked(std::move(o))),
        method(opts.start_method.value_or(default_start_method())),
        nworkers(opts.max_workers ? detail::checked_worker_count(opts.max_workers, "ProcessPoolExecutor")
                                  : std::max(1u, std::thread::hardware_concurrency())),
        ring_bytes(checked_ring_bytes(opts.ring_bytes)) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) sys::throw_errno("ProcessPoolExecutor: eventfd failed", errno);
    doorbell = ipc::detail::Fd(fd);
  }

  void ring_manager() const {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(doorbell.get(), &one, sizeof one);
  }

  // ---- under mu ----

  void spawn_locked(std::size_t slot) {
    auto w = std::make_unique<Worker>(ring_bytes);
    Process::Options po{"ProcessPoolExecutor-worker-" + std::to_string(spawned.fetch_add(1) + 1), method,
                        /*daemon=*/true};
    w->proc = std::make_unique<Process>(po, &detail::pool_worker_main, w->link, doorbell,
                                        static_cast<std::int64_t>(self), detail::CodeRef<void (*)()>{opts.initializer},
                                        opts.max_tasks_per_child);
    w->proc->start();
    if (opts.recorder) w->lane = &opts.recorder->lane(static_cast<std::uint32_t>(slot));
    workers[slot] = std::move(w);
  }

  void dispatch_locked() {
    const std::size_t limit = queue_limit_locked();
    while (!pending.empty()) {
      Worker* best = nullptr;
      for (auto& w : workers) {
        if (!w || w->killed || w->stopping || w->inflight.size() > limit || !ready(*w)) continue;
        if (opts.max_tasks_per_child && w->dispatched >= opts.max_tasks_per_child) continue;
        if (!best || w->inflight.size() < best->inflight.size()) best = w.get();
      }
      if (!best) return;
      // No worker is idle, but one is starting or may start: it takes this task rather than the queue
      // of a busy one (Python starts a worker whenever none is idle, and its call queue feeds whichever
      // worker is free). Prefetching behind busy workers begins once every worker is up.
      if (!best->inflight.empty() && (starting_locked() > 0 || should_grow_locked())) return;
      auto& job = pending.front();
      if (!best->tasks.fits(job->record.size())) return;  // its ring drains as results come back
      const wire::TaskWire w = wire::task_header(wire::bytes(job->record));
      // The claim words of a worker are used round-robin: at most prefetch + 2 <= kClaimWords tasks of
      // one worker are unanswered at once, so a word is free again by the time it comes round.
      const std::uint32_t claim = best->dispatched % detail::kClaimWords;
      if (!job->enter_ring(&best->link.shared()->claims[claim], w.id)) {  // cancelled while queued
        pending.pop_front();
        continue;
      }
      wire::patch_task<&wire::TaskWire::claim>(wire::bytes(job->record), claim);
      best->tasks.try_write(job->record.data(), job->record.size(), nullptr, 0);
      if (best->tasks.reader_needs_wake()) shared_futex_wake(&best->tasks.header()->tail, 1);
      best->inflight.push_back({w.id, std::move(job), sys::monotonic_ns(), claim});
      ++best->dispatched;
      pending.pop_front();
    }
  }

  // Moves finished results of one worker into `done`. Returns whether there were any.
  bool drain_locked(Worker& w, std::vector<Completion>& done) {
    bool any = false;
    std::vector<char> rec;
    bool corrupt = false;
    while (w.results.try_read(rec, &corrupt)) {
      any = true;
      auto result = wire::decode_result(rec);
      if (w.results.writer_needs_wake()) shared_futex_wake(&w.results.header()->head, 1);
      if (!result) {
        corrupt = true;
        break;
      }
      const wire::ResultWire r = result->header;
      if (r.kind == wire::kResultInitFailed) {
        ipc::ErrorInfo info;
        try {
          info = wire::decode_error_result(*result);
        } catch (const std::exception& e) {
          info = {"unknown", e.what()};
        }
        break_pool_locked("the pool's initializer failed in a worker: " + info.type + ": " + info.message, done);
        return true;
      }
      ++w.results_seen;
      if (w.inflight.empty() || w.inflight.front().id != r.id) {
        corrupt = true;
        break;
      }
      w.inflight.front().job->leave_ring();  // its claim word may be reused, or unmapped with the worker
      if (r.kind == wire::kResultSkipped) {  // cancelled in the ring: the future is cancelled already
        done.push_back({std::move(w.inflight.front().job), {}, nullptr});
        w.inflight.pop_front();
        rec = {};
        continue;
      }
      // Service time: from when the worker could start it (dispatch, or its previous result) to now.
      const std::int64_t now = sys::monotonic_ns();
      const std::int64_t took = now - std::max(w.inflight.front().dispatched_ns, w.last_result_ns);
      w.last_result_ns = now;
      avg_task_ns = avg_task_ns == 0 ? took : avg_task_ns + (took - avg_task_ns) / 8;
      if (w.lane && r.start_ns != 0) {  // timed in the worker (kTaskTimed): the manager files it
        using Clock = Recorder::Clock;
        w.lane->add(r.id, Clock::time_point(std::chrono::nanoseconds(r.start_ns)),
                    Clock::time_point(std::chrono::nanoseconds(r.end_ns)));
      }
      done.push_back({std::move(w.inflight.front().job), std::move(rec), nullptr});
      w.inflight.pop_front();
      rec = {};
    }
    if (corrupt && !w.killed) {  // a worker that talks nonsense is treated like a crashed one
      w.proc->kill();
    }
    return any;
  }

  // A worker took its oldest unanswered task: that future is running now (Python: a task is running
  // once a worker has it, and can no longer be cancelled).
  void mark_running_locked(Worker& w) {
    if (w.inflight.empty() || w.link.shared()->started.load() == w.results_seen) return;
    auto& front = w.inflight.front();
    if (w.link.shared()->claims[front.claim].load() == (front.id << 2 | detail::kClaimTaken)) front.job->start();
  }

  void break_pool_locked(const std::string& reason, std::vector<Completion>& done) {
    if (broken) return;
    broken = true;
    broken_reason = reason;
    auto error = std::make_exception_ptr(BrokenExecutor(reason));
    for (auto& j : pending) done.push_back({std::move(j), {}, error});
    pending.clear();
    for (auto& w : workers) {
      if (!w) continue;
      for (auto& f : w->inflight) {
        f.job->leave_ring();
        done.push_back({std::move(f.job), {}, error});
      }
      w->inflight.clear();
      w->stopping = true;
      w->proc->kill();
    }
  }

  void check_deadlines_locked(std::int64_t now) {
    for (auto& w : workers) {
      if (!w || w->killed) continue;
      auto* sh = w->link.shared();
      std::int64_t d1 = sh->deadline_ns.load();
      if (d1 == 0 || now < d1) continue;
      std::uint64_t current = sh->current.load();
      if (sh->deadline_ns.load() != d1) continue;  // moved on meanwhile
      w->killed = true;
      w->timeout_victim = current;
      w->proc->kill();
    }
  }

  std::int64_t next_deadline_locked() const {
    std::int64_t next = 0;
    for (auto& w : workers) {
      if (!w || w->killed) continue;
      std::int64_t d = w->link.shared()->deadline_ns.load();
      if (d != 0 && (next == 0 || d < next)) next = d;
    }
    return next;
  }

  // A worker's process ended: account for its tasks and replace it.
  void on_worker_exit_locked(std::size_t slot, std::vector<Completion>& done) {
    Worker& w = *workers[slot];
    w.proc->join();
    const int code = w.proc->exitcode().value_or(-1);
    const pid_t pid = w.proc->pid();
    drain_locked(w, done);  // results written before it died are good
    for (auto& f : w.inflight) f.job->leave_ring();  // its segment goes away with it
    const bool running = w.link.shared()->started.load() != w.results_seen;
    if (running && !w.inflight.empty()) {
      auto victim = std::move(w.inflight.front());
      w.inflight.pop_front();
      if (w.killed && victim.id == w.timeout_victim) {
        done.push_back({std::move(victim.job), {},
                        std::make_exception_ptr(TimeoutError(
                            "the task ran past its timeout; its worker process " + std::to_string(pid) +
                            " was killed and replaced"))});
      } else if (w.killed) {
        pending.push_front(std::move(victim.job));  // started after the timed-out task ended: run it again
      } else {
        done.push_back({std::move(victim.job), {}, std::make_exception_ptr(WorkerCrashed(pid, code))});
      }
    }
    for (auto it = w.inflight.rbegin(); it != w.inflight.rend(); ++it) pending.push_front(std::move(it->job));
    w.inflight.clear();
    // A worker that dies before it reaches its loop (killed while the executable loads, or crashing in
    // the initializer) is replaced like any other: only an initializer that *throws* breaks the pool, as
    // in Python. What is bounded is a respawn storm: kMaxStartFailures such deaths in a row, with no
    // worker reaching its loop in between, mean workers cannot start, and the pool says so.
    note_ready_workers_locked();
    const bool died_starting = !ready(w) && !w.killed && !w.stopping;
    workers[slot].reset();
    if (died_starting && !broken && ++start_failures_in_a_row >= kMaxStartFailures) {
      const std::string how = code < 0 ? "killed by " + signal_name(-code) : "exit code " + std::to_string(code);
      break_pool_locked("worker processes cannot start: " + std::to_string(start_failures_in_a_row) +
                            " in a row died before reaching their task loop" +
                            (opts.initializer ? " (while loading the executable or in the pool's initializer)"
                                              : " (while loading the executable)") +
                            "; last: worker " + std::to_string(pid) + ": " + how,
                        done);
    }
    if (broken) return;
    if (!shutting_down || !pending.empty() || any_inflight_locked()) {
      try {
        spawn_locked(slot);
        replaced.fetch_add(1);
      } catch (const std::exception& e) {
        break_pool_locked(std::string("cannot start a replacement worker: ") + e.what(), done);
      }
    }
  }

  // Workers start on demand, as in Python 3.9+: one more while tasks wait and no worker is idle, up to
  // max_workers (a small program pays for the workers it uses; a burst starts them all). Only the
  // manager thread starts workers, so a failure to start one breaks the pool instead of a submit().
  // Tasks go only to workers that reached their loop: one that hangs while starting (a fork child
  // that inherited a lock another thread held, an initializer that never returns) then holds no task,
  // and the others take the work.
  static bool ready(const Worker& w) { return w.link.shared()->init_done.load() != 0; }
  bool has_idle_worker_locked() const {
    for (auto& w : workers)
      if (w && w->inflight.empty() && !w->killed && !w->stopping && ready(*w)) return true;
    return false;
  }
  std::size_t starting_locked() const {
    std::size_t starting = 0;
    for (auto& w : workers)
      if (w && !ready(*w) && !w->killed && !w->stopping) ++starting;
    return starting;
  }
  // More waiting tasks than workers still starting (each will take one), and none idle: start another.
  bool should_grow_locked() const {
    return !broken && pending.size() > starting_locked() && !has_idle_worker_locked() &&
           std::find(workers.begin(), workers.end(), nullptr) != workers.end();
  }
  void grow_locked(std::vector<Completion>& done) {
    while (should_grow_locked()) {
      const auto slot = static_cast<std::size_t>(std::find(workers.begin(), workers.end(), nullptr) - workers.begin());
      try {
        spawn_locked(slot);
      } catch (const std::exception& e) {
        break_pool_locked(std::string("cannot start a worker process: ") + e.what(), done);
        return;
      }
      dispatch_locked();
    }
  }

  // A worker that reached its loop ends a run of start failures.
  void note_ready_workers_locked() {
    for (auto& w : workers) {
      if (!w || w->seen_ready || !ready(*w)) continue;
      w->seen_ready = true;
      start_failures_in_a_row = 0;
    }
  }

  bool any_inflight_locked() const {
    for (auto& w : workers)
      if (w && !w->inflight.empty()) return true;
    return false;
  }

  // Zero-timeout (or blocking) poll of the doorbell and every worker's pidfd; handles exits.
  void poll_locked(std::unique_lock<std::mutex>& lk, int timeout_ms, std::vector<Completion>& done) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> slots;
    fds.push_back({doorbell.get(), POLLIN, 0});
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (!workers[i]) continue;
      fds.push_back({workers[i]->proc->sentinel(), POLLIN, 0});
      slots.push_back(i);
    }
    if (timeout_ms != 0) lk.unlock();
    int r = ::poll(fds.data(), fds.size(), timeout_ms);
    if (timeout_ms != 0) lk.lock();
    if (r <= 0) return;
    if (fds[0].revents) {
      std::uint64_t v;
      [[maybe_unused]] auto n = read(doorbell.get(), &v, sizeof v);
    }
    for (std::size_t k = 1; k < fds.size(); ++k)
      if (fds[k].revents && workers[slots[k - 1]]) on_worker_exit_locked(slots[k - 1], done);
  }

  static void deliver(std::vector<Completion>& done) {
    for (auto& c : done) {
      if (c.error) {
        c.job->fail(c.error);
        continue;
      }
      if (c.record.empty()) continue;  // skipped by the worker: cancelled in its ring
      try {
        auto result = wire::decode_result(c.record);  // checked by drain_locked
        if (result->header.kind == wire::kResultValue) {
          auto handle = ipc::detail::parse(result->payload, typeid(ProcessJob));
          c.job->deliver(handle.get());
        } else if (result->header.kind == wire::kResultError) {
          auto info = wire::decode_error_result(*result);
          c.job->fail(std::make_exception_ptr(RemoteError(info.type, info.message)));
        } else {
          throw ipc::CodecError("tandem: unknown result kind " + std::to_string(result->header.kind));
        }
      } catch (...) {
        c.job->fail(std::current_exception());
      }
    }
    done.clear();  // destroys the jobs outside the pool's lock
  }

  void run() {
    std::vector<Completion> done;
    std::unique_lock lk(mu);
    // With fork, every worker starts now, before the program's threads can hold locks a fork child
    // would inherit (CPython does the same: it spawns on demand only when the method is not fork).
    if (method == StartMethod::fork) {
      try {
        for (std::size_t i = 0; i < nworkers; ++i) spawn_locked(i);
      } catch (const std::exception& e) {
        break_pool_locked(std::string("cannot start the pool's workers: ") + e.what(), done);
      }
    }
    grow_locked(done);
    unsigned spins = 0, loops = 0;
    for (;;) {
      bool progress = false;
      for (auto& w : workers) {
        if (!w) continue;
        progress |= drain_locked(*w, done);
        if (w) mark_running_locked(*w);
      }
      if (++loops % 64 == 0 || !progress) {
        check_deadlines_locked(sys::monotonic_ns());
        poll_locked(lk, 0, done);
      }
      dispatch_locked();
      grow_locked(done);
      if (!done.empty()) {
        lk.unlock();
        deliver(done);
        lk.lock();
        spins = 0;
        continue;
      }
      if (progress) continue;
      if (shutting_down && pending.empty() && !any_inflight_locked()) break;
      if (any_inflight_locked() && spins < kSpinIterations / 16) {
        ++spins;
        lk.unlock();
        for (int i = 0; i < 16; ++i) sys::cpu_relax();
        lk.lock();
        continue;
      }
      spins = 0;
      // Sleep: tell the workers to ring, re-check, then wait for the doorbell, an exit or a deadline.
      for (auto& w : workers)
        if (w) w->results.header()->reader_waiting.store(1);
      bool ready = false;
      for (auto& w : workers)
        if (w && !w->results.empty()) ready = true;
      if (!ready) {
        int timeout_ms = any_inflight_locked() ? kMaxSleepWithWorkMs : -1;
        if (std::int64_t d = next_deadline_locked()) {
          std::int64_t left = d - sys::monotonic_ns();
          int until = left <= 0 ? 0 : static_cast<int>(std::min<std::int64_t>(left / 1'000'000 + 1, 1 << 30));
          timeout_ms = timeout_ms < 0 ? until : std::min(timeout_ms, until);
        }
        poll_locked(lk, timeout_ms, done);
      }
      for (auto& w : workers)
        if (w) w->results.header()->reader_waiting.store(0);
    }
    // Every task is done: stop the workers and reap them.
    std::vector<std::unique_ptr<Worker>> stopping;
    for (auto& w : workers) {
      if (!w) continue;
      const wire::TaskWire stop = wire::stop_task();
      w->stopping = true;
      if (!w->tasks.try_write(&stop, sizeof stop, nullptr, 0)) w->proc->kill();
      shared_futex_wake(&w->tasks.header()->tail, 1);
      stopping.push_back(std::move(w));
    }
    workers.clear();
    lk.unlock();
    for (auto& w : stopping) {
      if (!w->proc->join(std::chrono::seconds(10))) {
        w->proc->kill();
        w->proc->join();
      }
    }
  }
};

ProcessPoolExecutor::ProcessPoolExecutor(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->workers.resize(impl_->nworkers);
  impl_->manager = std::thread([impl = impl_.get()] {
    impl->manager_id = std::this_thread::get_id();
    impl->run();
    if (impl->orphaned) delete impl;  // set on this thread, in a done-callback: nobody else holds it
  });
}

ProcessPoolExecutor::~ProcessPoolExecutor() {
  if (!impl_->on_manager_thread()) {
    shutdown(true, false);
    return;
  }
  // Destroyed in a done-callback: waiting here would wait for this very thread. The pool stops taking
  // tasks; the manager finishes those submitted, reaps the workers and then frees the Impl.
  shutdown(false, false);
  std::lock_guard g(impl_->join_mu);
  impl_->orphaned = true;
  impl_->manager.detach();
  static_cast<void>(impl_.release());
}

void ProcessPoolExecutor::begin_record(detail::ProcessJob& job, const detail::TaskTarget& target,
                                       std::chrono::nanoseconds timeout) const {
  job.record.limit = record_limit();
  wire::encode_task_header(job.record, target, timeout);
}

void ProcessPoolExecutor::enqueue(std::unique_ptr<detail::ProcessJob> job) {
  std::unique_lock lk(impl_->mu);
  if (impl_->shutting_down) throw ShutdownError();
  if (impl_->broken) throw BrokenExecutor("the process pool is broken: " + impl_->broken_reason);
  if (job->record.size() > record_limit()) detail::throw_record_too_large(job->record.size(), record_limit());
  wire::patch_task<&wire::TaskWire::id>(wire::bytes(job->record), impl_->next_id++);
  if (impl_->opts.recorder) wire::patch_task<&wire::TaskWire::flags>(wire::bytes(job->record), wire::kTaskTimed);
  if (wire::task_header(wire::bytes(job->record)).timeout_ns <= 0 && impl_->opts.task_timeout.count() > 0)
    wire::patch_task<&wire::TaskWire::timeout_ns>(wire::bytes(job->record), impl_->opts.task_timeout.count());
  impl_->pending.push_back(std::move(job));
  impl_->dispatch_locked();
  if (impl_->should_grow_locked()) impl_->ring_manager();  // the manager starts a worker
}

void ProcessPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  if (wait && impl_->on_manager_thread())
    throw std::logic_error(
        "ProcessPoolExecutor::shutdown(wait=true) called from a done-callback of one of the pool's futures: "
        "callbacks run on the pool's manager thread, which would wait for itself. Call shutdown(false) there (the "
        "pool still finishes every submitted task), or shut down from another thread");
  std::vector<detail::Ref<detail::StateBase>> to_cancel;
  {
    std::unique_lock lk(impl_->mu);
    impl_->shutting_down = true;
    if (cancel_futures) {  // every task no worker has taken: queued here, or waiting in a ring
      for (auto& j : impl_->pending) to_cancel.push_back(j->state());
      for (auto& w : impl_->workers)
        if (w)
          for (auto& f : w->inflight) to_cancel.push_back(f.job->state());
    }
  }
  // Outside the lock: cancelling runs the futures' done-callbacks, which may call into the pool.
  for (auto& st : to_cancel) {
    try {
      st->cancel();  // fails for a task a worker has taken: it runs to completion
    } catch (...) {
    }
  }
  to_cancel.clear();
  impl_->ring_manager();
  if (wait) {
    std::lock_guard g(impl_->join_mu);
    if (impl_->manager.joinable()) impl_->manager.join();
  }
}

std::size_t ProcessPoolExecutor::max_workers() const noexcept { return impl_->nworkers; }

std::size_t ProcessPoolExecutor::record_limit() const noexcept {
  return SpscRing(nullptr, nullptr, impl_->ring_bytes).max_record();
}

std::vector<pid_t> ProcessPoolExecutor::worker_pids() const {
  std::unique_lock lk(impl_->mu);
  std::vector<pid_t> out;
  for (auto& w : impl_->workers)
    if (w) out.push_back(w->proc->pid());
  return out;
}

std::size_t ProcessPoolExecutor::workers_replaced() const noexcept { return impl_->replaced.load(); }

}  // namespace tandem
