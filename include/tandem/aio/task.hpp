// tandem/aio/task.hpp — the coroutine type Task<T> and the scheduled task TaskHandle<T>
// (Python: a coroutine object and asyncio.Task).
//
// `Task<T>` is what an async function returns. It is lazy: nothing runs until it is awaited
// (`co_await child()`, which runs it inline in the awaiting task, resuming by symmetric transfer) or
// handed to `create_task()` (which schedules it as an independent task on the loop, like
// asyncio.create_task). The coroutine frame is the only allocation of an awaited child; it is freed when
// the Task object is destroyed, and a scheduled task's frame is freed as soon as it finishes.
//
// ```cpp
//   tandem::aio::Task<void> spin(std::string message);   // draws a spinner until cancelled
//   tandem::aio::Task<int> answer() { co_await tandem::aio::sleep(10ms); co_return 42; }
//   tandem::aio::Task<void> supervisor() {
//     auto spinner = tandem::aio::create_task(spin("thinking!"), "spinner");
//     int result = co_await answer();   // runs inline
//     spinner.cancel();                 // spin() sees CancelledError at its current co_await
//   }
// ```
//
// Cancellation (as in asyncio): handle.cancel() makes the task's current suspension point — or, if it
// is not suspended, its next one — throw tandem::CancelledError. It unwinds through nested co_awaits,
// runs destructors, and may be caught. A task whose coroutine lets CancelledError escape ends
// "cancelled". A co_await that completes without suspending (an already-set Event, an uncontended
// Lock) is not a suspension point, exactly as in asyncio. A suspension point stays one until the task
// runs again: if what it awaited already happened (the task was woken holding the lock, a permit, the
// queue item, or its timer fired) and cancel() arrives before the task ran, that co_await throws
// CancelledError all the same, and what it was handed goes back — the lock or permit to the next
// waiter, the item to the queue — so nothing handed over is lost and a `scoped()` block is not entered
// (asyncio's rule).
//
// A task that failed and whose exception nobody looked at (result(), exception(), co_await) is
// reported on stderr when its last handle goes away ("Task exception was never retrieved").
//
// Everything here is for the loop's thread only; use run_coroutine_threadsafe() from other threads.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/detail/frame_pool.hpp"
#include "tandem/aio/detail/suspension.hpp"
#include "tandem/aio/detail/task_core.hpp"
#include "tandem/aio/events.hpp"
#include "tandem/futures.hpp"
#include "tandem/errors.hpp"

namespace tandem::aio {

class AnyTask;

namespace detail {


// Frames come from the loop's pool (frame_pool.hpp): spawning a task must not cost a malloc. A
// coroutine finds its frame's operator new and delete in its promise type, inherited ones included.
class PromiseBase : public PoolAllocated {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.continuation_) return p.continuation_;  // an awaited child: resume the parent directly
      if (p.core_) p.core_->on_final();              // a scheduled task: destroys this frame
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  std::coroutine_handle<> continuation_;
  TaskCoreBase* core_ = nullptr;
  std::exception_ptr error_;
};

template <class T>
class TaskPromise;

}  // namespace detail

/// The coroutine type of an async function returning T (see the file comment). Move-only; lazy.
template <class T = void>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Task() {
    if (h_) h_.destroy();
  }

  /// False for a moved-from or default-constructed Task.
  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// Gives up ownership of the frame (create_task uses this).
  handle_type release() noexcept { return std::exchange(h_, {}); }

  struct Awaiter {
    handle_type h;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
      h.promise().continuation_ = parent;
      return h;  // symmetric transfer into the child
    }
    T await_resume() { return h.promise().take_result(); }
  };
  /// Runs the coroutine inline in the awaiting task and returns its result (or rethrows).
  Awaiter operator co_await() && {
    if (!h_) throw InvalidStateError("co_await on an empty Task (moved from, or handed to create_task)");
    if (h_.done()) throw InvalidStateError("this Task was already awaited: a coroutine runs once");
    return Awaiter{h_};
  }
  Awaiter operator co_await() & { return std::move(*this).operator co_await(); }

 private:
  handle_type h_;
};

namespace detail {

template <class T>
class TaskPromise : public PromiseBase {
  static_assert(!std::is_reference_v<T>, "Task<T&> is not supported: return a pointer or std::reference_wrapper");

