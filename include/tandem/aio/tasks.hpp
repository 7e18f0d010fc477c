// tandem/aio/tasks.hpp — sleep, gather, wait, as_completed, shield (Python: asyncio.tasks).
//
// ```cpp coroutine
//   auto [a, b] = co_await aio::gather(fetch(1), fetch(2));           // tuple, in argument order
//   std::vector<aio::Task<int>> coros;
//   for (int id = 0; id < 10; ++id) coros.push_back(fetch(id));
//   std::vector<int> all = co_await aio::gather(std::move(coros));    // range form
//   auto outcomes = co_await aio::gather(aio::return_exceptions, fetch(1), work());  // Outcome<T> each
// ```
//
// Every function here that takes Task<T> coroutines schedules them as tasks at once (as asyncio wraps
// coroutines in tasks), so they run concurrently; TaskHandle<T> arguments are awaited as they are.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/events.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/errors.hpp"
#include "tandem/futures.hpp"

namespace tandem::aio {

/// What a void task contributes to gather's tuple or vector (Python: None).
using Unit = detail::Unit;

/// The handle wait() and as_completed() hand back: TaskHandle<T>, or AnyTask for tasks of different
/// result types (T = AnyTask).
template <class T>
using HandleOf = std::conditional_t<std::is_same_v<T, AnyTask>, AnyTask, TaskHandle<T>>;

// ---- sleep --------------------------------------------------------------------------------------

namespace detail {

class SleepAwaiter final : TimerNode, Suspension {
 public:
  // The delay waits in `when` (as an offset from the epoch) until the task suspends: one field less in
  // every sleeping task's frame.
  explicit SleepAwaiter(Duration delay) noexcept { when = TimePoint(delay); }
  ~SleepAwaiter() {
    if (armed()) LoopAccess::remove_timer(task_->loop(), this);
  }

  bool await_ready() const noexcept { return false; }  // even sleep(0) yields to the other tasks
  bool await_suspend(std::coroutine_handle<> h) {
    bind("aio::sleep");
    if (cancelled_before_suspending()) return false;
    const Duration delay = when.time_since_epoch();
    suspend(h);
    if (delay <= Duration::zero()) {
      wake();  // back of the ready queue: every other ready task runs first
    } else {
      EventLoop& loop = task_->loop();
      when = loop.time() + delay;
      fire = &on_timer;
      LoopAccess::add_timer(loop, this);
    }
    return true;
  }
  void await_resume() const { throw_if_cancelled(); }

  /// The delay this sleep waits for (before it suspends): create_task(sleep(d)) and shield(sleep(d))
  /// turn it into a task.
  Duration delay() const noexcept { return when.time_since_epoch(); }

 private:
  static void on_timer(TimerNode* n) noexcept { static_cast<SleepAwaiter*>(n)->wake(); }
  Cancel on_cancel() noexcept override {
    if (armed()) LoopAccess::remove_timer(task_->loop(), this);
    return Cancel::ends_wait;
  }
};

}  // namespace detail

/// Suspends the current task for `delay` (Python: asyncio.sleep). sleep(0) yields: every task that is
/// ready runs before this one continues — the "power nap" that keeps a loop responsive during long work.
/// Cancelling the task while it sleeps removes the timer at once and throws CancelledError here.
template <class Rep, class Period>
detail::SleepAwaiter sleep(std::chrono::duration<Rep, Period> delay) {
  return detail::SleepAwaiter(std::chrono::ceil<Duration>(delay));
}
/// sleep(seconds) as Python writes it: `co_await aio::sleep(0.1)`, `co_await aio::sleep(0)`.
inline detail::SleepAwaiter sleep(double seconds) {
  return detail::SleepAwaiter(std::chrono::ceil<Duration>(std::chrono::duration<double>(seconds)));
}

namespace detail {
/// sleep() as a coroutine, for the places that take one (create_task, shield, wait_for).
inline Task<void> sleep_task(Duration delay) { co_await SleepAwaiter(delay); }
}  // namespace detail

/// A sleep as a task of its own (Python: `asyncio.create_task(asyncio.sleep(1))`), e.g. a timer that
/// other tasks can await or cancel.
inline TaskHandle<void> create_task(detail::SleepAwaiter sleeping, std::string name = {}) {
  return create_task(detail::sleep_task(sleeping.delay()), std::move(name));
}

// ---- the generic "wait for several tasks" awaitable ---------------------------------------------------

namespace detail {

/// A read-only view of the tasks a WaitTasks watches, over whatever holds them (a vector of handles, an
/// array of cores): the wait itself stores nothing per task.
struct TaskSpan {
  const void* data = nullptr;
  std::size_t size = 0;
  TaskCoreBase* (*at)(const void* data, std::size_t i) noexcept = nullptr;
  TaskCoreBase* operator[](std::size_t i) const noexcept { return at(data, i); }
};

/// Suspends until a condition over several tasks holds, a deadline passes, or the waiter is cancelled.
/// With propagate_cancel (gather), cancelling the waiter cancels the children and keeps waiting.
/// One waiter object is registered with every child (each task has a slot for one), so waiting on a
/// million tasks costs no memory per task. `tasks` must outlive the wait.
class WaitTasks final : TimerNode, Suspension, DoneWaiter {
 public:
  enum class Until : std::uint8_t { all, first_failure, first_completed, first_exception };

