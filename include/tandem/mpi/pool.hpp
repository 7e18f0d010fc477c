// tandem/mpi/pool.hpp — a pool of MPI ranks behind Future<T> (Python: mpi4py.futures.MPIPoolExecutor).
//
//   int square(int x) { return x * x; }                     // a plain function, in the executable
//
//   int main(int argc, char** argv) {
//     return tandem::mpi::run_workers_or(argc, argv, [] {    // only rank 0 runs this lambda
//       tandem::mpi::PoolExecutor pool;                       // the other ranks, or spawned ones
//       tandem::Future<int> f = pool.submit(&square, 7);      // f.result() == 49, or co_await f
//       for (int r : pool.map(&square, std::vector<int>{1, 2, 3}, 2)) std::printf("%d\n", r);
//       return 0;
//     });
//   }
//
// Two ways to start it, as mpi4py.futures:
//  * `mpirun -n N prog`: every rank runs main(); run_workers_or() returns main's result on rank 0 and
//    turns ranks 1..N-1 into workers that serve every PoolExecutor rank 0 makes, one at a time, until
//    rank 0's main returns (then they return 0 from run_workers_or, without calling main).
//  * `prog` alone (an MPI singleton): the first PoolExecutor spawns Options::max_workers copies of this
//    executable with MPI_Comm_spawn (same arguments), and later pools of the same size reuse them (a
//    pool made while another runs spawns its own); in them run_workers_or serves the pools and returns 0
//    when the singleton's main returns. Code before run_workers_or runs in the spawned copies too (like
//    Python's `if __name__ == "__main__"` guard, keep it free of side effects). Spawned workers must run
//    on this node (they are watched by pid), which is what a singleton gets.
//
// Contract: the Executor concept (executor.hpp), as ProcessPoolExecutor: tasks are plain functions (or
// captureless lambdas) of the executable, named by their offset in it, so every rank must run the same
// binary; arguments and results cross through the wire codec (ipc/codec.hpp: msgpack-encodable values).
// Balancing is dynamic: a worker gets its next task when it returns one; while tasks are short (under
// 0.2 ms on average) it also holds Options::prefetch more, which hides the round trip. A task that
// throws fails its future with tandem::RemoteError (the process pool's: type name and message). A task
// sent to a worker is running: cancel() and shutdown(cancel_futures) stop only tasks still queued here.
//
// Failure rules:
//  * A timeout (submit_with / Options::task_timeout) counts from when the task reaches an otherwise idle
//    worker (a task with a timeout is never queued behind another there). Past it the future fails with
//    TimeoutError; MPI cannot interrupt the rank, so it finishes the task (its result is dropped) and
//    takes no other. If it is still busy when the pool shuts down and Options::shutdown_grace passes,
//    the job is aborted (MPI_Abort) with a message naming the rank, since it could never finalize.
//  * A rank that dies (a crash, a signal, exit() in a task) ends the whole job: Open MPI 4.1 has no
//    fault-tolerant recovery. Under mpirun, mpirun stops every rank and prints which rank died and how
//    ("mpirun noticed that process rank 1 with PID ... exited on signal 9 (Killed)"). A singleton
//    outlives its spawned workers: Open MPI prints the same, and the pool, which watches their pids,
//    fails every pending future with BrokenExecutor naming the rank and pid, and refuses new tasks.
//    For tasks that may crash, hang or must be killable, use ProcessPoolExecutor: it fails only that
//    task's future with WorkerCrashed / TimeoutError, replaces the worker and keeps going.
//  * Spawning: Open MPI 4.1 with PMIx 4 (Debian 12's pair) hangs in MPI_Comm_spawn now and then
//    (openpmix/openpmix#2735). A singleton sets PMIX_MCA_gds=hash (unless set already), which makes it
//    rarer, not gone. Past Options::spawn_timeout the process ends with a message saying so;
//    mpirun -n N, which spawns nothing, is the reliable way to start.
//  * submit after shutdown throws ShutdownError; a task or result the codec refuses fails with
//    CodecError (in submit) or RemoteError (from the worker).
//  * Done-callbacks (Future::add_done_callback) of this pool's futures run on its manager thread (or on
//    the thread that cancels). shutdown(wait=true) there would wait for the manager itself, so it throws
//    std::logic_error instead (CPython raises RuntimeError "cannot join current thread" in the same
//    case); shutdown(false) there is fine, and the pool still finishes every submitted task. Destroying
//    the pool there (a callback holding its last owner) does not wait either: the manager thread
//    finishes the tasks, releases the workers and frees the pool by itself; the next PoolExecutor, and
//    run_workers_or before it finalizes MPI, wait for it.
//
// Threading: run_workers_or asks for MPI_THREAD_MULTIPLE (Open MPI 4.1 gives it) and needs at least
// MPI_THREAD_SERIALIZED: each pool makes its MPI calls from its one manager thread (a spawn, from the
// thread that constructs it, before that thread starts), so user threads may submit freely; with only
// SERIALIZED, keep to one pool at a time. Don't make MPI calls of your own while a pool runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/errors.hpp"
#include "tandem/executor.hpp"
#include "tandem/futures.hpp"
#include "tandem/ipc/codec.hpp"
#include "tandem/process.hpp"
#include "tandem/process_pool.hpp"