 public:
  Task<T> get_return_object() noexcept { return Task<T>(std::coroutine_handle<TaskPromise>::from_promise(*this)); }
  template <class U = T>
  void return_value(U&& v) {
    value_.emplace(std::forward<U>(v));
  }
  T take_result() {
    if (error_) std::rethrow_exception(error_);
    return std::move(*value_);
  }
  std::optional<T> value_;
};

template <>
class TaskPromise<void> : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<TaskPromise>::from_promise(*this));
  }
  void return_void() noexcept {}
  void take_result() {
    if (error_) std::rethrow_exception(error_);
  }
};

/// Value storage: void becomes an empty struct so that every T has a result slot.
struct Unit {};
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, Unit, T>;

template <class T>
class TaskCore final : public TaskCoreBase {
 public:
  using handle_type = typename Task<T>::handle_type;
  TaskCore(EventLoop& loop, std::string name, handle_type frame) noexcept
      : TaskCoreBase(loop, std::move(name)), frame_(frame) {
    frame_.promise().core_ = this;
  }

  void on_final() noexcept override {
    auto& p = frame_.promise();
    std::exception_ptr err = p.error_;
    if constexpr (!std::is_void_v<T>) {
      if (!err) {
        try {
          value_.emplace(std::move(*p.value_));
        } catch (...) {
          err = std::current_exception();
        }
      }
    }
    destroy_frame();
    complete(std::move(err));
  }

  /// The value for a handle given up (an rvalue): moved out if no one else holds the task, copied if
  /// another handle may still read it (unless T cannot be copied). Rethrows like value().
  T take_value() requires(!std::is_void_v<T>) {
    auto& v = value();
    if constexpr (std::is_copy_constructible_v<T>) {
      if (shared()) return T(v);
    }
    return T(std::move(v));
  }

  /// Valid once finished; rethrows CancelledError / the task's exception otherwise.
  Stored<T>& value() {
    check();
    if constexpr (std::is_void_v<T>) {
      static Unit unit;
      return unit;
    } else {
      return *value_;
    }
  }

 protected:
  ~TaskCore() override { destroy_frame(); }
  void destroy_frame() noexcept override {
    if (frame_) {
      frame_.destroy();
      frame_ = {};
    }
  }

 private:
  handle_type frame_;
  struct NoValue {};
  [[no_unique_address]] std::conditional_t<std::is_void_v<T>, NoValue, std::optional<T>> value_;
};

/// Awaits a scheduled task's completion. With `propagate`, cancelling the waiter cancels the awaited
/// task and keeps waiting for it (asyncio's behaviour for `await task`); without it (shield), the
/// waiter alone gets CancelledError and the task runs on.
template <class T, bool Move>
class AwaitTask final : DoneWaiter, Suspension {
  // A void task's result is only its outcome: any task can be awaited so (AnyTask).
  using Core = std::conditional_t<std::is_void_v<T>, TaskCoreBase, TaskCore<T>>;

 public:
  AwaitTask(Core* core, bool propagate) noexcept : propagate_(propagate), core_(core) {}
  ~AwaitTask() {
    if (registered_) core_->remove_done_waiter(this);
  }

  bool await_ready() const noexcept { return core_->done(); }
  bool await_suspend(std::coroutine_handle<> h) {
    if (&bind("co_await on a task") == core_)
      throw InvalidStateError("task '" + core_->name() + "' cannot await itself");
    if (cancelled_before_suspending()) return false;
    core_->add_done_waiter(this);
    registered_ = true;
    suspend(h);
    return true;
  }
  decltype(auto) await_resume() {
    throw_if_cancelled();
    if constexpr (std::is_void_v<T>) {
      core_->check();
    } else if constexpr (Move) {
      return core_->take_value();
    } else {
      return static_cast<T&>(core_->value());
    }
  }

 private:
  void on_task_done(TaskCoreBase&) noexcept override {
    registered_ = false;
    wake();
  }
  Cancel on_cancel() noexcept override {
    // Still running: asyncio passes the request on and keeps waiting for the task to unwind. Once it
    // is done (we were woken but have not run yet), only the waiter is cancelled.
    if (propagate_ && !core_->done()) {
      core_->cancel(task_->cancel_message());
      return Cancel::passed_on;
    }
    core_->remove_done_waiter(this);
    registered_ = false;
    return Cancel::ends_wait;
  }

