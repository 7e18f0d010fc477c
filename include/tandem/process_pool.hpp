// tandem/process_pool.hpp — a pool of worker processes behind Future<T>
// (Python: concurrent.futures.ProcessPoolExecutor), crash-isolated.
//
// ```cpp body
//   bool check_chunk(std::uint64_t n, std::uint64_t lo, std::uint64_t hi);   // plain functions
//   int risky(int x);
//
//   tandem::ProcessPoolExecutor pool(4);
//   tandem::Future<bool> f = pool.submit(&check_chunk, 1'000'003, 2, 1'000);
//   for (bool r : pool.map(&is_prime, numbers, 1000)) { /* ... */ }   // chunks of 1000 per message
//   pool.submit_with({.timeout = std::chrono::seconds(5)}, &risky, 7);  // killed past 5 s
// ```
//
// Why processes in C++ (there is no GIL to escape): isolation. A task that segfaults, aborts, calls
// exit(), leaks or hangs cannot take the caller down:
//  * a worker killed by a signal or exiting mid-task fails exactly that task's future with WorkerCrashed
//    (naming the signal or exit code); the worker is replaced, every other task completes, and the pool
//    stays usable (Python's BrokenProcessPool poisons the whole pool; this one does not);
//  * a task past its timeout has its worker killed and replaced; its future gets TimeoutError;
//  * an exception thrown by the task comes back as RemoteError carrying its type name and message;
//  * workers die with their parent (PR_SET_PDEATHSIG, plus a check of getppid() while idle);
//  * nothing is left behind: workers are reaped (no zombies), their shared memory is anonymous (memfd:
//    nothing in /dev/shm even if everything is SIGKILLed) and every descriptor is closed.
// Prefer threads when tasks share large in-memory state or are tiny and latency-bound; prefer processes
// when a task may crash or hang, runs untrusted/unstable native code, or must be killable.
//
// Tasks are plain functions (or lambdas without captures — capturing ones are a compile-time error);
// arguments and results cross through the wire codec (codec.hpp), so they must be msgpack-encodable.
// The function is named by its offset in the executable, which the worker shares (see process.hpp for
// the start methods and their trade-off; the default, spawn, is safe in a multithreaded parent).
//
// Mechanics: each worker has a shared-memory ring for tasks and one for results; both sides spin briefly
// and then sleep on a futex (worker) or poll an eventfd plus the workers' pidfds (the pool's manager
// thread), so idle pools park. Short tasks are prefetched into a worker's ring (Options::prefetch);
// a prefetched task is still pending — cancel() and shutdown(cancel_futures) stop it until a worker
// takes it. With spawn, workers start on demand, as in Python 3.9+ (see Options::max_workers).
//
// Done-callbacks (Future::add_done_callback) of the pool's futures run on its manager thread (or on the
// thread that cancels). shutdown(wait=true) there would wait for the manager itself, so it throws
// std::logic_error and changes nothing (CPython raises RuntimeError "cannot join current thread" in the
// same case); call shutdown(false) there: the pool still finishes every submitted task. Destroying the
// pool there (a callback holding its last owner) does not wait either: the manager finishes the tasks,
// reaps the workers and frees the pool by itself (keep the program running until the futures you need
// are done).
//
// Rough cost, 2 workers on a busy 2-core VM, Release: 300,000-500,000 round trips/s unbatched
// (submit + result of int f(int)), 25-65 M items/s through map(chunksize=10000). Starting a worker
// costs an exec with spawn (a few ms), less with fork. bench/ has the real figures.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/ipc/codec.hpp"
#include "tandem/errors.hpp"
#include "tandem/executor.hpp"
#include "tandem/futures.hpp"
#include "tandem/process.hpp"
#include "tandem/recorder.hpp"

