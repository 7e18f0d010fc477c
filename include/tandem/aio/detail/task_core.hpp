// tandem/aio/detail/task_core.hpp — the type-independent part of a scheduled task (not public API).
//
// TaskCoreBase is what the loop, the awaitables and every handle share about a task whatever its result
// type: status, reference count, cancellation requests, the suspension it is parked on, completion.
// Its typed half (TaskCore<T>, the frame and the value) is in task.hpp; the protocol an awaitable uses
// to park the task on itself is in suspension.hpp.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/detail/frame_pool.hpp"
#include "tandem/errors.hpp"

namespace tandem::aio::detail {

class Suspension;

/// Told when a task completes; lives in the waiting awaitable. A task has one slot for it (the usual
/// case: one awaiter, or one gather/wait over many tasks registering the same waiter in each), and
/// keeps any further waiters apart.
struct DoneWaiter {
  virtual void on_task_done(TaskCoreBase& task) noexcept = 0;

 protected:
  ~DoneWaiter() = default;
};

/// The type-independent part of a scheduled task: state, cancellation protocol, completion.
/// Reference counted (not atomically: loop thread only); the loop holds a reference while it is pending
/// and another while the task sits in the ready queue. Its layout is kept tight on purpose: a million
/// pending tasks is a normal load, and every byte here is a megabyte there.
class TaskCoreBase : public ReadyItem, public ListNode, public PoolAllocated {
 public:
  enum class Status : std::uint8_t { pending, finished, failed, cancelled };

  TaskCoreBase(EventLoop& loop, std::string name) noexcept;
  TaskCoreBase(const TaskCoreBase&) = delete;
  TaskCoreBase& operator=(const TaskCoreBase&) = delete;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }
  /// Someone besides the caller's one reference holds the task (another handle, the loop, a callback).
  bool shared() const noexcept { return refs_ > 1; }

  EventLoop& loop() const noexcept { return *loop_; }
  Status status() const noexcept { return static_cast<Status>(status_); }
  bool done() const noexcept { return status() != Status::pending; }
  std::string name() const;
  void set_name(std::string name) {
    if (!name.empty() || extras_) extras().name = std::move(name);
  }
  std::uint64_t id() const noexcept { return id_; }

  bool cancel(std::string message = {});
  int cancelling() const noexcept { return static_cast<int>(cancel_requests_); }
  int uncancel() noexcept;
  CancelledError cancelled_error() const;
  /// The message of the latest cancel() (passed on to awaited tasks, as asyncio does).
  const std::string& cancel_message() const noexcept;
  std::exception_ptr error() const noexcept { return error_; }
  void mark_retrieved() noexcept { retrieved_ = true; }
  /// Returns if the task finished; throws InvalidStateError while pending, CancelledError if cancelled,
  /// or the task's own exception (which then counts as retrieved).
  void check();

  /// Schedules fn(*this) with call_soon when the task is done (at once if it already is).
  void add_done_callback(std::function<void(TaskCoreBase&)> fn);
  /// Calls w->on_task_done(*this) when the task completes (the task must still be pending).
  /// Throws std::bad_alloc only when the task already has a waiter and no memory is left for another.
  void add_done_waiter(DoneWaiter* w) {
    if (!waiter_)
      waiter_ = w;
    else
      extras().waiters.push_back(w);
  }
  /// Withdraws a waiter (a cancelled or finished wait); harmless if it is not registered.
  void remove_done_waiter(DoneWaiter* w) noexcept;

  /// Makes the parked task runnable again (next loop iteration).
  void wake() noexcept;

  /// Called by the root coroutine's final_suspend (the frame is destroyed inside).
  virtual void on_final() noexcept = 0;
  /// Destroys the frame of a task that never finished (loop torn down); marks it cancelled silently.
  void abandon() noexcept;
  /// Schedules the first step.
  void start(std::coroutine_handle<> root) noexcept;

  // ReadyItem: one step of the task.
  void run_ready(bool execute) noexcept final;
  TaskCoreBase* as_task() noexcept final { return this; }

 protected:
  virtual ~TaskCoreBase();
  virtual void destroy_frame() noexcept = 0;
  /// Records the outcome of the coroutine and notifies waiters/callbacks.
  void complete(std::exception_ptr error) noexcept;

 private:
  // The suspension protocol: only Suspension (suspension.hpp) parks a task, so that every awaitable
  // follows the same cancellation rule.
  friend class Suspension;
  /// Consumes a pending cancellation request (cancel() while the task was not suspended).
  bool take_pending_cancel() noexcept {
    if (!must_cancel_) return false;
    must_cancel_ = false;
    return true;
  }
  /// Parks the task on `s` until it runs again: until then (woken or not) cancel() goes to
  /// s->cancel_wait(), so a wake-up that the task has not acted on yet can still be undone.
  void suspend_on(Suspension* s, std::coroutine_handle<> h) noexcept {
    waiting_on_ = s;
    resume_point_ = h;
  }
  void step() noexcept;

  EventLoop* loop_;
  std::uint64_t id_ : 48;  // 2^48 tasks: a year of spawning at ten million a second
  std::uint64_t status_ : 2;
  std::uint64_t must_cancel_ : 1;
  std::uint64_t scheduled_ : 1;
  std::uint64_t started_ : 1;
  std::uint64_t retrieved_ : 1;
  std::uint32_t refs_ = 1;
  std::uint32_t cancel_requests_ = 0;
  Suspension* waiting_on_ = nullptr;
  std::coroutine_handle<> resume_point_;
  std::exception_ptr error_;
  DoneWaiter* waiter_ = nullptr;
  // Rarely used state lives apart, so that a plain task stays small.
  struct Extras {
    std::string name;
    std::string cancel_message;
    std::vector<std::function<void(TaskCoreBase&)>> callbacks;
    std::vector<DoneWaiter*> waiters;  // beyond the first
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  std::unique_ptr<Extras> extras_;
};

/// Current task of the running loop, or throws InvalidStateError naming `what` (an awaitable used
/// outside a task, e.g. a Task driven by hand).
TaskCoreBase& current_task_for(const char* what);

}  // namespace tandem::aio::detail