  WaitTasks(TaskSpan tasks, Until until, bool propagate_cancel, std::optional<TimePoint> deadline = {});
  ~WaitTasks();

  bool await_ready() const noexcept { return satisfied_; }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() const;

  /// The first child that failed or was cancelled (first_failure), in completion order.
  TaskCoreBase* first_failure() const noexcept { return first_failure_; }
  bool timed_out() const noexcept { return timed_out_; }
  /// The waiter was cancelled and passed the request on to the children.
  bool cancel_propagated() const noexcept { return propagated_; }

 private:
  void on_task_done(TaskCoreBase& t) noexcept override;
  bool check(TaskCoreBase* t) noexcept;  // records t's completion, returns whether we are satisfied
  void finish() noexcept;
  void unregister() noexcept;
  void cancel_children() noexcept;
  static void on_timer(TimerNode* n) noexcept;
  Cancel on_cancel() noexcept override;
  Cancel on_pending_cancel() noexcept override;

  TaskSpan tasks_;
  Until until_;
  bool propagate_;
  bool satisfied_ = false;
  bool suspended_ = false;
  bool registered_ = false;
  bool propagated_ = false;
  bool timed_out_ = false;
  std::optional<TimePoint> deadline_;
  std::size_t remaining_ = 0;
  TaskCoreBase* first_failure_ = nullptr;
};

template <class T>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {};
template <class T>
struct IsTaskHandle : std::false_type {};
template <class T>
struct IsTaskHandle<TaskHandle<T>> : std::true_type {};

template <class A>
auto to_handle(A&& a) {
  using D = std::remove_cvref_t<A>;
  if constexpr (IsTask<D>::value) {
    static_assert(!std::is_lvalue_reference_v<A>, "pass coroutines by value: gather(f(), g()) or std::move(t)");
    return create_task(std::move(a));
  } else {
    static_assert(IsTaskHandle<D>::value, "gather() takes Task<T> coroutines or TaskHandle<T> tasks");
    return D(a);
  }
}

template <class T>
Stored<T> take_value(TaskHandle<T>& h) {
  if constexpr (std::is_void_v<T>) {
    h.result();
    return Unit{};
  } else {
    return std::move(h).result();
  }
}

}  // namespace detail

/// The outcome of one child of gather(return_exceptions, ...): a value or the exception it raised
/// (a CancelledError for a cancelled child). value() rethrows the exception.
template <class T>
class Outcome {
 public:
  explicit Outcome(detail::Stored<T> v) : v_(std::move(v)) {}
  explicit Outcome(std::exception_ptr e) : v_(std::move(e)) {}
  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  detail::Stored<T>& value() {
    if (auto* e = std::get_if<1>(&v_)) std::rethrow_exception(*e);
    return std::get<0>(v_);
  }
  std::exception_ptr error() const noexcept { return has_value() ? nullptr : std::get<1>(v_); }