namespace tandem {

/// The worker process running the task died: killed by a signal (signal() != 0) or exited (exit_code()).
class WorkerCrashed : public Error {
 public:
  WorkerCrashed(pid_t pid, int exitcode);
  /// Python-style status: minus the signal number, or the exit code.
  int exitcode() const noexcept { return exitcode_; }
  int signal() const noexcept { return exitcode_ < 0 ? -exitcode_ : 0; }
  int exit_code() const noexcept { return exitcode_ >= 0 ? exitcode_ : 0; }
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_;
  int exitcode_;
};

/// An exception thrown by a task in a worker, as it reached the parent: what() is "type: message".
class RemoteError : public Error {
 public:
  RemoteError(std::string type, std::string message);
  const std::string& type_name() const noexcept { return type_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string type_;
  std::string message_;
};

/// Per-task options for ProcessPoolExecutor::submit_with.
struct TaskOptions {
  /// Longest the task may run (measured in the worker, from when it starts); zero: the pool's default.
  std::chrono::nanoseconds timeout{0};
};

namespace detail {

// ---- the worker's side: one call, or one chunk of calls, from a record ----
using TaskEntry = void (*)(std::uint64_t signature, std::uintptr_t fn, const msgpack::object& args, ipc::Buffer& out);

template <class Ptr>
void pack_call(Ptr f, typename fn_traits<Ptr>::args&& args, msgpack::packer<ipc::Buffer>& pk) {
  using R = typename fn_traits<Ptr>::result;
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(args));
    pk.pack_nil();
  } else {
    pk.pack(std::apply(f, std::move(args)));
  }
}

template <class Ptr>
void task_entry(std::uint64_t sig, std::uintptr_t fn, const msgpack::object& args, ipc::Buffer& out) {
  if (sig != signature<Ptr>()) throw_signature_mismatch(typeid(Ptr));
  msgpack::packer<ipc::Buffer> pk(out);
  pack_call(reinterpret_cast<Ptr>(fn), convert_args<typename fn_traits<Ptr>::args>(args), pk);
}

template <class Ptr>
void chunk_entry(std::uint64_t sig, std::uintptr_t fn, const msgpack::object& items, ipc::Buffer& out) {
  if (sig != signature<Ptr>()) throw_signature_mismatch(typeid(Ptr));
  if (items.type != msgpack::type::ARRAY) throw ipc::CodecError("tandem codec: a map chunk must be an array");
  msgpack::packer<ipc::Buffer> pk(out);
  pk.pack_array(items.via.array.size);
  auto f = reinterpret_cast<Ptr>(fn);
  for (std::uint32_t i = 0; i < items.via.array.size; ++i)
    pack_call(f, convert_args<typename fn_traits<Ptr>::args>(items.via.array.ptr[i]), pk);
}

// ---- the parent's side ----

/// Which code a task record names: the worker's entry (task_entry or chunk_entry for the function's
/// type), the function, and its type's signature. The record's layout is the pool's business
/// (ProcessPoolExecutor::begin_record, and the pool's private wire protocol).
struct TaskTarget {
  TaskEntry entry = nullptr;
  std::uintptr_t function = 0;
  std::uint64_t signature = 0;
  bool chunk = false;  // a map chunk: an array of argument tuples, an array of results
};
template <class Ptr>
TaskTarget task_target(Ptr fn, bool chunk) {
  return {chunk ? &chunk_entry<Ptr> : &task_entry<Ptr>, reinterpret_cast<std::uintptr_t>(fn), signature<Ptr>(), chunk};
}

[[noreturn]] void throw_record_too_large(std::size_t at_least, std::size_t limit);

/// A task record as it is encoded: it refuses to grow past `limit` (the pool's largest record), so an
/// oversize argument is refused while it is encoded, after at most `limit` bytes, not once it is whole.
class RecordBuffer : public ipc::Buffer {
 public:
  explicit RecordBuffer(std::size_t initial) : ipc::Buffer(initial) {}
  void write(const char* data, std::size_t n) {
    if (n > limit - size()) throw_record_too_large(size() + n, limit);
    ipc::Buffer::write(data, n);
  }
  std::size_t limit = static_cast<std::size_t>(-1);
};

/// The claim word of a task waiting in a worker's ring: (id << 2) | one of these. The worker moves it
/// from queued to taken before it runs the task; cancel() moves it from queued to cancelled, and the
/// worker then skips the task. Whoever moves it first wins.
inline constexpr std::uint64_t kClaimQueued = 1, kClaimTaken = 2, kClaimCancelled = 3;
inline constexpr std::uint32_t kClaimWords = 64;  // per worker: more than the tasks one ring may hold

/// A process job's future state: while the task waits in a worker's ring, cancel() must win its claim
/// word from the worker; a task the worker took is running and cannot be cancelled.
template <class T>
class ProcessState final : public State<T> {
 public:
  /// The task goes into a ring, claimable at `word`. false: it was cancelled already (do not send it).
  bool enter_ring(std::atomic<std::uint64_t>* word, std::uint64_t id) {
    auto guard = this->lock();
    if (this->state() != FutureState::pending) return false;
    word_ = word;
    id_ = id;
    word->store(id << 2 | kClaimQueued, std::memory_order_release);
    return true;
  }
  /// The ring is going away (the task was answered, or its worker died): cancel() is local again.
  void leave_ring() {
    auto guard = this->lock();
    word_ = nullptr;
  }

