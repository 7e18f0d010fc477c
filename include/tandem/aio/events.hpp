// tandem/aio/events.hpp — the event loop (Python: asyncio.events, asyncio.base_events).
//
// One EventLoop drives coroutine tasks on one thread: a ready queue of steps, a timer heap, and epoll
// for file descriptors, with an eventfd so that other threads can hand it work. Normally you never
// build one yourself: `tandem::aio::run(main())` creates a loop, runs `main` to completion, cancels
// whatever is left, and closes it.
//
// ```cpp body
//   tandem::aio::run([]() -> tandem::aio::Task<void> {
//     auto& loop = tandem::aio::get_running_loop();
//     loop.call_later(std::chrono::milliseconds(10), [] { std::puts("tick"); });
//     co_await tandem::aio::sleep(std::chrono::milliseconds(20));
//   }());
// ```
//
// Thread safety: every member is for the loop's own thread, except call_soon_threadsafe() (and the
// bridges built on it: run_coroutine_threadsafe, awaiting a tandem::Future), which any thread may call.
//
// Debug mode (asyncio's slow-callback warning): with `TANDEM_AIO_DEBUG=1` in the environment or
// set_debug(true), every step that holds the loop longer than slow_callback_duration() (100 ms by
// default) is named on stderr — "a blocking call froze every other task" made visible.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/aio/detail/core.hpp"
#include "tandem/recorder.hpp"

namespace tandem::aio {

template <class T>
class Task;
template <class T>
class TaskHandle;

namespace detail {
class Remote;
class CallbackTimer;
class LoopAccess;
}  // namespace detail

/// Options of a loop (and of aio::run()).
struct LoopOptions {
  /// Debug mode; unset means "from the environment" (TANDEM_AIO_DEBUG=1 turns it on).
  std::optional<bool> debug;
  /// In debug mode, steps longer than this are reported (asyncio: loop.slow_callback_duration).
  Duration slow_callback_duration = std::chrono::milliseconds(100);
  /// When set, every task step (resumption to next suspension) is recorded on lane `recorder_lane`
  /// (recorder.hpp); the task id is the task's number (its "Task-N" name). Null: nothing is timed.
  Recorder* recorder = nullptr;
  std::uint32_t recorder_lane = 0;
};

/// Handle of a callback scheduled with call_later()/call_at() (Python: asyncio.TimerHandle).
/// cancel() removes it from the loop's timer heap at once; calling it after the callback ran is harmless.
class TimerHandle {
 public:
  TimerHandle() = default;
  void cancel();
  bool cancelled() const noexcept;
  TimePoint when() const noexcept;

 private:
  friend class EventLoop;
  explicit TimerHandle(std::shared_ptr<detail::CallbackTimer> t) : t_(std::move(t)) {}
  std::shared_ptr<detail::CallbackTimer> t_;
};

/// The loop. Non-copyable, non-movable; one per thread at a time may run.
class EventLoop {
 public:
  EventLoop();
  explicit EventLoop(const LoopOptions& options);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  /// Destroys still-pending tasks' coroutine frames (running their destructors) and drops pending
  /// callbacks. Prefer aio::run(), which cancels pending tasks and lets them unwind first.
  ~EventLoop();

  /// Runs until stop() is called. Throws InvalidStateError if a loop already runs on this thread.
  void run_forever();
  /// Makes run_forever() return after the current iteration.
  void stop() noexcept { stopping_ = true; }
  bool is_running() const noexcept { return running_; }
  /// Runs `main` as a task until it is done and returns its result (or rethrows its exception).
  /// Other tasks are left as they are (aio::run() additionally cancels them).
  template <class T>
  T run_until_complete(Task<T> main);

  /// The loop's clock (monotonic).
  TimePoint time() const noexcept { return Clock::now(); }