 private:
  std::variant<detail::Stored<T>, std::exception_ptr> v_;
};

/// Tag for gather(return_exceptions, ...) (Python: gather(..., return_exceptions=True)).
struct ReturnExceptions {};
inline constexpr ReturnExceptions return_exceptions{};

namespace detail {

template <class T>
Outcome<T> take_outcome(TaskHandle<T>& h) {
  if (h.cancelled()) return Outcome<T>(std::make_exception_ptr(h.core_ptr()->cancelled_error()));
  if (auto e = h.exception()) return Outcome<T>(e);
  return Outcome<T>(take_value(h));
}

// After an early exit, every other child's failure — one that happened in the same loop iteration, or
// one still to come — is gather's business, already reported by its first failure (asyncio's gather
// retrieves them too), so none is reported as "never retrieved".
template <class H>
void forget_children(H& handles) {
  for (auto& h : handles) h.core_ptr()->mark_retrieved();
}

template <std::size_t N>
TaskSpan span_of(const std::array<TaskCoreBase*, N>& cores) noexcept {
  return {cores.data(), N, [](const void* d, std::size_t i) noexcept { return static_cast<TaskCoreBase* const*>(d)[i]; }};
}
template <class H>
TaskSpan span_of(const std::vector<H>& hs) noexcept {
  return {hs.data(), hs.size(), [](const void* d, std::size_t i) noexcept -> TaskCoreBase* {
            return static_cast<const H*>(d)[i].core_unchecked();
          }};
}

template <class... Ts>
Task<std::tuple<Stored<Ts>...>> gather_handles(TaskHandle<Ts>... hs) {
  {
    const std::array<TaskCoreBase*, sizeof...(Ts)> cores{hs.core_ptr()...};
    WaitTasks w(span_of(cores), WaitTasks::Until::first_failure, true);
    co_await w;
    if (auto* failed = w.first_failure()) {
      (..., hs.core_ptr()->mark_retrieved());  // see forget_children
      if (failed->status() == TaskCoreBase::Status::cancelled) throw failed->cancelled_error();
      std::rethrow_exception(failed->error());
    }
  }
  co_return std::tuple<Stored<Ts>...>(take_value(hs)...);
}

template <class... Ts>
Task<std::tuple<Outcome<Ts>...>> gather_outcomes(TaskHandle<Ts>... hs) {
  {
    const std::array<TaskCoreBase*, sizeof...(Ts)> cores{hs.core_ptr()...};
    WaitTasks w(span_of(cores), WaitTasks::Until::all, true);
    co_await w;
    if (w.cancel_propagated()) throw current_task_for("gather").cancelled_error();
  }
  co_return std::tuple<Outcome<Ts>...>(take_outcome(hs)...);
}

/// Throws InvalidStateError for an empty handle (a default-constructed TaskHandle in the input).
template <class H>
void check_handles(const std::vector<H>& hs) {
  for (auto& h : hs) h.core_ptr();
}

template <class T>
Task<std::vector<Stored<T>>> gather_range(std::vector<TaskHandle<T>> hs) {
  {
    check_handles(hs);
    WaitTasks w(span_of(hs), WaitTasks::Until::first_failure, true);
    co_await w;
    if (auto* failed = w.first_failure()) {
      forget_children(hs);
      if (failed->status() == TaskCoreBase::Status::cancelled) throw failed->cancelled_error();
      std::rethrow_exception(failed->error());
    }
  }
  std::vector<Stored<T>> out;
  out.reserve(hs.size());
  for (auto& h : hs) {
    out.push_back(take_value(h));
    h = {};  // drop the task now, while it is in cache, rather than in a second pass
  }
  co_return out;
}

template <class T>
Task<std::vector<Outcome<T>>> gather_range_outcomes(std::vector<TaskHandle<T>> hs) {
  {
    check_handles(hs);
    WaitTasks w(span_of(hs), WaitTasks::Until::all, true);
    co_await w;
    if (w.cancel_propagated()) throw current_task_for("gather").cancelled_error();
  }
  std::vector<Outcome<T>> out;
  out.reserve(hs.size());
  for (auto& h : hs) {
    out.push_back(take_outcome(h));
    h = {};
  }
  co_return out;
}

/// The tasks with each one kept once, at its first place (asyncio's as_completed works on set(aws)).
/// Throws InvalidStateError for an empty handle.
template <class H>
std::vector<H> without_repeats(std::vector<H> hs) {
  std::vector<std::pair<TaskCoreBase*, std::size_t>> order;
  order.reserve(hs.size());
  for (std::size_t i = 0; i < hs.size(); ++i) order.emplace_back(hs[i].core_ptr(), i);
  std::sort(order.begin(), order.end());  // a task's places in input order: the first one is kept
  std::vector<bool> repeat(hs.size());
  bool any = false;
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (order[i].first == order[i - 1].first) repeat[order[i].second] = any = true;
  }
  if (!any) return hs;
  std::vector<H> out;
  out.reserve(hs.size());
  for (std::size_t i = 0; i < hs.size(); ++i)
    if (!repeat[i]) out.push_back(std::move(hs[i]));
  return out;
}

template <class T>
std::vector<TaskHandle<T>> schedule_all(std::vector<Task<T>>&& coros) {
  std::vector<TaskHandle<T>> hs;
  hs.reserve(coros.size());
  for (auto& c : coros) hs.push_back(create_task(std::move(c)));
  return hs;
}

}  // namespace detail

