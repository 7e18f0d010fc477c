// tandem/ipc/synchronize.hpp — Event, Lock, Semaphore, Barrier shared between processes
// (Python: multiprocessing.synchronize).
//
// Each object lives in its own small anonymous shared segment; a handle is cheap to copy and every copy
// (in this process or a child) refers to the same object. A child gets one by inheritance, exactly as in
// Python: pass it as an argument to Process (fork or spawn) or to a pool's initializer.
//
// ```cpp
//   void spin(std::string msg, tandem::ipc::Event done) {
//     while (!done.wait(std::chrono::milliseconds(100))) { /* draw the next frame */ }
//   }
//   int main() {
//     tandem::ipc::Event done;
//     tandem::Process spinner(&spin, std::string("thinking!"), done);
//     spinner.start();
//     /* ... slow work ... */
//     done.set();
//     spinner.join();
//   }
// ```
//
// Blocking is on futexes: an idle waiter sleeps in the kernel, never spins for long.
//
// Dead processes: Lock is a robust mutex: when the process (or thread) holding it dies, the next
// acquire succeeds and previous_owner_died() tells the new holder that the protected data may be half
// updated. Event and Semaphore have no owner, so a dead process cannot block them (but a Semaphore unit
// a dead process took is not given back, as in Python). Barrier waits can time out, which breaks the
// barrier for every party (BrokenBarrierError) instead of hanging on a party that died.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tandem/errors.hpp"
#include "tandem/ipc/shared_memory.hpp"

namespace tandem::ipc {

namespace detail {
using SyncClock = std::chrono::steady_clock;
using SyncDeadline = std::optional<SyncClock::time_point>;
template <class Rep, class Period>
SyncDeadline sync_deadline(std::chrono::duration<Rep, Period> timeout) {
  return SyncClock::now() + std::chrono::ceil<SyncClock::duration>(timeout);
}
}  // namespace detail

/// A flag processes can wait on (Python: multiprocessing.Event). Starts false.
class Event : public detail::SharedObject {
 public:
  Event();
  explicit Event(named_t);  // in a named segment: can also travel in messages (see shared_memory.hpp)
  Event(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg);

  bool is_set() const noexcept;
  /// Sets the flag and wakes every waiter, in every process.
  void set() noexcept;
  void clear() noexcept;
  /// Blocks until the flag is set; with a timeout, returns false if it is still unset when time runs out.
  bool wait() const { return wait_until({}); }
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return wait_until(detail::sync_deadline(timeout));
  }

 private:
  void init();
  bool wait_until(const detail::SyncDeadline& deadline) const;
};

/// A mutual-exclusion lock across processes (Python: multiprocessing.Lock), robust against a holder's
/// death (see the header comment). Release from the thread that acquired it. Works with
/// std::lock_guard / std::unique_lock (lock(), unlock(), try_lock()).
class Lock : public detail::SharedObject {
 public:
  Lock();
  explicit Lock(named_t);
  Lock(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg);

  /// Blocks until acquired; returns true.
  bool acquire();
  /// Gives up after the timeout (returns false). A zero timeout is a try.
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return acquire_until(detail::sync_deadline(timeout));
  }
  void release();
  /// True when the acquire that gave the caller this lock took it over from a holder that had died.
  bool previous_owner_died() const noexcept;

  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return acquire_until(detail::SyncClock::now()); }

 private:
  void init();
  bool acquire_until(const detail::SyncDeadline& deadline);
};

/// A counter of available units (Python: multiprocessing.Semaphore).
class Semaphore : public detail::SharedObject {
 public:
  explicit Semaphore(std::uint32_t value = 1);
  Semaphore(named_t, std::uint32_t value);
  Semaphore(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg);

  /// Takes one unit, blocking while there is none; returns true.
  bool acquire() { return acquire_until({}); }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return acquire_until(detail::sync_deadline(timeout));
  }
  /// Gives back n units and wakes up to n waiters.
  void release(std::uint32_t n = 1) noexcept;
  std::uint32_t value() const noexcept;

 private:
  void init(std::uint32_t value);
  bool acquire_until(const detail::SyncDeadline& deadline);
};

/// The barrier was aborted, reset while waited on, or a wait timed out (Python: threading.BrokenBarrierError).
class BrokenBarrierError : public Error {
 public:
  using Error::Error;
};

/// `parties` processes (or threads) meet before any goes on (Python: multiprocessing.Barrier).
class Barrier : public detail::SharedObject {
 public:
  explicit Barrier(std::uint32_t parties);
  Barrier(named_t, std::uint32_t parties);
  Barrier(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg);

  /// Waits for all parties; returns a distinct index in [0, parties) per party of one round. Throws
  /// BrokenBarrierError if the barrier is or becomes broken; a timeout breaks it for everyone.
  std::uint32_t wait() { return wait_until({}); }
  template <class Rep, class Period>
  std::uint32_t wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_until(detail::sync_deadline(timeout));
  }
  /// Breaks the barrier: current and future waiters get BrokenBarrierError until reset().
  void abort();
  void reset();
  std::uint32_t parties() const noexcept;
  std::uint32_t n_waiting() const noexcept;
  bool broken() const noexcept;

 private:
  void init(std::uint32_t parties);
  std::uint32_t wait_until(const detail::SyncDeadline& deadline);
};

}  // namespace tandem::ipc
