// Event, Lock, Semaphore, Condition, Barrier (see tandem/aio/locks.hpp).
#include "tandem/aio/locks.hpp"

namespace tandem::aio {

void Event::set() noexcept {
  flag_ = true;
  detail::wake_all(waiters_);
}

void Lock::release() {
  if (!locked_) throw InvalidStateError("Lock::release(): the lock is not acquired");
  if (auto* n = waiters_.pop_front())
    detail::ParkedWaiter::from(n)->wake_up();  // ownership passes to it: stays locked
  else
    locked_ = false;
}

void Semaphore::release() {
  if (auto* n = waiters_.pop_front())
    detail::ParkedWaiter::from(n)->wake_up();  // the permit goes straight to it
  else
    ++value_;
}

void BoundedSemaphore::release() {
  if (waiters_.empty() && value_ >= bound_)
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
  if (error) std::rethrow_exception(error);
}

void Condition::notify(std::size_t n) {
  if (!lock_->locked()) throw InvalidStateError("Condition::notify(): acquire the lock first");
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