/// Runs the awaitables concurrently and returns their results in argument order as a tuple
/// (Python: asyncio.gather). The first child to fail makes gather rethrow that exception at once; the
/// other children keep running (as in asyncio). Cancelling the awaiting task cancels every child.
/// A void child contributes Unit.
template <class... As>
  requires(sizeof...(As) > 0 && !(std::is_same_v<std::remove_cvref_t<As>, ReturnExceptions> || ...))
auto gather(As&&... aws) {
  // Braced initialization evaluates left to right: children are scheduled in argument order.
  std::tuple<decltype(detail::to_handle(std::forward<As>(aws)))...> handles{detail::to_handle(std::forward<As>(aws))...};
  return std::apply([](auto&... hs) { return detail::gather_handles(hs...); }, handles);
}
/// gather(return_exceptions, ...): waits for every child and returns an Outcome per child instead of
/// throwing; a cancelled child's outcome holds CancelledError.
template <class... As>
  requires(sizeof...(As) > 0)
auto gather(ReturnExceptions, As&&... aws) {
  std::tuple<decltype(detail::to_handle(std::forward<As>(aws)))...> handles{detail::to_handle(std::forward<As>(aws))...};
  return std::apply([](auto&... hs) { return detail::gather_outcomes(hs...); }, handles);
}
/// Range form: results in input order. An empty range gives an empty vector.
template <class T>
Task<std::vector<detail::Stored<T>>> gather(std::vector<Task<T>> coros) {
  return detail::gather_range(detail::schedule_all(std::move(coros)));
}
template <class T>
Task<std::vector<detail::Stored<T>>> gather(std::vector<TaskHandle<T>> tasks) {
  return detail::gather_range(std::move(tasks));
}
template <class T>
Task<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<Task<T>> coros) {
  return detail::gather_range_outcomes(detail::schedule_all(std::move(coros)));
}
template <class T>
Task<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<TaskHandle<T>> tasks) {
  return detail::gather_range_outcomes(std::move(tasks));
}

// ---- wait ----------------------------------------------------------------------------------------------

/// The two sets aio::wait() returns (Python: (done, pending)), each in input order. DoneAndPending<T>
/// holds TaskHandle<T>s; DoneAndPending<AnyTask>, what waiting on tasks of different result types
/// gives, holds AnyTasks.
template <class T>
struct DoneAndPending {
  std::vector<HandleOf<T>> done;
  std::vector<HandleOf<T>> pending;
};

namespace detail {
template <class T>
Task<DoneAndPending<T>> wait_impl(std::vector<HandleOf<T>> tasks, ReturnWhen when, std::optional<Duration> timeout) {
  if (tasks.empty()) throw std::invalid_argument("aio::wait() needs at least one task");
  auto until = when == ReturnWhen::FIRST_COMPLETED   ? WaitTasks::Until::first_completed
               : when == ReturnWhen::FIRST_EXCEPTION ? WaitTasks::Until::first_exception
                                                     : WaitTasks::Until::all;
  std::optional<TimePoint> deadline;
  if (timeout) deadline = Clock::now() + *timeout;
  {
    check_handles(tasks);
    WaitTasks w(span_of(tasks), until, false, deadline);
    co_await w;
  }
  DoneAndPending<T> out;
  for (auto& t : tasks) (t.done() ? out.done : out.pending).push_back(t);
  co_return out;
}
}  // namespace detail

