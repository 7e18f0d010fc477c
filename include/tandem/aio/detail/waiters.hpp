// tandem/aio/detail/waiters.hpp — a task parked on a primitive's wait list (not public API).
#pragma once

#include <coroutine>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/detail/suspension.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio::detail {

/// Base of every awaitable that parks a task in a primitive's FIFO (Event, Lock, Queue...): the
/// Suspension protocol plus a wait list. Lives in the coroutine frame; cancellation unlinks it in O(1),
/// so a cancelled wait leaves nothing.
///
/// A primitive wakes a waiter with wake_up(), often handing it something at the same time (the lock,
/// a permit, a queue item). Until the task has run, the wake-up can still be cancelled (suspension.hpp):
/// the co_await then throws CancelledError, as in asyncio, and give_back() returns what was handed
/// over to the primitive, which passes it to its next waiter. The awaitable's await_resume() starts
/// with throw_if_cancelled(); only after it does a woken waiter take what it was given.
class ParkedWaiter : public ListNode, public Suspension {
 public:
  ParkedWaiter() = default;
  ~ParkedWaiter() { unlink(); }

  static ParkedWaiter* from(ListNode* n) noexcept { return static_cast<ParkedWaiter*>(n); }

  /// Wakes the parked task (the node is unlinked if it was not popped already).
  void wake_up() noexcept {
    unlink();
    wake();
  }

 protected:
  /// Parks in `list` unless a cancellation is pending (then resumes at once to throw).
  bool park(List& list, std::coroutine_handle<> h, const char* what) {
    bind(what);
    if (cancelled_before_suspending()) return false;
    list.push_back(this);
    suspend(h);
    return true;
  }
  /// Cancelled while still parked: undo the primitive's bookkeeping for this waiter (Barrier's count).
  virtual void on_cancelled() noexcept {}
  /// Cancelled after wake_up() but before the task ran: return what the wake-up handed over.
  virtual void give_back() noexcept {}

 private:
  Cancel on_cancel() noexcept override {
    if (woken()) {
      give_back();  // the task is already scheduled: it runs, and throws
    } else {
      unlink();
      on_cancelled();
    }
    return Cancel::ends_wait;
  }
};

/// Wakes every waiter of a list, in FIFO order.
inline void wake_all(List& list) noexcept {
  while (auto* n = list.pop_front()) ParkedWaiter::from(n)->wake_up();
}

}  // namespace tandem::aio::detail