namespace tandem::mpi {

/// Starts MPI (MPI_Init_thread) and decides this process's role. On rank 0 of `mpirun -n N`, or in a
/// singleton, runs main() and returns its result; on the other ranks, or in a copy spawned by a
/// PoolExecutor, serves tasks until rank 0 is done and returns 0 without calling main. Finalizes MPI
/// before it returns (every PoolExecutor must be gone by then). An exception from main propagates after
/// the workers were released. Throws std::logic_error if MPI is already running or gives less than
/// MPI_THREAD_SERIALIZED.
int run_workers_or(int argc, char** argv, const std::function<int()>& main);

/// This process's rank in MPI_COMM_WORLD (0 in a singleton); -1 outside run_workers_or.
int world_rank() noexcept;
/// Ranks in MPI_COMM_WORLD (1 in a singleton); 0 outside run_workers_or.
int world_size() noexcept;

namespace detail {

/// Fixed-size header of a task message; the msgpack arguments follow.
struct TaskHeader {
  std::uint32_t magic;
  std::uint32_t kind;
  std::uint64_t id;
  std::uint64_t entry;  // offset of tandem::detail::task_entry<Ptr> / chunk_entry<Ptr>
  std::uint64_t fn;
  std::uint64_t signature;
};
inline constexpr std::uint32_t kTaskMagic = 0x4d505431;  // "MPT1"
enum TaskKind : std::uint32_t { kCall = 1, kChunk = 2, kStop = 3, kHello = 4 };

/// A submitted task: its encoded message and the future it completes.
class Job {
 public:
  virtual ~Job() = default;
  /// pending → running as the task is sent; false if it was cancelled (then it is not sent).
  virtual bool start() = 0;
  /// Completes the future with a value decoded from `value` (throws CodecError on a bad payload).
  virtual void deliver(const msgpack::object& value) = 0;
  virtual void fail(std::exception_ptr e) noexcept = 0;
  virtual bool cancel() = 0;

  ipc::Buffer message{256};
  std::chrono::nanoseconds timeout{0};
};

template <class T>
class JobImpl final : public Job {
 public:
  Future<T> future() const { return promise_.get_future(); }
  bool start() override { return promise_.set_running_or_notify_cancel(); }
  void deliver(const msgpack::object& value) override {
    if constexpr (std::is_void_v<T>) {
      promise_.set_result();
    } else if constexpr (std::is_same_v<T, std::vector<std::monostate>>) {  // map over a void function
      if (value.type != msgpack::type::ARRAY) throw ipc::CodecError("tandem codec: a map chunk result must be an array");
      promise_.set_result(std::vector<std::monostate>(value.via.array.size));
    } else {
      promise_.set_result(ipc::convert<T>(value));
    }
  }
  void fail(std::exception_ptr e) noexcept override {
    try {
      promise_.set_exception(std::move(e));
    } catch (...) {  // already cancelled or completed
    }
  }
  bool cancel() override { return future().cancel(); }

 private:
  Promise<T> promise_;
};

template <class Ptr>
void begin_message(ipc::Buffer& out, TaskKind kind, Ptr fn) {
  using tandem::detail::code_offset;
  TaskHeader h{kTaskMagic,
               kind,
               0,
               code_offset(kind == kCall ? reinterpret_cast<std::uintptr_t>(&tandem::detail::task_entry<Ptr>)
                                         : reinterpret_cast<std::uintptr_t>(&tandem::detail::chunk_entry<Ptr>)),
               code_offset(reinterpret_cast<std::uintptr_t>(fn)),
               tandem::detail::signature<Ptr>()};
  out.write(reinterpret_cast<const char*>(&h), sizeof h);
}

}  // namespace detail

class PoolExecutor {
 public:
  struct Options {
    /// Workers at most. Under mpirun: the ranks other than 0 (0 = all of them; more than there are is
    /// an error). In a singleton: how many to spawn (0 = the number of CPUs this process may use).
    std::size_t max_workers = 0;
    /// Default per-task timeout (zero: none); submit_with overrides it. See the failure rules above.
    std::chrono::nanoseconds task_timeout{0};
    /// Tasks held by a worker beyond the one it runs, while tasks are short (see above).
    std::uint32_t prefetch = 16;
    /// How long shutdown waits for a worker still running a timed-out task before MPI_Abort.
    std::chrono::nanoseconds shutdown_grace = std::chrono::seconds(10);
    /// Singleton only: how long spawning the workers may take before the process ends with a message
    /// (Open MPI 4.1 with PMIx 4 hangs in MPI_Comm_spawn now and then; see the failure rules).
    std::chrono::nanoseconds spawn_timeout = std::chrono::seconds(60);
  };

