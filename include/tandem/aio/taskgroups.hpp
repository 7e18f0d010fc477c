// tandem/aio/taskgroups.hpp — structured concurrency (Python: asyncio.TaskGroup).
//
// ```cpp coroutine
//   co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Task<void> {
//     auto a = tg.create_task(fetch(1));
//     auto b = tg.create_task(fetch(2));
//     co_return;                      // task_group() then waits for a and b
//   });
// ```
//
// Failure rules (asyncio 3.11): the first child that fails (with anything but CancelledError) cancels
// every other child and the body (its current co_await throws CancelledError); the group waits for them
// all to finish unwinding, then rethrows. How failures are reported:
//   * exactly one failure (a child's, or the body's own non-cancellation exception): rethrown as is, so
//     `catch (const std::runtime_error&)` works as it would without the group;
//   * several failures: one aio::ExceptionGroup whose exceptions() lists each, children first in the
//     order they failed, then the body's (Python would raise ExceptionGroup even for one).
// If the task running the group is cancelled from outside, the children are cancelled too and the
// group ends with CancelledError (unless children failed, which then win, as in Python).
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

class TaskGroup {
 public:
  /// Binds to the current task (the "parent"): construct it inside a task.
  TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  /// If join() never completed (the parent's frame was destroyed), cancels the children still running;
  /// a destructor cannot wait for them.
  ~TaskGroup();

  /// Starts `coro` as a child task. Throws InvalidStateError once the group is shutting down or done.
  template <class T>
  TaskHandle<T> create_task(Task<T> coro, std::string name = {}) {
    check_open();
    auto handle = parent_->loop().create_task(std::move(coro), std::move(name));
    adopt(handle.core_ptr());
    return handle;
  }

  /// Waits for every child and applies the failure rules (Python: TaskGroup.__aexit__). Pass the
  /// exception that ended the body, if any. task_group() calls it for you.
  Task<void> join(std::exception_ptr body_error = nullptr);

  /// Children not finished yet.
  std::size_t size() const noexcept { return children_.size(); }

 private:
  struct Child final : detail::DoneWaiter {
    TaskGroup* group = nullptr;
    detail::TaskCoreBase* core = nullptr;
    std::size_t index = 0;
    void on_task_done(detail::TaskCoreBase&) noexcept override { group->on_child_done(this); }
  };
  class JoinWait;
  void check_open() const;
  void adopt(detail::TaskCoreBase* core);
  void on_child_done(Child* c) noexcept;
  void abort() noexcept;
  void remove(Child* c) noexcept;

  detail::TaskCoreBase* parent_;
  std::vector<Child*> children_;
  std::vector<std::exception_ptr> errors_;
  JoinWait* join_waiter_ = nullptr;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
  bool exiting_ = false;
  bool joined_ = false;
  bool cancelled_while_joining_ = false;
};

/// Runs body(group) and then joins the group (see the file comment) — the `async with TaskGroup()`
/// block. The body must return a Task (its value is ignored).
template <class F>
Task<void> task_group(F body) {
  TaskGroup group;
  std::exception_ptr error;
  try {
    co_await body(group);
  } catch (...) {
    error = std::current_exception();
  }
  co_await group.join(error);
}

}  // namespace tandem::aio
