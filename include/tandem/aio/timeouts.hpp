// tandem/aio/timeouts.hpp — timeout scopes and wait_for (Python: asyncio.timeouts, asyncio.wait_for).
//
// ```cpp coroutine
//   try {
//     auto page = co_await aio::timeout(2s, fetch(url));   // Python: async with asyncio.timeout(2):
//   } catch (const tandem::TimeoutError&) { /* ... */ }
// ```
//
// When the deadline passes, the current task is cancelled; the CancelledError unwinds the guarded code
// (running its destructors and catch blocks) and is turned into TimeoutError where the scope ends —
// unless someone else also cancelled the task, in which case CancelledError goes on (asyncio 3.11 rules,
// based on cancelling()/uncancel()).
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/events.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/aio/tasks.hpp"
#include "tandem/errors.hpp"

namespace tandem::aio {

/// A deadline on the current task (Python: asyncio.Timeout). Construct it inside a task; code that
/// runs while it is alive is cancelled at the deadline. Call exit() where the guarded code ends (the
/// aio::timeout() helpers do it for you); the destructor only disarms.
class Timeout final : detail::TimerNode {
 public:
  /// No deadline when `when` is empty (it can be set later with reschedule()).
  explicit Timeout(std::optional<TimePoint> when);
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout();

  /// Moves the deadline (empty: none). Throws InvalidStateError once it has expired.
  void reschedule(std::optional<TimePoint> when);
  std::optional<TimePoint> when() const noexcept { return when_; }
  /// The deadline passed and the task was cancelled because of it.
  bool expired() const noexcept { return expired_; }
  /// Ends the scope: disarms, withdraws its own cancellation, and — if `error` is the CancelledError
  /// that its expiry caused — throws TimeoutError instead. Otherwise rethrows `error` (if any).
  void exit(std::exception_ptr error);

 private:
  static void on_fire(detail::TimerNode* n) noexcept;
  void arm();
  void disarm() noexcept;

  detail::TaskCoreBase* task_;
  EventLoop* loop_;
  std::optional<TimePoint> when_;
  int cancelling_at_entry_;
  bool expired_ = false;
  bool exited_ = false;
  // A deadline already passed when armed expires through call_soon, as asyncio's reschedule() does:
  // behind what is ready now, ahead of the timers. The callback finds this scope through the token,
  // which disarm() clears (the scope may end before the callback runs).
  std::shared_ptr<Timeout*> soon_;
};

namespace detail {
template <class Aw, class T>
Task<T> run_with_timeout(std::optional<TimePoint> when, Aw aw) {
  Timeout scope(when);
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await std::move(aw);
    } catch (...) {
      error = std::current_exception();
    }
    scope.exit(error);
  } else {
    std::optional<T> value;
    try {
      value.emplace(co_await std::move(aw));
    } catch (...) {
      error = std::current_exception();
    }
    scope.exit(error);
    co_return std::move(*value);
  }
}
}  // namespace detail

/// Runs `coro` (inline, in the current task) with a deadline `when`; TimeoutError when it passes.
template <class T>
Task<T> timeout_at(std::optional<TimePoint> when, Task<T> coro) {
  return detail::run_with_timeout<Task<T>, T>(when, std::move(coro));
}
/// Runs `coro` with a time limit (Python: `async with asyncio.timeout(delay): await coro`).
template <class T, class Rep, class Period>
Task<T> timeout(std::chrono::duration<Rep, Period> delay, Task<T> coro) {
  return timeout_at(Clock::now() + std::chrono::ceil<Duration>(delay), std::move(coro));
}
/// Awaits a shielded task with a time limit: at the deadline the wait ends with TimeoutError and the
/// task runs on (Python: `async with asyncio.timeout(d): await asyncio.shield(task)`).
template <class T, class Rep, class Period>
Task<T> timeout(std::chrono::duration<Rep, Period> delay, Shielded<T> shielded) {
  return detail::run_with_timeout<Shielded<T>, T>(Clock::now() + std::chrono::ceil<Duration>(delay),
                                                  std::move(shielded));
}
/// Waits for a scheduled task with a time limit; at the deadline the task is cancelled, awaited while
/// it unwinds, and TimeoutError is thrown (Python: asyncio.wait_for(task, timeout)).
template <class T, class Rep, class Period>
Task<T> timeout(std::chrono::duration<Rep, Period> delay, TaskHandle<T> task) {
  return detail::run_with_timeout<TaskHandle<T>, T>(Clock::now() + std::chrono::ceil<Duration>(delay),
                                                    std::move(task));
}

namespace detail {
/// wait_for's "no time at all" case: cancel the task and wait until it is done (asyncio's
/// _cancel_and_wait), then give its result — TimeoutError if the cancellation ended it.
template <class T>
Task<T> cancel_and_wait(TaskHandle<T> task) {
  if (!task.done()) {
    task.cancel();
    std::vector<TaskHandle<T>> one{task};
    co_await wait(std::move(one));  // never raises the task's exception, never cancels it again
  }
  if (task.cancelled()) throw TimeoutError("aio::wait_for: no time was left, and the task was cancelled");
  co_return std::move(task).result();
}
template <class T>
Task<T> start_cancelled(Task<T> coro) {
  co_return co_await cancel_and_wait(create_task(std::move(coro)));
}
/// wait_for(shield(task), 0): cancelling the shield does not touch the task, so only a task that is
/// done already gives its result.
template <class T>
Task<T> shielded_now(Shielded<T> shielded) {
  TaskHandle<T> task = shielded.task();
  if (!task.done()) throw TimeoutError("aio::wait_for: no time was left for the shielded task (it runs on)");
  co_return std::move(task).result();
}
}  // namespace detail

/// Python: asyncio.wait_for(aw, timeout), as Python 3.12 defines it. A positive `delay` is
/// timeout(delay, aw). With `delay` <= 0 nothing is given time: a coroutine is scheduled as a task
/// and cancelled before it starts, so its body never runs and TimeoutError is thrown; a task that is
/// already done gives its result (or exception); a pending task is cancelled and waited for — its
/// result if it caught the cancellation and returned one, TimeoutError if it ended cancelled.
template <class T, class Rep, class Period>
Task<T> wait_for(Task<T> coro, std::chrono::duration<Rep, Period> delay) {
  if (delay <= delay.zero()) return detail::start_cancelled(std::move(coro));
  return timeout(delay, std::move(coro));
}
template <class T, class Rep, class Period>
Task<T> wait_for(TaskHandle<T> task, std::chrono::duration<Rep, Period> delay) {
  if (delay <= delay.zero()) return detail::cancel_and_wait(std::move(task));
  return timeout(delay, std::move(task));
}
/// wait_for(shield(task), delay) (Python: `await asyncio.wait_for(asyncio.shield(task), delay)`): at
/// the deadline only the wait is cancelled and TimeoutError is thrown; the task runs on, and can be
/// awaited again (`shielded.task()`, or the handle you kept).
template <class T, class Rep, class Period>
Task<T> wait_for(Shielded<T> shielded, std::chrono::duration<Rep, Period> delay) {
  if (delay <= delay.zero()) return detail::shielded_now(std::move(shielded));
  return timeout(delay, std::move(shielded));
}
/// wait_for(aio::sleep(d), delay): the sleep as a coroutine (Python: `wait_for(asyncio.sleep(d), delay)`).
template <class Rep, class Period>
Task<void> wait_for(detail::SleepAwaiter sleeping, std::chrono::duration<Rep, Period> delay) {
  return wait_for(detail::sleep_task(sleeping.delay()), delay);
}

}  // namespace tandem::aio