  PoolExecutor() : PoolExecutor(Options{}) {}
  /// Throws std::logic_error outside run_workers_or's main or while another PoolExecutor owns the
  /// world's ranks, std::invalid_argument for more workers than ranks, BrokenExecutor if spawning fails.
  explicit PoolExecutor(Options options);
  PoolExecutor(const PoolExecutor&) = delete;
  PoolExecutor& operator=(const PoolExecutor&) = delete;
  /// shutdown(wait=true); on the manager thread (in a done-callback), shutdown(false), and the manager
  /// frees the pool once its tasks are done (see the failure rules).
  ~PoolExecutor();

  /// Schedules f(args...) on a worker rank. f: a plain function or a captureless lambda; args convert
  /// to its parameter types and must be encodable. Throws ShutdownError after shutdown().
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) {
    return submit_with(TaskOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// submit() with per-task options (a timeout; TaskOptions is the process pool's).
  template <class F, class... Args>
  auto submit_with(TaskOptions options, F&& f, Args&&... args) {
    tandem::detail::require_plain_function<F>();
    if constexpr (tandem::detail::is_plain_function_v<F>)
      return submit_plain(options, f, std::forward<Args>(args)...);
  }

  /// f over every item, in input order (Python: Executor.map); `chunksize` items per message.
  template <class F, std::ranges::input_range Range>
  auto map(F&& f, Range&& items, std::size_t chunksize = 1) {
    tandem::detail::require_plain_function<F>();
    if constexpr (tandem::detail::is_plain_function_v<F>) return map_plain(f, std::forward<Range>(items), chunksize);
  }

  /// Stops accepting tasks. wait: block until every submitted task is done and the workers are released
  /// (spawned ones disconnected). cancel_futures: cancel the tasks not yet sent to a worker. Idempotent.
  /// Throws std::logic_error, changing nothing, for wait=true from a done-callback of this pool's futures
  /// (the manager thread, which would wait for itself).
  void shutdown(bool wait = true, bool cancel_futures = false);

  std::size_t max_workers() const noexcept;
  /// The workers' ranks: in MPI_COMM_WORLD under mpirun, in the spawned group otherwise.
  std::vector<int> worker_ranks() const;
  /// Whether this pool spawned its workers (singleton) rather than using mpirun's ranks.
  bool spawned() const noexcept;

 private:
  template <class F, class... Args>
  auto submit_plain(TaskOptions options, F& f, Args&&... args) {
    auto fn = tandem::detail::to_function_pointer(f);
    using Ptr = decltype(fn);
    using R = typename tandem::detail::fn_traits<Ptr>::result;
    using Tuple = typename tandem::detail::fn_traits<Ptr>::args;
    static_assert(std::is_constructible_v<Tuple, Args&&...>,
                  "mpi::PoolExecutor::submit: the arguments do not convert to the function's parameter types");
    auto job = std::make_unique<detail::JobImpl<R>>();
    Future<R> future = job->future();
    job->timeout = options.timeout;
    detail::begin_message(job->message, detail::kCall, fn);
    ipc::encode_into(job->message, Tuple(std::forward<Args>(args)...));
    enqueue(std::move(job));
    return future;
  }

  template <class F, std::ranges::input_range Range>
  auto map_plain(F& f, Range&& items, std::size_t chunksize) {
    auto fn = tandem::detail::to_function_pointer(f);
    using Ptr = decltype(fn);
    using R = typename tandem::detail::fn_traits<Ptr>::result;
    using T = map_value_t<R>;
    using Tuple = typename tandem::detail::fn_traits<Ptr>::args;
    if (chunksize == 0) throw std::invalid_argument("mpi::PoolExecutor::map: chunksize must be >= 1");
    std::vector<Future<std::vector<T>>> chunks;
    std::vector<Tuple> part;
    part.reserve(std::min<std::size_t>(chunksize, 1 << 16));
    auto flush = [&] {
      auto j = std::make_unique<detail::JobImpl<std::vector<T>>>();
      detail::begin_message(j->message, detail::kChunk, fn);
      ipc::encode_into(j->message, part);
      part.clear();
      chunks.push_back(j->future());
      enqueue(std::move(j));
    };
    for (auto&& item : items) {
      part.push_back(tandem::detail::item_args<Tuple>(std::forward<decltype(item)>(item)));
      if (part.size() == chunksize) flush();
    }
    if (!part.empty()) flush();
    return MapResult<T>(std::move(chunks));
  }

  void enqueue(std::unique_ptr<detail::Job> job);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::mpi