  /// Schedules fn to run on the next iteration, after the callbacks already scheduled (FIFO).
  void call_soon(std::function<void()> fn);
  /// Schedules fn after `delay` (negative or zero: next iteration). The handle can cancel it.
  TimerHandle call_later(Duration delay, std::function<void()> fn);
  /// Schedules fn at `when` on the loop's clock.
  TimerHandle call_at(TimePoint when, std::function<void()> fn);
  /// Like call_soon, from any thread; wakes the loop if it sleeps in epoll. Callbacks run in the order
  /// they were scheduled, posted or not: one posted before a call_soon (on the loop's thread, or in
  /// another thread that then told the loop's thread) runs before it. Returns false (and drops fn)
  /// when the loop has already been destroyed-or-closed, so a late producer cannot crash it.
  bool call_soon_threadsafe(std::function<void()> fn);

  /// Calls fn (on the loop) whenever fd is readable, until remove_reader(fd). One reader per fd.
  /// Remove the reader/writer before closing the fd (as asyncio requires).
  void add_reader(int fd, std::function<void()> fn);
  bool remove_reader(int fd);
  /// Calls fn (on the loop) whenever fd is writable, until remove_writer(fd). One writer per fd.
  void add_writer(int fd, std::function<void()> fn);
  bool remove_writer(int fd);

  /// Calls fn on the loop when signal `sig` arrives (via signalfd). The signal is blocked in the calling
  /// thread; block it in every other thread too (before starting them), or the kernel may deliver it
  /// there instead. Replaces an earlier handler for the same signal.
  void add_signal_handler(int sig, std::function<void()> fn);
  /// Removes the handler and unblocks the signal; false if none was installed.
  bool remove_signal_handler(int sig);

  /// Debug mode: see the file comment.
  void set_debug(bool on) noexcept { debug_ = on; }
  bool get_debug() const noexcept { return debug_; }
  void set_slow_callback_duration(Duration d) noexcept { slow_callback_duration_ = d; }
  Duration slow_callback_duration() const noexcept { return slow_callback_duration_; }
  /// Where debug reports and callback errors go (stderr by default); mainly for tests and UIs.
  void set_report_sink(std::function<void(std::string_view)> sink) { sink_ = std::move(sink); }
  /// Sends one line to the report sink.
  void report(std::string_view line) const;

  /// Runs `coro` as a new task (Python: loop.create_task). Defined in task.hpp (include it, or
  /// tandem/aio.hpp, to call it).
  template <class T>
  TaskHandle<T> create_task(Task<T> coro, std::string name = {});

  /// Timers armed right now (sleeps, timeouts, call_later): lets tests check that nothing lingers.
  std::size_t timer_count() const noexcept { return timers_.size(); }
  /// Number of tasks created on this loop that are not done yet.
  std::size_t pending_task_count() const noexcept { return task_count_; }

  /// The loop running on the calling thread, or nullptr.
  static EventLoop* running_loop() noexcept;

 private:
  // ---- tandem's own hooks: awaitables, tasks and aio::run reach them through detail::LoopAccess ----
  friend class detail::LoopAccess;
  /// Queues a step or callback. Posts from other threads that are still waiting go first: everything
  /// runs in the order it was made ready (see Remote in events.cpp).
  void schedule(detail::ReadyItem* item) noexcept {
    if (posts_pending_->load(std::memory_order_relaxed)) take_posted();
    ready_.push_back(item);
  }
  void add_timer(detail::TimerNode* n) { timers_.push(n); }
  void remove_timer(detail::TimerNode* n) noexcept { timers_.remove(n); }
  detail::TaskCoreBase* current_task() const noexcept { return current_task_; }
  void set_current_task(detail::TaskCoreBase* t) noexcept { current_task_ = t; }
  void register_task(detail::TaskCoreBase* t) noexcept;
  void unregister_task(detail::TaskCoreBase* t) noexcept;
  /// Runs until no task is pending (aio::run's shutdown, after cancel_all_tasks()).
  void run_until_no_tasks();
  /// Cancels every pending task (used by aio::run at shutdown); returns how many were cancelled.
  std::size_t cancel_all_tasks();
  /// One-shot readiness wait used by streams: registers w for fd (read or write side); it fires once.
  void wait_fd(int fd, bool write, detail::FdWaiter* w);
  void cancel_wait_fd(int fd, bool write, detail::FdWaiter* w) noexcept;
  /// Forget everything about fd (call before closing it).
  void forget_fd(int fd) noexcept;
  const std::shared_ptr<detail::Remote>& remote() const noexcept { return remote_; }
  /// Runs a callback now, reporting (not propagating) its exception, timed in debug mode.
  void run_callback_now(std::function<void()>& fn, bool timed = false);

