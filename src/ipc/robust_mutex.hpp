// Private: a process-shared, robust pthread mutex placed in shared memory. When its holder dies the
// kernel (robust futex list) hands it to the next locker with EOWNERDEAD instead of leaving it stuck.
#pragma once

#include <pthread.h>

#include "../sys/futex.hpp"

namespace tandem::ipc::detail {

using sys::Clock;
using sys::OptDeadline;

enum class LockResult { acquired, acquired_owner_died, timed_out };

struct RobustMutex {
  pthread_mutex_t m;

  void init();  // once, by the creator, before any other process sees the segment
  LockResult lock_until(const OptDeadline& deadline);
  LockResult lock() { return lock_until({}); }
  void unlock();  // throws InvalidStateError if the caller does not hold it
};

/// RAII holder for internal critical sections (the data it protects is kept consistent at every
/// instant a holder could die, so an owner-died acquisition just goes on).
class RobustGuard {
 public:
  explicit RobustGuard(RobustMutex& m) : m_(m) { m_.lock(); }
  ~RobustGuard() {
    if (held_) pthread_mutex_unlock(&m_.m);
  }
  RobustGuard(const RobustGuard&) = delete;
  RobustGuard& operator=(const RobustGuard&) = delete;
  void unlock() {
    held_ = false;
    pthread_mutex_unlock(&m_.m);
  }
  void lock() {
    m_.lock();
    held_ = true;
  }

 private:
  RobustMutex& m_;
  bool held_ = true;
};

}  // namespace tandem::ipc::detail