/// Waits for the tasks per `when` (Python: asyncio.wait) and returns (done, pending). Never raises the
/// tasks' exceptions and never cancels them; a timeout just returns what is done by then. Cancelling
/// the waiter leaves the tasks running. FIRST_EXCEPTION counts failures, not cancellations.
template <class T>
Task<DoneAndPending<T>> wait(std::vector<TaskHandle<T>> tasks, ReturnWhen when = ReturnWhen::ALL_COMPLETED) {
  return detail::wait_impl<T>(std::move(tasks), when, std::nullopt);
}
template <class T, class Rep, class Period>
Task<DoneAndPending<T>> wait(std::vector<TaskHandle<T>> tasks, ReturnWhen when,
                             std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_impl<T>(std::move(tasks), when, std::chrono::ceil<Duration>(timeout));
}
/// Tasks of different result types (Python: `asyncio.wait({t1, t2})`): every TaskHandle<T> converts to
/// an AnyTask; read each result through the typed handle you kept. (GCC 12 rejects a braced list
/// inside a co_await expression, so the list is formed first.)
///
/// ```cpp coroutine
///   auto count = aio::create_task(fetch(1));
///   auto page = aio::create_task(fetch(url));
///   std::vector<aio::AnyTask> both{count, page};
///   auto [done, pending] = co_await aio::wait(both, tandem::FIRST_COMPLETED);
///   if (done[0] == page) std::cout << page.result();
/// ```
inline Task<DoneAndPending<AnyTask>> wait(std::vector<AnyTask> tasks, ReturnWhen when = ReturnWhen::ALL_COMPLETED) {
  return detail::wait_impl<AnyTask>(std::move(tasks), when, std::nullopt);
}
template <class Rep, class Period>
Task<DoneAndPending<AnyTask>> wait(std::vector<AnyTask> tasks, ReturnWhen when,
                                   std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_impl<AnyTask>(std::move(tasks), when, std::chrono::ceil<Duration>(timeout));
}

// ---- as_completed ----------------------------------------------------------------------------------------

/// The tasks in completion order (Python: asyncio.as_completed), pulled one at a time:
///
/// ```cpp coroutine
///   std::vector<aio::TaskHandle<int>> tasks{aio::create_task(fetch(1)), aio::create_task(fetch(2))};
///   auto pending = aio::as_completed(std::move(tasks), 5s);
///   while (auto t = co_await pending.next()) std::cout << t->result();   // nullopt once all came
/// ```
///
/// next() throws TimeoutError once the deadline (measured from as_completed()) passes with tasks left.
/// A task given more than once is yielded once (asyncio takes set(aws)). Cancelling the waiter leaves
/// the tasks running. AsCompleted<T> yields TaskHandle<T>s; AsCompleted<AnyTask>, over tasks of
/// different result types, yields AnyTasks.
template <class T>
class AsCompleted {
  struct State;

 public:
  using Handle = HandleOf<T>;

  AsCompleted(std::vector<Handle> tasks, std::optional<TimePoint> deadline)
      : s_(std::make_unique<State>(detail::without_repeats(std::move(tasks)), deadline)) {}

  /// How many tasks have not been yielded yet.
  std::size_t remaining() const noexcept { return s_->tasks.size() - s_->yielded; }

  class Next final : detail::Suspension {
   public:
    explicit Next(State& s) noexcept : s_(s) {}
    ~Next() {
      if (s_.waiter == this) s_.waiter = nullptr;
    }
    bool await_ready() const noexcept {
      return s_.read < s_.completed.size() || s_.yielded == s_.tasks.size() || s_.timed_out;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      bind("as_completed().next()");
      if (cancelled_before_suspending()) return false;
      s_.waiter = this;
      suspend(h);
      return true;
    }
    std::optional<Handle> await_resume() {
      throw_if_cancelled();
      if (s_.read < s_.completed.size()) {
        ++s_.yielded;
        return s_.tasks[s_.completed[s_.read++]];
      }
      if (s_.yielded == s_.tasks.size()) return std::nullopt;
      throw TimeoutError("as_completed: timed out with " + std::to_string(s_.tasks.size() - s_.yielded) +
                         " task(s) still pending");
    }
    void wake_up() noexcept {
      s_.waiter = nullptr;
      wake();
    }

   private:
    Cancel on_cancel() noexcept override {
      s_.waiter = nullptr;
      return Cancel::ends_wait;
    }
    State& s_;
  };

  /// The next task to complete (already done), or nullopt when all were yielded.
  Next next() { return Next(*s_); }