 protected:
  bool may_cancel() noexcept override {
    if (!word_) return true;
    std::uint64_t queued = id_ << 2 | kClaimQueued;
    return word_->compare_exchange_strong(queued, id_ << 2 | kClaimCancelled, std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::uint64_t>* word_ = nullptr;  // guarded by the state's lock
  std::uint64_t id_ = 0;
};

/// A submitted task: its encoded record and the future it completes.
class ProcessJob {
 public:
  virtual ~ProcessJob() = default;
  /// Before the task is written to a ring: false if it was cancelled (then it must not be sent).
  virtual bool enter_ring(std::atomic<std::uint64_t>* claim, std::uint64_t id) = 0;
  virtual void leave_ring() = 0;
  /// pending → running, once a worker took the task. Idempotent.
  virtual void start() = 0;
  /// Completes the future with a value decoded from `value` (throws CodecError on a bad payload).
  virtual void deliver(const msgpack::object& value) = 0;
  virtual void fail(std::exception_ptr e) noexcept = 0;
  /// The future's state (for cancelling it without the pool's lock).
  virtual Ref<StateBase> state() const noexcept = 0;

  RecordBuffer record{256};  // header + msgpack arguments (small first allocation: most tasks are small)
};

template <class T>
class ProcessJobImpl final : public ProcessJob {
 public:
  ProcessJobImpl() : state_(new ProcessState<T>()) {}
  ~ProcessJobImpl() override {
    if (!state_->done()) fail(std::make_exception_ptr(BrokenExecutor("the process pool dropped the task")));
  }
  Future<T> future() const { return Future<T>(Ref<State<T>>(state_.get(), /*adopt=*/false)); }

  bool enter_ring(std::atomic<std::uint64_t>* claim, std::uint64_t id) override {
    return state_->enter_ring(claim, id);
  }
  void leave_ring() override { state_->leave_ring(); }
  void start() override {
    if (started_) return;
    started_ = true;
    state_->set_running_or_notify_cancel();  // false only if cancelled, which a taken claim excludes
  }
  void deliver(const msgpack::object& value) override {
    if constexpr (std::is_void_v<T>) {
      state_->set_value();
    } else if constexpr (std::is_same_v<T, std::vector<std::monostate>>) {
      if (value.type != msgpack::type::ARRAY) throw ipc::CodecError("tandem codec: a map chunk result must be an array");
      state_->set_value(std::vector<std::monostate>(value.via.array.size));
    } else {
      state_->set_value(ipc::convert<T>(value));
    }
  }
  void fail(std::exception_ptr e) noexcept override {
    try {
      state_->set_exception(std::move(e));
    } catch (...) {  // already cancelled or completed
    }
  }
  Ref<StateBase> state() const noexcept override { return Ref<StateBase>(state_.get(), /*adopt=*/false); }

 private:
  Ref<ProcessState<T>> state_;
  bool started_ = false;
};

/// One map item as the function's argument tuple: the item itself for a one-parameter function, or a
/// tuple-like item spread over several parameters.
template <class Args, class Item>
Args item_args(Item&& item) {
  if constexpr (std::tuple_size_v<Args> == 1 && std::is_constructible_v<std::tuple_element_t<0, Args>, Item&&>) {
    return Args(std::forward<Item>(item));
  } else {
    return std::apply([](auto&&... a) { return Args(std::forward<decltype(a)>(a)...); }, std::forward<Item>(item));
  }
}

}  // namespace detail

class ProcessPoolExecutor {
 public:
  struct Options {
    /// Worker processes at most; 0: the number of CPUs. With spawn, workers start on demand (as in
    /// Python 3.9+): one more whenever tasks wait and no worker is idle, so a program that submits one
    /// task at a time uses one worker, and a burst starts them all. With fork, all start at
    /// construction, before the program's threads can hold a lock a fork child would inherit (Python
    /// does the same). A worker gets tasks only once it is ready, so one that hangs while starting
    /// holds none. A worker that dies is replaced at once.
    std::size_t max_workers = 0;
    /// Runs once in each worker before its first task. If it throws, the pool is broken: every pending
    /// and later task fails with BrokenExecutor (as in Python). A worker that dies before reaching its
    /// task loop (killed while starting, or crashing in the initializer) is replaced like any other; ten
    /// such deaths in a row, with no worker starting in between, break the pool with a message that
    /// names the last one.
    void (*initializer)() = nullptr;
    /// A worker exits and is replaced after this many tasks (0: never), as in Python.
    std::uint32_t max_tasks_per_child = 0;
    /// spawn (default) or fork; see process.hpp for the trade-off.
    std::optional<StartMethod> start_method;
    /// Default per-task timeout (zero: none); submit_with overrides it.
    std::chrono::nanoseconds task_timeout{0};
    /// Tasks queued in a worker's ring beyond the one running, while tasks are short: more hides the
    /// round trip (at most 62). Once tasks average over 0.2 ms the pool queues only one per worker (as
    /// Python's call queue does), so that slow tasks balance across workers. A task waiting in a ring
    /// is still pending: cancel() and shutdown(cancel_futures) stop it until a worker takes it.
    std::uint32_t prefetch = 16;
    /// Bytes of each ring (tasks, results) per worker, rounded up to a power of two between 4 KiB and
    /// 1 GiB; a larger value is refused by the constructor (std::invalid_argument). A task or a result
    /// must fit in one ring; bigger ones are refused: submit throws std::length_error while it encodes
    /// the arguments (after at most ring_bytes of them); a result comes back as RemoteError.
    std::size_t ring_bytes = std::size_t{1} << 20;
    /// When set, every task run is recorded on the lane of its worker's slot, timed in the worker
    /// around the call and filed by the manager thread (recorder.hpp). Null: nothing is timed.
    Recorder* recorder = nullptr;
  };

