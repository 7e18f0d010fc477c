// tandem/aio/detail/suspension.hpp — the one suspension and cancellation protocol of every aio
// awaitable (not public API).
//
// Every co_await that parks a task (sleep, awaiting a task or a Future, gather/wait, as_completed, fd
// readiness, a TaskGroup's join, a lock or queue wait list) derives from Suspension and follows it:
//
//   bool await_suspend(std::coroutine_handle<> h) {
//     bind("what this is");                          // the running task, or InvalidStateError
//     if (cancelled_before_suspending()) return false;  // a cancel() that came while it ran is due here
//     ...register (timer, waiter list, fd interest, done waiter)...
//     suspend(h);                                     // last: nothing after it may throw
//     return true;
//   }
//   T await_resume() { throw_if_cancelled(); ...take what the wake-up gave... }
//   Cancel on_cancel() noexcept override { ...withdraw the registration...; return Cancel::ends_wait; }
//
// The rule (asyncio's, which routes every wake-up of a task through the one Future._wakeup path for
// the same reason): a task counts as parked on its suspension until it runs again, so a cancel() that
// arrives after the awaitable woke it but before it ran still goes to on_cancel(), and the co_await
// throws CancelledError all the same; what the wake-up handed over goes back (see ParkedWaiter). A
// second cancel() before the task ran changes nothing: the co_await throws once. Written once here,
// the rule cannot drift between awaitables.
#pragma once

#include <coroutine>
#include <cstdint>

#include "tandem/aio/detail/task_core.hpp"

namespace tandem::aio::detail {

class Suspension {
 public:
  Suspension(const Suspension&) = delete;
  Suspension& operator=(const Suspension&) = delete;

 protected:
  Suspension() noexcept = default;
  ~Suspension() = default;

  /// What a cancel() did to the wait (the answer of on_cancel()).
  enum class Cancel : std::uint8_t {
    /// The wait is over: the task runs again and its co_await throws CancelledError.
    ends_wait,
    /// The request was passed on to what is awaited (a task, gather's children, a TaskGroup's
    /// children): the wait goes on, and the outcome of what it waits for decides.
    passed_on,
  };

  /// Step 1 of await_suspend: the wait belongs to the task running now (InvalidStateError naming
  /// `what` if no task runs, e.g. a Task driven by hand).
  TaskCoreBase& bind(const char* what) {
    task_ = &current_task_for(what);
    return *task_;
  }
  /// Step 2: a cancel() that arrived while the task was running (not parked) is due at this suspension
  /// point. Consumes it and asks on_pending_cancel(); true means the co_await is cancelled without
  /// suspending: await_suspend returns false (having registered nothing that it has not withdrawn)
  /// and await_resume throws CancelledError.
  bool cancelled_before_suspending() noexcept {
    if (!task_->take_pending_cancel()) return false;
    if (on_pending_cancel() == Cancel::passed_on) return false;
    cancelled_ = true;
    return true;
  }
  /// Step 3, last: parks the task here until it runs again.
  void suspend(std::coroutine_handle<> h) noexcept { task_->suspend_on(this, h); }
  /// What the wait waited for happened: the task runs on the next iteration (harmless if it is
  /// already scheduled).
  void wake() noexcept {
    woken_ = true;
    task_->wake();
  }
  /// wake() was called: what the wait waited for happened (and stays so if a cancel() comes before
  /// the task runs — on_cancel() then gives back what the wake-up handed over).
  bool woken() const noexcept { return woken_; }
  /// First thing await_resume does.
  void throw_if_cancelled() const {
    if (cancelled_) throw task_->cancelled_error();
  }
  bool cancelled() const noexcept { return cancelled_; }

  /// cancel() while the task is parked here — also after a wake-up it has not acted on yet. Withdraw
  /// the registration (and give back what the wake-up handed over), or pass the request on.
  virtual Cancel on_cancel() noexcept = 0;
  /// A request that was pending when the task reached this point (nothing is registered yet unless
  /// the awaitable registered before cancelled_before_suspending()). Ends the wait by default.
  virtual Cancel on_pending_cancel() noexcept { return Cancel::ends_wait; }

  TaskCoreBase* task_ = nullptr;

 private:
  friend class TaskCoreBase;
  /// TaskCoreBase::cancel() of the parked task. Always lands: the wait ends or passes it on.
  void cancel_wait() noexcept {
    if (cancelled_) return;  // a second cancel() before the task ran: the co_await throws once
    if (on_cancel() == Cancel::passed_on) return;
    cancelled_ = true;
    task_->wake();  // no-op if the wake-up came first: the task is scheduled once
  }

  bool cancelled_ = false;
  bool woken_ = false;  // beside cancelled_, in padding: every awaitable sits in a coroutine frame
};

}  // namespace tandem::aio::detail