 private:
  struct State final : detail::TimerNode {
    struct Node final : detail::DoneWaiter {
      State* owner = nullptr;
      std::size_t index = 0;
      bool registered = false;
      void on_task_done(detail::TaskCoreBase&) noexcept override {
        registered = false;
        owner->completed.push_back(index);  // reserved: no allocation, no throw
        if (owner->waiter) owner->waiter->wake_up();
      }
    };
    State(std::vector<Handle> ts, std::optional<TimePoint> deadline)
        : tasks(std::move(ts)), nodes(std::make_unique<Node[]>(tasks.size())) {
      completed.reserve(tasks.size());
      struct Undo {  // a registration that failed (out of memory) must not leave the others behind
        State* s;
        ~Undo() {
          if (s) s->unregister();
        }
      } undo{this};
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (tasks[i].done()) {
          completed.push_back(i);
        } else {
          nodes[i].owner = this;
          nodes[i].index = i;
          tasks[i].core_ptr()->add_done_waiter(&nodes[i]);
          nodes[i].registered = true;
        }
      }
      if (deadline && completed.size() < tasks.size()) {
        loop = &get_running_loop();
        when = *deadline;
        fire = &on_timer;
        detail::LoopAccess::add_timer(*loop, this);
      }
      undo.s = nullptr;
    }
    ~State() {
      if (armed()) detail::LoopAccess::remove_timer(*loop, this);
      unregister();
    }
    void unregister() noexcept {
      for (std::size_t i = 0; i < tasks.size(); ++i)
        if (nodes[i].registered) tasks[i].core_unchecked()->remove_done_waiter(&nodes[i]);
    }
    static void on_timer(detail::TimerNode* n) noexcept {
      auto* s = static_cast<State*>(n);
      s->timed_out = true;
      if (s->waiter) s->waiter->wake_up();
    }
    std::vector<Handle> tasks;
    std::unique_ptr<Node[]> nodes;
    std::vector<std::size_t> completed;
    std::size_t read = 0, yielded = 0;
    Next* waiter = nullptr;
    EventLoop* loop = nullptr;
    bool timed_out = false;
  };
  std::unique_ptr<State> s_;
};

template <class T>
AsCompleted<T> as_completed(std::vector<TaskHandle<T>> tasks) {
  return AsCompleted<T>(std::move(tasks), std::nullopt);
}
template <class T, class Rep, class Period>
AsCompleted<T> as_completed(std::vector<TaskHandle<T>> tasks, std::chrono::duration<Rep, Period> timeout) {
  return AsCompleted<T>(std::move(tasks), Clock::now() + std::chrono::ceil<Duration>(timeout));
}
template <class T>
AsCompleted<T> as_completed(std::vector<Task<T>> coros) {
  return as_completed(detail::schedule_all(std::move(coros)));
}
/// Tasks of different result types: `aio::as_completed({fetch_task, count_task})` yields AnyTasks.
inline AsCompleted<AnyTask> as_completed(std::vector<AnyTask> tasks) {
  return AsCompleted<AnyTask>(std::move(tasks), std::nullopt);
}
template <class Rep, class Period>
AsCompleted<AnyTask> as_completed(std::vector<AnyTask> tasks, std::chrono::duration<Rep, Period> timeout) {
  return AsCompleted<AnyTask>(std::move(tasks), Clock::now() + std::chrono::ceil<Duration>(timeout));
}

// ---- shield --------------------------------------------------------------------------------------------

/// Awaitable returned by shield(): waits for the task, but cancelling the waiter does not cancel it.
template <class T>
class Shielded {
 public:
  explicit Shielded(TaskHandle<T> task) : task_(std::move(task)) {}
  auto operator co_await() && { return detail::AwaitTask<T, false>(task_.core_ptr(), false); }
  /// The shielded task, e.g. to await it again after the waiter was cancelled.
  const TaskHandle<T>& task() const noexcept { return task_; }

 private:
  TaskHandle<T> task_;
};

/// Protects a task from the cancellation of whoever awaits it (Python: asyncio.shield). If the awaiting
/// task is cancelled, it gets CancelledError at once while the shielded task runs on to completion.
template <class T>
Shielded<T> shield(TaskHandle<T> task) {
  return Shielded<T>(std::move(task));
}
template <class T>
Shielded<T> shield(Task<T> coro) {
  return Shielded<T>(create_task(std::move(coro)));
}
/// shield(aio::sleep(d)): the sleep runs as a task that the waiter's cancellation does not end.
inline Shielded<void> shield(detail::SleepAwaiter sleeping) {
  return Shielded<void>(create_task(detail::sleep_task(sleeping.delay())));
}

}  // namespace tandem::aio