  struct FdEntry {
    std::function<void()> reader, writer;
    detail::FdWaiter* read_waiter = nullptr;
    detail::FdWaiter* write_waiter = nullptr;
    std::uint32_t registered = 0;  // events epoll currently watches
    bool in_epoll = false;
  };
  FdEntry& entry(int fd);
  void update_interest(int fd, FdEntry& e);
  void drop_if_unused(int fd) noexcept;
  void run_once();
  void dispatch_fd(int fd, std::uint32_t events);
  void drain_signals();
  void run_ready(detail::ReadyItem* item);
  void take_posted() noexcept;

  int epfd_ = -1;
  int signal_fd_ = -1;
  std::shared_ptr<detail::Remote> remote_;
  const std::atomic<bool>* posts_pending_;  // inside *remote_: read on every schedule(), without a call
  detail::ReadyQueue ready_;
  detail::TimerHeap timers_;
  std::vector<FdEntry> fds_;
  std::vector<std::pair<int, std::function<void()>>> signal_handlers_;
  detail::List tasks_;  // every pending task (each holds a reference through the list)
  std::size_t task_count_ = 0;
  detail::TaskCoreBase* current_task_ = nullptr;
  bool running_ = false;
  bool stopping_ = false;
  bool stop_when_no_tasks_ = false;
  bool debug_ = false;
  Recorder::Lane* lane_ = nullptr;  // LoopOptions::recorder's lane, or null
  Duration slow_callback_duration_;
  std::function<void(std::string_view)> sink_;
};

/// The loop running on this thread (Python: asyncio.get_running_loop). Throws InvalidStateError
/// outside a running loop.
EventLoop& get_running_loop();

namespace detail {
/// The loop's internal hooks, for tandem's own awaitables, tasks and aio::run (not API): kept out of
/// EventLoop's public section so that a user never sees them, reachable only by naming this accessor.
class LoopAccess {
 public:
  static void schedule(EventLoop& l, ReadyItem* item) noexcept { l.schedule(item); }
  static void add_timer(EventLoop& l, TimerNode* n) { l.add_timer(n); }
  static void remove_timer(EventLoop& l, TimerNode* n) noexcept { l.remove_timer(n); }
  static TaskCoreBase* current_task(const EventLoop& l) noexcept { return l.current_task(); }
  static void set_current_task(EventLoop& l, TaskCoreBase* t) noexcept { l.set_current_task(t); }
  static void register_task(EventLoop& l, TaskCoreBase* t) noexcept { l.register_task(t); }
  static void unregister_task(EventLoop& l, TaskCoreBase* t) noexcept { l.unregister_task(t); }
  static void run_until_no_tasks(EventLoop& l) { l.run_until_no_tasks(); }
  static std::size_t cancel_all_tasks(EventLoop& l) { return l.cancel_all_tasks(); }
  static void wait_fd(EventLoop& l, int fd, bool write, FdWaiter* w) { l.wait_fd(fd, write, w); }
  static void cancel_wait_fd(EventLoop& l, int fd, bool write, FdWaiter* w) noexcept { l.cancel_wait_fd(fd, write, w); }
  static void forget_fd(EventLoop& l, int fd) noexcept { l.forget_fd(fd); }
  static const std::shared_ptr<Remote>& remote(const EventLoop& l) noexcept { return l.remote(); }
  static void run_callback_now(EventLoop& l, std::function<void()>& fn, bool timed = false) {
    l.run_callback_now(fn, timed);
  }
};
}  // namespace detail

}  // namespace tandem::aio