  ProcessPoolExecutor() : ProcessPoolExecutor(Options{}) {}
  /// max_workers: 0 for the number of CPUs; a negative count throws std::invalid_argument.
  template <std::integral I>
  explicit ProcessPoolExecutor(I max_workers, void (*initializer)() = nullptr, std::uint32_t max_tasks_per_child = 0,
                               std::optional<StartMethod> start_method = {})
      : ProcessPoolExecutor(Options{detail::worker_count(max_workers, "ProcessPoolExecutor"), initializer,
                                    max_tasks_per_child, start_method}) {}
  explicit ProcessPoolExecutor(Options options);
  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;
  /// shutdown(wait=true): waits for every submitted task, then stops and reaps the workers. On the
  /// manager thread (in a done-callback) it does not wait: the manager frees the pool once done.
  ~ProcessPoolExecutor();

  /// Schedules f(args...) in a worker. f: a plain function or a captureless lambda; args convert to its
  /// parameter types and must be encodable. Throws ShutdownError after shutdown(), BrokenExecutor once
  /// the pool is broken (initializer failure, or workers that cannot start), std::length_error if the
  /// task is larger than a ring.
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) {
    return submit_with(TaskOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// submit() with per-task options (a timeout).
  template <class F, class... Args>
  auto submit_with(TaskOptions options, F&& f, Args&&... args) {
    detail::require_plain_function<F>();  // first, so that its message is the first error
    if constexpr (detail::is_plain_function_v<F>) {
      using Ptr = decltype(detail::to_function_pointer(f));
      if constexpr (detail::crosses_codec<Ptr>())
        return submit_plain(options, f, std::forward<Args>(args)...);
      else
        return Future<typename detail::fn_traits<Ptr>::result>();  // crosses_codec said what is missing
    }
  }

  /// f applied to every item, in input order (Python: Executor.map). Items are sent `chunksize` per
  /// message, which is what makes small tasks fast. A function of several parameters takes tuple-like
  /// items. Reading a result whose chunk failed rethrows that chunk's exception.
  template <class F, std::ranges::input_range Range>
  auto map(F&& f, Range&& items, std::size_t chunksize = 1) {
    detail::require_plain_function<F>();
    if constexpr (detail::is_plain_function_v<F>) {
      using Ptr = decltype(detail::to_function_pointer(f));
      if constexpr (detail::crosses_codec<Ptr>())
        return map_plain(f, std::forward<Range>(items), chunksize, {});
      else
        return MapResult<map_value_t<typename detail::fn_traits<Ptr>::result>>();
    }
  }
  /// map() with Python's timeout: reading a result not ready `timeout` after this call throws
  /// TimeoutError.
  template <class F, std::ranges::input_range Range, class Rep, class Period>
  auto map(F&& f, Range&& items, std::size_t chunksize, std::chrono::duration<Rep, Period> timeout) {
    detail::require_plain_function<F>();
    if constexpr (detail::is_plain_function_v<F>) {
      using Ptr = decltype(detail::to_function_pointer(f));
      if constexpr (detail::crosses_codec<Ptr>())
        return map_plain(f, std::forward<Range>(items), chunksize, detail::deadline_after(timeout));
      else
        return MapResult<map_value_t<typename detail::fn_traits<Ptr>::result>>();
    }
  }

  /// Stops accepting tasks (Python: shutdown). wait: block until every submitted task is done and the
  /// workers are reaped. cancel_futures: cancel the tasks that have not started. Idempotent. Throws
  /// std::logic_error, changing nothing, for wait=true from a done-callback of this pool's futures (the
  /// manager thread, which would wait for itself).
  void shutdown(bool wait = true, bool cancel_futures = false);

  std::size_t max_workers() const noexcept;
  /// Pids of the workers started so far and alive (for tests and diagnostics).
  std::vector<pid_t> worker_pids() const;
  /// Workers replaced so far (crashes, timeouts, max_tasks_per_child).
  std::size_t workers_replaced() const noexcept;

 private:
  template <class F, class... Args>
  auto submit_plain(TaskOptions options, F& f, Args&&... args) {
    auto fn = detail::to_function_pointer(f);
    using Ptr = decltype(fn);
    using R = typename detail::fn_traits<Ptr>::result;
    using Tuple = typename detail::fn_traits<Ptr>::args;
    static_assert(std::is_constructible_v<Tuple, Args&&...>,
                  "ProcessPoolExecutor::submit: the arguments do not convert to the function's parameter types");
    auto job = std::make_unique<detail::ProcessJobImpl<R>>();
    Future<R> future = job->future();
    begin_record(*job, detail::task_target(fn, false), options.timeout);
    ipc::encode_into(job->record, Tuple(std::forward<Args>(args)...));
    enqueue(std::move(job));
    return future;
  }

  template <class F, std::ranges::input_range Range>
  auto map_plain(F& f, Range&& items, std::size_t chunksize, Deadline deadline) {
    auto fn = detail::to_function_pointer(f);
    using Ptr = decltype(fn);
    using R = typename detail::fn_traits<Ptr>::result;
    using T = map_value_t<R>;
    using Tuple = typename detail::fn_traits<Ptr>::args;
    if (chunksize == 0) throw std::invalid_argument("ProcessPoolExecutor::map: chunksize must be >= 1");
    std::vector<Future<std::vector<T>>> chunks;
    std::vector<Tuple> part;
    part.reserve(std::min<std::size_t>(chunksize, 1 << 16));
    auto flush = [&] {
      auto j = std::make_unique<detail::ProcessJobImpl<std::vector<T>>>();
      begin_record(*j, detail::task_target(fn, true), std::chrono::nanoseconds(0));
      ipc::encode_into(j->record, part);
      part.clear();
      chunks.push_back(j->future());
      enqueue(std::move(j));
    };
    for (auto&& item : items) {
      part.push_back(detail::item_args<Tuple>(std::forward<decltype(item)>(item)));
      if (part.size() == chunksize) flush();
    }
    if (!part.empty()) flush();
    return MapResult<T>(std::move(chunks), deadline);
  }

  // The non-template side of submit and map: begin_record writes the record's header (the template then
  // appends the encoded arguments) and caps the record at what a ring takes; enqueue queues the task.
  void begin_record(detail::ProcessJob& job, const detail::TaskTarget& target, std::chrono::nanoseconds timeout) const;
  void enqueue(std::unique_ptr<detail::ProcessJob> job);
  std::size_t record_limit() const noexcept;  // the largest task record a ring takes

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem
