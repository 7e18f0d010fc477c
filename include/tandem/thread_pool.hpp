// tandem/thread_pool.hpp — a pool of worker threads (Python: concurrent.futures.ThreadPoolExecutor).
//
// C++ has no GIL: CPU-bound work on this pool scales with the cores, where Python needs processes.
//
// ```cpp body
//   tandem::ThreadPoolExecutor pool(4);                    // or {.max_workers = 4, .thread_name_prefix = "io"}
//   auto f = pool.submit([](int a, int b) { return a + b; }, 2, 3);
//   f.result();                                           // 5
//   for (bool p : pool.map(is_prime, numbers, /*chunksize=*/8)) { /* ... */ }
// ```
//
// Workers start lazily, up to max_workers, when no idle worker can take a new task; an idle worker
// watches for work for a few microseconds at most (one at a time) and then parks.
//
// Recursive fork-join works, with a stack proportional to the depth of the recursion:
//
// ```cpp
//   long fib(tandem::ThreadPoolExecutor& pool, int n) {
//     if (n < 2) return n;
//     auto left = pool.submit(fib, std::ref(pool), n - 1);   // a worker's submit: its own deque
//     long right = fib(pool, n - 2);
//     return std::move(left).result() + right;               // runs left here if nobody took it
//   }
// ```
//
// Scheduling contract:
// - A task submitted from outside the pool joins the injection queue, served FIFO as Python's pool. A
//   task submitted by one of the pool's workers joins that worker's deque: LIFO for that worker, the
//   oldest first for idle workers that steal it.
// - A worker that waits on a future (result(), wait(), as_completed()) runs only work that cannot nest
//   without bound: the awaited task itself if nobody started it, its own tasks queued after it, or
//   subtasks of it that the worker running it queued; when it awaits something that is not this
//   pool's task (a Promise, another pool), any queued task while a quarter of its stack is unused.
//   Otherwise it sleeps. So a task waiting on its own pool's subtasks never deadlocks the pool, and
//   the stack never holds unrelated waiting tasks. A chain of N tasks each waiting on the next still
//   needs N nested frames (~0.4 KiB each in an optimized build): give workers a large enough stack
//   (pthread_setattr_default_np) for recursions hundreds of thousands deep.
// - A thread that is not a worker of this pool never runs its tasks: it sleeps until the result is in.
// The destructor calls shutdown(wait=true): queued tasks still run unless cancel_futures was used.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/executor.hpp"
#include "tandem/futures.hpp"
#include "tandem/recorder.hpp"

namespace tandem {

namespace detail {

/// Memory for task states: freed blocks are kept in a small per-thread cache (size classes of 16 bytes
/// up to 512, at most 64 KiB per class and thread), so that a fork-join recursion reuses a few warm
/// blocks instead of calling malloc and free for every task. Larger states go to operator new.
void* allocate_task(std::size_t size);
void deallocate_task(void* p, std::size_t size) noexcept;

/// A queued unit of work. It sits in one queue (a worker's deque, or the pool's injection list
/// through `next`) holding its future's state by the queue's hold (StateBase::QueuedTag); it can be
/// claimed (pending → running) by whoever pops it or by a worker waiting on its future, and the
/// queue's hold is dropped when the node leaves the queue, claimed or not (with the completion, in
/// one atomic, when the popper runs it). The scheduling fields belong to the pool
/// (thread_pool.cpp).
class PoolTask : public WorkItem {
 public:
  PoolTask* next = nullptr;      // link in the injection list
  const void* home = nullptr;    // the worker whose deque it was pushed to; null: the injection list
  std::atomic<const void*> runner{nullptr};  // the worker that claimed it
  std::atomic<std::int64_t> runner_base{0};  // runner's deque bottom when it claimed it
  // With a Recorder: the submission's number (recorder.hpp), modulo 2^32; else 0. 32 bits before the
  // bool, so that the node keeps the size it had without a recorder (56 B; a captureless task with its
  // state stays 104 B, where a 64-bit id made it 112 B and malloc's chunk 128 B).
  std::uint32_t record_id = 0;
  bool popped_by_home = false;   // written and read by `home` only: it took this node off its deque
                                 // (last: the task's function may fill the padding after it)

  virtual bool claim() noexcept = 0;  // pending → running; false: cancelled or claimed already
  // After claim(): runs the function and completes the future. `dequeued`: the caller took the node
  // off its queue, and the completion lets go of it too (the node may be gone on return).
  virtual void run_claimed(bool dequeued) noexcept = 0;
  virtual void leave_queue() noexcept = 0;  // the node left its queue unrun (may be gone on return)
  virtual void abandon(std::exception_ptr error) noexcept = 0;  // null: cancel; else fail. Leaves the queue.

 protected:
  ~PoolTask() = default;
};

/// The task and its future's state in one allocation: the hot path allocates once per submit.
template <class R, class Fn>
class PoolTaskState final : public State<R>, public PoolTask {
 public:
  // One reference (the future's) and the queue's hold (see StateBase::QueuedTag).
  explicit PoolTaskState(Fn&& fn) : State<R>(typename State<R>::QueuedTag{}), fn_(std::move(fn)) {}

  static void* operator new(std::size_t size) { return allocate_task(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate_task(p, size); }
  static void* operator new(std::size_t size, std::align_val_t al) { return ::operator new(size, al); }
  static void operator delete(void* p, std::size_t size, std::align_val_t al) noexcept {
    ::operator delete(p, size, al);
  }

  WorkItem* work_item() noexcept override { return this; }
  bool claim() noexcept override { return this->try_start(); }
  void leave_queue() noexcept override { this->release_queue_hold(); }

  void run_claimed(bool dequeued) noexcept override {
    // Once running, only the claimer can complete the state: no lock needed to do so.
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<R>)
        (*fn_)();
      else
        this->emplace_value((*fn_)());
    } catch (...) {
      error = std::current_exception();
    }
    fn_.reset();  // release captured arguments before waking the waiters, as Python's work item does
    if (dequeued)
      this->complete_exclusive_and_dequeue(std::move(error));  // `this` may be gone after
    else if (error)
      this->set_exception_exclusive(std::move(error));
    else
      this->complete_exclusive(FutureState::finished);
  }

  void abandon(std::exception_ptr error) noexcept override {
    // A waiter may have claimed the task while it sat here: then it is not ours to fail or cancel.
    if (error) {
      if (this->try_start()) {
        fn_.reset();
        this->complete_exclusive_and_dequeue(std::move(error));
        return;
      }
    } else if (this->cancel()) {
      fn_.reset();
    }
    this->release_queue_hold();
  }

 private:
  std::optional<Fn> fn_;
};

}  // namespace detail

class ThreadPoolExecutor {
 public:
  struct Options {
    /// 0 is an error; the default is Python's: min(32, cores + 4).
    std::size_t max_workers = default_max_workers();
    /// Workers are named "<prefix>_<i>"; the default prefix is "ThreadPoolExecutor-<n>".
    std::string thread_name_prefix;
    /// Runs first on every worker. If it throws, the pool is broken: queued and later tasks fail with
    /// BrokenExecutor, as Python's BrokenThreadPool.
    std::function<void()> initializer;
    /// When set, every task run is recorded (task id, worker, start, end) on the lane of the worker
    /// that ran it (recorder.hpp). Null (the default) costs one pointer check per task.
    Recorder* recorder = nullptr;
  };

  ThreadPoolExecutor() : ThreadPoolExecutor(Options{}) {}
  /// max_workers must be positive: 0, a negative count, or one past INT_MAX throw std::invalid_argument.
  template <std::integral I>
  explicit ThreadPoolExecutor(I max_workers, std::string thread_name_prefix = {},
                              std::function<void()> initializer = {})
      : ThreadPoolExecutor(Options{detail::worker_count(max_workers, "ThreadPoolExecutor"),
                                   std::move(thread_name_prefix), std::move(initializer)}) {}
  explicit ThreadPoolExecutor(Options options);
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
  ~ThreadPoolExecutor();

  static std::size_t default_max_workers();
  std::size_t max_workers() const noexcept;

  /// Schedules f(args...) and returns its Future. Arguments are decay-copied (std::ref to share).
  /// Throws ShutdownError after shutdown(), BrokenExecutor if an initializer failed.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>&, std::decay_t<Args>&...>
  auto submit(F&& f, Args&&... args) -> Future<std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>> {
    using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>;
    auto call = [f = std::forward<F>(f), ... a = std::forward<Args>(args)]() mutable -> R {
      return std::invoke(f, a...);
    };
    auto* task = new detail::PoolTaskState<R, decltype(call)>(std::move(call));
    Future<R> future{detail::Ref<detail::State<R>>(task)};  // adopts the caller's reference
    try {
      enqueue(task);
    } catch (...) {
      task->abandon(nullptr);  // drop the queue's reference: nothing will run it
      throw;
    }
    return future;
  }

  /// f applied to every item, in chunks of `chunksize` items per task; results come back in input
  /// order through a lazy range (see MapResult). All chunks are submitted before this returns.
  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& items, std::size_t chunksize = 1) {
    return map_until(std::move(f), std::forward<Range>(items), chunksize, {});
  }
  /// map() with Python's timeout: reading a result not ready `timeout` after this call throws
  /// TimeoutError.
  template <class F, std::ranges::input_range Range, class Rep, class Period>
  auto map(F f, Range&& items, std::size_t chunksize, std::chrono::duration<Rep, Period> timeout) {
    return map_until(std::move(f), std::forward<Range>(items), chunksize, detail::deadline_after(timeout));
  }

 private:
  template <class F, std::ranges::input_range Range>
  auto map_until(F f, Range&& items, std::size_t chunksize, Deadline deadline) {
    using Item = std::ranges::range_value_t<Range>;
    using R = std::invoke_result_t<F&, Item&>;
    using T = map_value_t<R>;
    if (chunksize == 0) throw std::invalid_argument("chunksize must be >= 1");
    std::vector<Future<std::vector<T>>> chunks;
    std::vector<Item> chunk;
    auto flush = [&] {
      chunks.push_back(submit(
          [f](std::vector<Item>& part) {
            std::vector<T> out;
            out.reserve(part.size());
            for (auto& item : part) {
              if constexpr (std::is_void_v<R>) {
                std::invoke(f, item);
                out.emplace_back();
              } else {
                out.push_back(std::invoke(f, item));
              }
            }
            return out;
          },
          std::move(chunk)));
      chunk = {};
    };
    for (auto&& item : items) {
      chunk.push_back(std::forward<decltype(item)>(item));
      if (chunk.size() == chunksize) flush();
    }
    if (!chunk.empty()) flush();
    return MapResult<T>(std::move(chunks), deadline);
  }

 public:

  /// Stops accepting tasks. cancel_futures: cancel every task that has not started. wait: return only
  /// once all running and queued tasks are done and the workers have exited. Safe to call repeatedly.
  void shutdown(bool wait = true, bool cancel_futures = false);

 private:
  void enqueue(detail::PoolTask* task);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

static_assert(Executor<ThreadPoolExecutor>);

}  // namespace tandem
