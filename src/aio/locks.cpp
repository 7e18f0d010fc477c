// Event, Lock, Semaphore, Condition, Barrier (see tandem/aio/locks.hpp).
#include "tandem/aio/locks.hpp"

namespace tandem::aio {

void Event::set() noexcept {
  flag_ = true;
  detail::wake_all(waiters_);
}

void Lock::release() {
  if (!locked_) throw InvalidStateError("Lock::release(): the lock is not acquired");
  locked_ = false;
  wake_first();
}

// Unlocked, the first waiter is woken to take it. Only one at a time: the others stay parked, so a
// cancelled wake-up passes the turn on in FIFO order (asyncio's _wake_up_first).
void Lock::wake_first() noexcept {
  if (waking_) return;
  if (auto* n = waiters_.pop_front()) {
    waking_ = true;
    detail::ParkedWaiter::from(n)->wake_up();
  }
}

void Semaphore::release() {
  ++value_;
  hand_out();
}

void Semaphore::hand_out() noexcept {
  while (value_ > 0) {
    auto* n = waiters_.pop_front();
    if (!n) break;
    --value_;  // the permit is the woken waiter's from now on
    ++waking_;
    detail::ParkedWaiter::from(n)->wake_up();
  }
}

void BoundedSemaphore::release() {
  if (value_ >= bound_)
    throw InvalidStateError("BoundedSemaphore released too many times (more release() than acquire())");
  Semaphore::release();
}

class Condition::NotifyWait final : detail::ParkedWaiter {
 public:
  explicit NotifyWait(Condition& c) noexcept : c_(c) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) { return park(c_.waiters_, h, "Condition::wait"); }
  void await_resume() const { throw_if_cancelled(); }

 private:
  Condition& c_;
};

Task<void> Condition::wait() {
  if (!lock_->locked()) throw InvalidStateError("Condition::wait(): acquire the lock first");
  lock_->release();
  std::exception_ptr error;
  try {
    co_await NotifyWait(*this);
  } catch (...) {
    error = std::current_exception();
  }
  // Re-acquire even if cancelled: the caller's code after wait() assumes it holds the lock.
  for (;;) {
    try {
      co_await lock_->acquire();
      break;
    } catch (const CancelledError&) {
      error = std::current_exception();
    }
  }
  if (error) {
    // The wait may have been notified before the error (a cancel() after notify() woke it, or while
    // it re-acquired the lock): pass a notification on rather than lose it. At worst another waiter
    // wakes for nothing, which a condition variable allows (asyncio does the same since 3.13).
    wake(1);
    std::rethrow_exception(error);
  }
}

void Condition::notify(std::size_t n) {
  if (!lock_->locked()) throw InvalidStateError("Condition::notify(): acquire the lock first");
  wake(n);
}

void Condition::wake(std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    auto* w = waiters_.pop_front();
    if (!w) break;
    detail::ParkedWaiter::from(w)->wake_up();
  }
}

Barrier::Barrier(std::size_t parties) : parties_(parties) {
  if (parties == 0) throw InvalidStateError("Barrier needs at least one party");
}

bool Barrier::Wait::await_ready() {
  if (b_.broken_) throw BrokenBarrierError();
  index_ = b_.arrived_++;
  if (b_.arrived_ == b_.parties_) {  // the last one in releases everybody and does not wait
    b_.arrived_ = 0;
    b_.wake(false);
    return true;
  }
  return false;
}

void Barrier::wake(bool broken) noexcept {
  while (auto* n = waiters_.pop_front()) {
    auto* w = static_cast<Wait*>(detail::ParkedWaiter::from(n));
    w->broken_wake_ = broken;
    w->wake_up();
  }
}

void Barrier::abort() noexcept {
  broken_ = true;
  arrived_ = 0;
  wake(true);
}

void Barrier::reset() noexcept {
  arrived_ = 0;
  wake(true);
  broken_ = false;
}

}  // namespace tandem::aio