  // The flags first: they fill Suspension's tail padding (this sits in the frame of every awaiter).
  bool propagate_;
  bool registered_ = false;
  Core* core_;
};

}  // namespace detail

namespace detail {

/// What a handle to a scheduled task can do without knowing its result type: the shared members of
/// TaskHandle<T> and AnyTask (Python: asyncio.Task). All are for the loop's thread; on an empty handle
/// (default-constructed) each throws InvalidStateError.
class TaskHandleBase {
 public:
  bool valid() const noexcept { return static_cast<bool>(core_); }

  /// Requests cancellation (see the file comment). Returns false if the task is already done.
  /// `message` becomes the CancelledError's what().
  bool cancel(std::string message = {}) { return core().cancel(std::move(message)); }
  bool cancelled() const { return core().status() == TaskCoreBase::Status::cancelled; }
  bool done() const { return core().done(); }
  /// Number of pending cancellation requests (Python 3.11: Task.cancelling).
  int cancelling() const { return core().cancelling(); }
  /// Withdraws one cancellation request; returns the remaining count (Python 3.11: Task.uncancel).
  int uncancel() { return core().uncancel(); }

  /// The task's exception (nullptr if it succeeded); throws InvalidStateError while pending and
  /// CancelledError if it was cancelled.
  std::exception_ptr exception() const {
    auto& c = core();
    if (c.status() == TaskCoreBase::Status::failed) {
      c.mark_retrieved();
      return c.error();
    }
    c.check();
    return nullptr;
  }

  /// "Task-N" unless named at creation or with set_name().
  std::string name() const { return core().name(); }
  void set_name(std::string name) { core().set_name(std::move(name)); }
  EventLoop& get_loop() const { return core().loop(); }
  /// As Python prints a task: "<Task pending name='spinner'>" (or finished / cancelled / failed).
  std::string repr() const {
    static constexpr const char* kStates[] = {"pending", "finished", "finished (failed)", "cancelled"};
    return std::string("<Task ") + kStates[static_cast<int>(core().status())] + " name='" + core().name() + "'>";
  }

  /// Whether both name the same task (Python: `is`), whatever their result types.
  friend bool operator==(const TaskHandleBase& a, const TaskHandleBase& b) noexcept {
    return a.core_.get() == b.core_.get();
  }

 protected:
  TaskHandleBase() noexcept = default;
  TaskHandleBase(TaskCoreBase* core, bool adopt) noexcept : core_(core, adopt) {}
  // Copies only as the derived handle: assigning a TaskHandle<int> through a reference to its base
  // must not be able to put another type's task into it.
  TaskHandleBase(const TaskHandleBase&) noexcept = default;
  TaskHandleBase(TaskHandleBase&&) noexcept = default;
  TaskHandleBase& operator=(const TaskHandleBase&) noexcept = default;
  TaskHandleBase& operator=(TaskHandleBase&&) noexcept = default;
  ~TaskHandleBase() = default;

  TaskCoreBase& core() const {
    if (!core_) throw InvalidStateError("empty task handle");
    return *core_;
  }

 private:
  friend class tandem::aio::AnyTask;
  tandem::detail::Ref<TaskCoreBase> core_;
};

}  // namespace detail

/// Any scheduled task, whatever its result type (Python: the asyncio.Task that current_task()
/// returns): cancel it, ask whether it is done, read cancelling()/uncancel(), compare it with a
/// TaskHandle<T>. Every TaskHandle<T> converts to one. Members are those of detail::TaskHandleBase.
class AnyTask : public detail::TaskHandleBase {
 public:
  /// Empty: valid() is false.
  AnyTask() noexcept = default;
  /// The task `h` names (shares it).
  AnyTask(const detail::TaskHandleBase& h) noexcept : TaskHandleBase(h.core_.get(), false) {}
  /// Shares the task `core` (tandem's own use: current_task()).
  explicit AnyTask(detail::TaskCoreBase* core) noexcept : TaskHandleBase(core, false) {}
  explicit operator bool() const noexcept { return valid(); }

  /// Waits for the task without reading its result (that needs the typed handle): returns when it is
  /// done, rethrows its exception or CancelledError. Cancelling the waiter cancels the task too
  /// (as `await task` does).
  auto operator co_await() const { return detail::AwaitTask<void, false>(core_ptr(), true); }

  detail::TaskCoreBase* core_ptr() const { return &core(); }
  detail::TaskCoreBase* core_unchecked() const noexcept { return valid() ? &core() : nullptr; }
};

/// A task scheduled on a loop (Python: asyncio.Task), returned by create_task(). Copies share the task.
/// All members are for the loop's thread; the ones that do not need T (cancel, done, cancelling, name,
/// exception, ...) are documented in detail::TaskHandleBase.
template <class T = void>
class TaskHandle : public detail::TaskHandleBase {
 public:
  using value_type = T;

  TaskHandle() noexcept = default;
  // Shares the core's reference counting with every other handle in tandem (futures.hpp's Ref).
  explicit TaskHandle(detail::TaskCore<T>* core, bool adopt = true) noexcept : TaskHandleBase(core, adopt) {}

  /// The result; throws InvalidStateError while pending, CancelledError if cancelled, or the task's own
  /// exception. On an lvalue, a reference into the task (alive while any handle is); on an rvalue, the
  /// value — moved out when no other handle shares the task, copied when one does (so that it can
  /// still read it, as in asyncio), moved regardless if T cannot be copied.
  decltype(auto) result() & {
    if constexpr (std::is_void_v<T>)
      typed().check();
    else
      return static_cast<T&>(typed().value());
  }
  T result() && {
    if constexpr (std::is_void_v<T>)
      typed().check();
    else
      return typed().take_value();
  }

  /// Schedules fn(handle) with call_soon when the task is done (Python: add_done_callback).
  template <class F>
  void add_done_callback(F fn) {
    typed().add_done_callback([fn = std::move(fn)](detail::TaskCoreBase& c) mutable {
      fn(TaskHandle(static_cast<detail::TaskCore<T>*>(&c), false));
    });
  }

  /// Waits for the task. Cancelling the waiter cancels this task too and waits for it to unwind
  /// (asyncio's semantics); use shield() to prevent that.
  auto operator co_await() const& { return detail::AwaitTask<T, false>(core_ptr(), true); }
  auto operator co_await() && { return detail::AwaitTask<T, true>(core_ptr(), true); }

  detail::TaskCore<T>* core_ptr() const { return &typed(); }
  detail::TaskCore<T>* core_unchecked() const noexcept {
    return valid() ? static_cast<detail::TaskCore<T>*>(&core()) : nullptr;
  }

 private:
  detail::TaskCore<T>& typed() const { return static_cast<detail::TaskCore<T>&>(core()); }
};

template <class T>
TaskHandle<T> EventLoop::create_task(Task<T> coro, std::string name) {
  if (!coro.valid()) throw InvalidStateError("create_task() needs a valid Task (this one was moved from)");
  auto frame = coro.release();
  auto* core = new detail::TaskCore<T>(*this, std::move(name), frame);
  detail::LoopAccess::register_task(*this, core);  // the loop's reference
  core->start(frame);
  return TaskHandle<T>(core, false);
}

/// Schedules `coro` on the running loop as an independent task (Python: asyncio.create_task).
/// The task starts on a later loop iteration; keep the handle to await, cancel or inspect it — dropping
/// it does not cancel the task (the loop keeps it alive until it finishes).
template <class T>
TaskHandle<T> create_task(Task<T> coro, std::string name = {}) {
  return get_running_loop().create_task(std::move(coro), std::move(name));
}

/// The task running now (Python: asyncio.current_task()), or an empty AnyTask outside any task
/// (Python: None). `aio::current_task().uncancel()` is how a task withdraws a request it handled.
AnyTask current_task();

/// Name of the task running now, or empty outside any task (Python: asyncio.current_task().get_name()).
std::string current_task_name();

/// Requests cancellation of the task running now (e.g. from a callback it scheduled); false outside a task.
bool cancel_current_task(std::string message = {});

template <class T>
T EventLoop::run_until_complete(Task<T> main) {
  auto handle = create_task(std::move(main), "main");
  handle.add_done_callback([this](const TaskHandle<T>&) { stop(); });
  while (!handle.done()) run_forever();
  return std::move(handle).result();
}

}  // namespace tandem::aio
