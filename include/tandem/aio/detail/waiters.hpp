// tandem/aio/detail/waiters.hpp — a task parked on a primitive's wait list (not public API).
#pragma once

#include <coroutine>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio::detail {

/// Base of every awaitable that parks a task in a primitive's FIFO (Event, Lock, Queue...).
/// Lives in the coroutine frame; cancellation unlinks it in O(1), so a cancelled wait leaves nothing.
/// A woken waiter is no longer cancellable at this point: whatever it was handed (the lock, a permit,
/// an item) is its own, and a cancel() that arrives before it runs hits its next suspension point.
class ParkedWaiter : public ListNode, public Suspension {
 public:
  ParkedWaiter() = default;
  ParkedWaiter(const ParkedWaiter&) = delete;
  ParkedWaiter& operator=(const ParkedWaiter&) = delete;
  ~ParkedWaiter() { unlink(); }

  static ParkedWaiter* from(ListNode* n) noexcept { return static_cast<ParkedWaiter*>(n); }

  /// Wakes the parked task (the node is unlinked if it was not popped already).
  void wake_up() noexcept {
    unlink();
    woken_ = true;
    task_->wake();
  }

 protected:
  /// Parks in `list` unless a cancellation is pending (then resumes at once to throw).
  bool park(List& list, std::coroutine_handle<> h, const char* what) {
    task_ = &current_task_for(what);
    if (task_->take_pending_cancel()) {
      cancelled_ = true;
      return false;
    }
    list.push_back(this);
    task_->suspend_on(this, h);
    return true;
  }
  void throw_if_cancelled() const {
    if (cancelled_) throw task_->cancelled_error();
  }
  /// Hook for primitives that must undo bookkeeping when a parked waiter is cancelled.
  virtual void on_cancelled() noexcept {}

  TaskCoreBase* task_ = nullptr;
  bool cancelled_ = false;
  bool woken_ = false;

 private:
  bool cancel_wait() noexcept override {
    unlink();
    cancelled_ = true;
    on_cancelled();
    task_->wake();
    return true;
  }
};

/// Wakes every waiter of a list, in FIFO order.
inline void wake_all(List& list) noexcept {
  while (auto* n = list.pop_front()) ParkedWaiter::from(n)->wake_up();
}

}  // namespace tandem::aio::detail
