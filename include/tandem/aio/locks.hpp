// tandem/aio/locks.hpp — synchronization between tasks of one loop (Python: asyncio.locks).
//
// Not thread-safe (like asyncio's): they coordinate tasks on the same loop. Every wait is a suspension
// point, served in FIFO order. Cancelling a task parked in one removes it from the wait list at once;
// cancelling it after it was woken but before it ran (see task.hpp) still makes its co_await throw
// CancelledError, and what the wake-up gave it (the lock, a permit, a notification) goes to the next
// waiter — so a scoped() block is never entered by a cancelled task, and nothing is lost (asyncio's
// rules, Python 3.12; Condition's notification as in 3.13).
//
// ```cpp coroutine
//   aio::Lock lock;
//   {
//     auto guard = co_await lock.scoped();   // Python: async with lock:
//     /* ... */                             // released when guard goes out of scope
//   }
// ```
#pragma once

#include <coroutine>
#include <cstddef>
#include <utility>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/detail/waiters.hpp"
#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

/// Releases a Lock or Semaphore when destroyed (from scoped()). Movable; release() releases early.
template <class Primitive>
class [[nodiscard]] Releaser {
 public:
  explicit Releaser(Primitive* p) noexcept : p_(p) {}
  Releaser(Releaser&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Releaser& operator=(Releaser&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~Releaser() { release(); }
  void release() noexcept {
    if (p_) std::exchange(p_, nullptr)->release();
  }

 private:
  Primitive* p_;
};

/// A flag tasks can wait for (Python: asyncio.Event). set() wakes every waiter; clear() resets it.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  bool is_set() const noexcept { return flag_; }
  /// Sets the flag and wakes every waiting task.
  void set() noexcept;
  void clear() noexcept { flag_ = false; }

  class Wait final : detail::ParkedWaiter {
   public:
    explicit Wait(Event& e) noexcept : e_(e) {}
    bool await_ready() const noexcept { return e_.flag_; }
    bool await_suspend(std::coroutine_handle<> h) { return park(e_.waiters_, h, "Event::wait"); }
    bool await_resume() const {
      throw_if_cancelled();
      return true;
    }

   private:
    Event& e_;
  };
  /// Waits until the flag is set (returns at once if it is). Returns true, as Python does.
  Wait wait() noexcept { return Wait(*this); }

 private:
  bool flag_ = false;
  detail::List waiters_;
};

/// A mutual-exclusion lock for tasks (Python: asyncio.Lock). Fair: release() unlocks it and wakes the
/// first waiter, which takes the lock when it runs; until then no newcomer can take it (acquire()
/// waits behind the woken one), and if the woken one is cancelled first, the next waiter is woken.
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  /// True while a task holds the lock (false between a release() and the woken waiter's turn, as in
  /// asyncio, although that waiter is the only one that can take it then).
  bool locked() const noexcept { return locked_; }
  /// Releases the lock and wakes the first waiter. Throws InvalidStateError if not locked.
  void release();

  class Acquire : protected detail::ParkedWaiter {
   public:
    explicit Acquire(Lock& l) noexcept : l_(l) {}
    bool await_ready() noexcept {
      if (!l_.locked_ && !l_.waking_ && l_.waiters_.empty()) {
        l_.locked_ = true;
        return true;
      }
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) { return park(l_.waiters_, h, "Lock::acquire"); }
    bool await_resume() {
      throw_if_cancelled();
      if (woken()) l_.take_over();
      return true;
    }

   protected:
    Lock& l_;

   private:
    void give_back() noexcept override { l_.pass_over(); }
  };
  class ScopedAcquire final : public Acquire {
   public:
    using Acquire::Acquire;
    Releaser<Lock> await_resume() {
      Acquire::await_resume();
      return Releaser<Lock>(&l_);
    }
  };
  /// Acquires the lock (Python: await lock.acquire()); pair with release().
  Acquire acquire() noexcept { return Acquire(*this); }
  /// Acquires the lock and returns a guard that releases it (Python: async with lock).
  ScopedAcquire scoped() noexcept { return ScopedAcquire(*this); }

 private:
  friend class Condition;
  void wake_first() noexcept;
  void take_over() noexcept {
    waking_ = false;
    locked_ = true;
  }
  void pass_over() noexcept {  // the woken waiter was cancelled before it ran
    waking_ = false;
    if (!locked_) wake_first();
  }
  bool locked_ = false;
  bool waking_ = false;  // a woken waiter has not run yet: the lock is its to take
  detail::List waiters_;
};

/// A counter of permits (Python: asyncio.Semaphore). acquire() takes one, waiting while none is left.
/// FIFO: release() hands the permit to the first waiter at once; while a woken waiter has not run yet,
/// newcomers wait behind it even if permits are free (asyncio 3.12's rule), and it wakes as many
/// of them as there are permits when it runs — or gives its permit back if it was cancelled first.
class Semaphore {
 public:
  explicit Semaphore(std::size_t value = 1) noexcept : value_(value) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  virtual ~Semaphore() = default;

  /// True when acquire() would wait: no permit left, or tasks ahead of it (parked or woken).
  bool locked() const noexcept { return value_ == 0 || waking_ > 0 || !waiters_.empty(); }
  /// Permits left (those handed to woken waiters are theirs already).
  std::size_t value() const noexcept { return value_; }
  /// Returns a permit (to the first waiter, if any).
  virtual void release();

  class Acquire : protected detail::ParkedWaiter {
   public:
    explicit Acquire(Semaphore& s) noexcept : s_(s) {}
    bool await_ready() noexcept {
      if (s_.locked()) return false;
      --s_.value_;
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) { return park(s_.waiters_, h, "Semaphore::acquire"); }
    bool await_resume() {
      throw_if_cancelled();
      if (woken()) s_.took_permit();
      return true;
    }

   protected:
    Semaphore& s_;

   private:
    void give_back() noexcept override { s_.returned_permit(); }
  };
  class ScopedAcquire final : public Acquire {
   public:
    using Acquire::Acquire;
    Releaser<Semaphore> await_resume() {
      Acquire::await_resume();
      return Releaser<Semaphore>(&s_);
    }
  };
  Acquire acquire() noexcept { return Acquire(*this); }
  /// Takes a permit and returns a guard that gives it back (Python: async with sem).
  ScopedAcquire scoped() noexcept { return ScopedAcquire(*this); }

 protected:
  std::size_t value_;

 private:
  /// Hands free permits to waiters, first come first served.
  void hand_out() noexcept;
  void took_permit() noexcept {
    --waking_;
    hand_out();
  }
  void returned_permit() noexcept {  // a woken waiter was cancelled before it ran
    --waking_;
    ++value_;
    hand_out();
  }
  std::size_t waking_ = 0;  // woken waiters that have not run yet (each holds its permit)
  detail::List waiters_;
};

/// A Semaphore that refuses to be released above its initial value (Python: asyncio.BoundedSemaphore):
/// release() then throws InvalidStateError, catching unbalanced acquire/release pairs.
class BoundedSemaphore final : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t value = 1) noexcept : Semaphore(value), bound_(value) {}
  void release() override;

 private:
  std::size_t bound_;
};

/// A condition variable for tasks (Python: asyncio.Condition). wait() releases the lock, waits for
/// notify(), and re-acquires the lock before returning — also when cancelled, so the caller always
/// holds the lock afterwards. A wait() that ends with an exception (cancelled, perhaps after it was
/// notified) passes a notification on to the next waiter, so that none is lost (asyncio 3.13).
class Condition {
 public:
  /// Uses its own Lock.
  Condition() : lock_(&own_) {}
  /// Shares `lock` (which must outlive the condition).
  explicit Condition(Lock& lock) : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  Lock& lock() noexcept { return *lock_; }
  Lock::Acquire acquire() noexcept { return lock_->acquire(); }
  Lock::ScopedAcquire scoped() noexcept { return lock_->scoped(); }
  void release() { lock_->release(); }
  bool locked() const noexcept { return lock_->locked(); }

  /// Waits until notified. The lock must be held (InvalidStateError otherwise).
  Task<void> wait();
  /// Waits until pred() is true (checked with the lock held). Returns pred()'s last value.
  template <class Pred>
  Task<bool> wait_for(Pred pred) {
    while (!pred()) co_await wait();
    co_return true;
  }
  /// Wakes up to n waiters. The lock must be held.
  void notify(std::size_t n = 1);
  void notify_all() { notify(static_cast<std::size_t>(-1)); }

 private:
  class NotifyWait;
  void wake(std::size_t n) noexcept;
  Lock own_;
  Lock* lock_;
  detail::List waiters_;
};

/// A rendezvous of `parties` tasks (Python: asyncio.Barrier). wait() returns the arrival index
/// (0 .. parties-1) once all have arrived. abort() breaks it: current and later waiters get
/// BrokenBarrierError; reset() breaks current waiters and makes it usable again.
class Barrier {
 public:
  explicit Barrier(std::size_t parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  std::size_t parties() const noexcept { return parties_; }
  std::size_t n_waiting() const noexcept { return arrived_; }
  bool broken() const noexcept { return broken_; }
  void abort() noexcept;
  void reset() noexcept;

  class Wait final : detail::ParkedWaiter {
   public:
    explicit Wait(Barrier& b) noexcept : b_(b) {}
    bool await_ready();
    bool await_suspend(std::coroutine_handle<> h) {
      if (!park(b_.waiters_, h, "Barrier::wait")) {
        --b_.arrived_;
        return false;
      }
      return true;
    }
    std::size_t await_resume() const {
      throw_if_cancelled();
      if (broken_wake_) throw BrokenBarrierError();
      return index_;
    }

   private:
    friend class Barrier;
    void on_cancelled() noexcept override { --b_.arrived_; }
    Barrier& b_;
    std::size_t index_ = 0;
    bool broken_wake_ = false;
  };
  Wait wait() noexcept { return Wait(*this); }

 private:
  void wake(bool broken) noexcept;
  std::size_t parties_;
  std::size_t arrived_ = 0;
  bool broken_ = false;
  detail::List waiters_;
};

}  // namespace tandem::aio
