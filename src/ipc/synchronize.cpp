#include "tandem/ipc/synchronize.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>
#include <system_error>

#include "../sys/errors.hpp"
#include "../sys/futex.hpp"
#include "robust_mutex.hpp"

namespace tandem::ipc {

namespace detail {

void RobustMutex::init() {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  int rc = pthread_mutex_init(&m, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) sys::throw_errno("cannot initialise a process-shared mutex", rc);
}

LockResult RobustMutex::lock_until(const OptDeadline& deadline) {
  int rc;
  if (!deadline) {
    rc = pthread_mutex_lock(&m);
  } else {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - Clock::now()).count();
    rc = pthread_mutex_trylock(&m);  // first: the common uncontended case, and an owner already dead
    if (rc == EBUSY && left <= 0) return LockResult::timed_out;
    if (rc == EBUSY) {
      // pthread_mutex_timedlock (CLOCK_REALTIME) rather than pthread_mutex_clocklock: sanitizers know
      // the former. A wall-clock jump can only stretch or shorten this one wait.
      timespec abs{};
      clock_gettime(CLOCK_REALTIME, &abs);
      std::int64_t ns = abs.tv_nsec + left;
      abs.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
      abs.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      rc = pthread_mutex_timedlock(&m, &abs);
      if (rc == ETIMEDOUT) return LockResult::timed_out;
    }
  }
  if (rc == 0) return LockResult::acquired;
  if (rc == EOWNERDEAD) {
    pthread_mutex_consistent(&m);
    return LockResult::acquired_owner_died;
  }
  if (rc == EDEADLK) throw InvalidStateError("ipc::Lock: this thread already holds the lock (it is not recursive)");
  sys::throw_errno("cannot lock a process-shared mutex", rc);
}

void RobustMutex::unlock() {
  int rc = pthread_mutex_unlock(&m);
  if (rc != 0) throw InvalidStateError("ipc::Lock: release() by a thread that does not hold the lock");
}

namespace {
constexpr std::uint32_t kEventMagic = 0x45564e54;      // "EVNT"
constexpr std::uint32_t kLockMagic = 0x4c4f434b;       // "LOCK"
constexpr std::uint32_t kSemaphoreMagic = 0x53454d41;  // "SEMA"
constexpr std::uint32_t kBarrierMagic = 0x42415252;    // "BARR"
}  // namespace

struct EventState {
  std::atomic<std::uint32_t> magic;
  std::atomic<std::uint32_t> flag;
  std::atomic<std::uint32_t> waiters;
};

struct LockState {
  std::atomic<std::uint32_t> magic;
  std::uint32_t owner_died;  // written and read by the holder only
  RobustMutex mutex;
};

struct SemaphoreState {
  std::atomic<std::uint32_t> magic;
  std::atomic<std::uint32_t> count;
  std::atomic<std::uint32_t> waiters;
};

struct BarrierState {
  std::atomic<std::uint32_t> magic;
  std::uint32_t parties;
  std::atomic<std::uint32_t> count;  // arrived in this round; changed under mutex
  std::atomic<std::uint32_t> generation;
  std::atomic<std::uint32_t> broken;
  std::atomic<std::uint32_t> broken_generation;  // the round that was broken, so its waiters throw
  RobustMutex mutex;
};

}  // namespace detail

using sys::shared_futex_wait;
using sys::shared_futex_wake;
using sys::shared_futex_wake_all;

namespace {
template <class S>
S* state_of(void* p) {
  return static_cast<S*>(p);
}
}  // namespace

// ---- Event ----

Event::Event() : SharedObject(sizeof(detail::EventState)) { init(); }
Event::Event(named_t) : SharedObject(named, sizeof(detail::EventState)) { init(); }
void Event::init() {
  auto* s = new (raw()) detail::EventState{};
  s->magic.store(detail::kEventMagic);
}
Event::Event(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg)
    : SharedObject(std::move(seg), detail::kEventMagic, sizeof(detail::EventState), "Event") {}

bool Event::is_set() const noexcept { return state_of<detail::EventState>(raw())->flag.load() != 0; }

void Event::set() noexcept {
  auto* s = state_of<detail::EventState>(raw());
  s->flag.store(1);
  if (s->waiters.load() != 0) shared_futex_wake_all(&s->flag);
}

void Event::clear() noexcept { state_of<detail::EventState>(raw())->flag.store(0); }

bool Event::wait_until(const detail::SyncDeadline& deadline) const {
  auto* s = state_of<detail::EventState>(raw());
  for (;;) {
    if (s->flag.load() != 0) return true;
    s->waiters.fetch_add(1);
    bool in_time = shared_futex_wait(&s->flag, 0, deadline);
    s->waiters.fetch_sub(1);
    if (!in_time) return s->flag.load() != 0;
  }
}

// ---- Lock ----

Lock::Lock() : SharedObject(sizeof(detail::LockState)) { init(); }
Lock::Lock(named_t) : SharedObject(named, sizeof(detail::LockState)) { init(); }
void Lock::init() {
  auto* s = new (raw()) detail::LockState{};
  s->mutex.init();
  s->magic.store(detail::kLockMagic);
}
Lock::Lock(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg)
    : SharedObject(std::move(seg), detail::kLockMagic, sizeof(detail::LockState), "Lock") {}

bool Lock::acquire() { return acquire_until({}); }

bool Lock::acquire_until(const detail::SyncDeadline& deadline) {
  auto* s = state_of<detail::LockState>(raw());
  auto r = s->mutex.lock_until(deadline);
  if (r == detail::LockResult::timed_out) return false;
  s->owner_died = r == detail::LockResult::acquired_owner_died;
  return true;
}

void Lock::release() { state_of<detail::LockState>(raw())->mutex.unlock(); }

bool Lock::previous_owner_died() const noexcept { return state_of<detail::LockState>(raw())->owner_died != 0; }

// ---- Semaphore ----

Semaphore::Semaphore(std::uint32_t value) : SharedObject(sizeof(detail::SemaphoreState)) { init(value); }
Semaphore::Semaphore(named_t, std::uint32_t value) : SharedObject(named, sizeof(detail::SemaphoreState)) {
  init(value);
}
void Semaphore::init(std::uint32_t value) {
  auto* s = new (raw()) detail::SemaphoreState{};
  s->count.store(value);
  s->magic.store(detail::kSemaphoreMagic);
}
Semaphore::Semaphore(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg)
    : SharedObject(std::move(seg), detail::kSemaphoreMagic, sizeof(detail::SemaphoreState), "Semaphore") {}

bool Semaphore::acquire_until(const detail::SyncDeadline& deadline) {
  auto* s = state_of<detail::SemaphoreState>(raw());
  for (;;) {
    std::uint32_t c = s->count.load();
    while (c > 0) {
      if (s->count.compare_exchange_weak(c, c - 1)) return true;
    }
    s->waiters.fetch_add(1);
    bool in_time = shared_futex_wait(&s->count, 0, deadline);
    s->waiters.fetch_sub(1);
    if (!in_time) {
      c = s->count.load();
      while (c > 0) {
        if (s->count.compare_exchange_weak(c, c - 1)) return true;
      }
      return false;
    }
  }
}

void Semaphore::release(std::uint32_t n) noexcept {
  auto* s = state_of<detail::SemaphoreState>(raw());
  s->count.fetch_add(n);
  if (s->waiters.load() != 0) shared_futex_wake(&s->count, static_cast<int>(n));
}

std::uint32_t Semaphore::value() const noexcept { return state_of<detail::SemaphoreState>(raw())->count.load(); }

// ---- Barrier ----

Barrier::Barrier(std::uint32_t parties) : SharedObject(sizeof(detail::BarrierState)) { init(parties); }
Barrier::Barrier(named_t, std::uint32_t parties) : SharedObject(named, sizeof(detail::BarrierState)) { init(parties); }
void Barrier::init(std::uint32_t parties) {
  if (parties == 0) throw std::invalid_argument("ipc::Barrier: parties must be >= 1");
  auto* s = new (raw()) detail::BarrierState{};
  s->parties = parties;
  s->broken_generation.store(0xffffffffu);
  s->mutex.init();
  s->magic.store(detail::kBarrierMagic);
}
Barrier::Barrier(detail::adopt_segment_t, std::shared_ptr<SharedMemory> seg)
    : SharedObject(std::move(seg), detail::kBarrierMagic, sizeof(detail::BarrierState), "Barrier") {}

namespace {
// Under the mutex: marks the barrier broken and releases the current round's waiters as broken.
void break_round(detail::BarrierState* s) {
  s->broken.store(1);
  if (s->count.load() != 0) {
    s->broken_generation.store(s->generation.load());
    s->count.store(0);
    s->generation.fetch_add(1);
    shared_futex_wake_all(&s->generation);
  }
}
}  // namespace

std::uint32_t Barrier::wait_until(const detail::SyncDeadline& deadline) {
  auto* s = state_of<detail::BarrierState>(raw());
  std::uint32_t gen;
  std::uint32_t index;
  {
    detail::RobustGuard g(s->mutex);
    if (s->broken.load()) throw BrokenBarrierError("ipc::Barrier is broken");
    gen = s->generation.load();
    index = s->count.fetch_add(1);
    if (index + 1 == s->parties) {
      s->count = 0;
      s->generation.fetch_add(1);
      shared_futex_wake_all(&s->generation);
      return index;
    }
  }
  auto released = [&] {
    if (s->generation.load() == gen) return false;
    if (s->broken_generation.load() == gen) throw BrokenBarrierError("ipc::Barrier was broken while waiting");
    return true;
  };
  for (;;) {
    if (released()) return index;
    if (!shared_futex_wait(&s->generation, gen, deadline)) {
      detail::RobustGuard g(s->mutex);
      if (released()) return index;
      break_round(s);
      throw BrokenBarrierError("ipc::Barrier wait timed out; the barrier is now broken for every party");
    }
  }
}

void Barrier::abort() {
  auto* s = state_of<detail::BarrierState>(raw());
  detail::RobustGuard g(s->mutex);
  break_round(s);
}

void Barrier::reset() {
  auto* s = state_of<detail::BarrierState>(raw());
  detail::RobustGuard g(s->mutex);
  break_round(s);  // waiters of the current round are released as broken
  s->broken.store(0);
}

std::uint32_t Barrier::parties() const noexcept { return state_of<detail::BarrierState>(raw())->parties; }
std::uint32_t Barrier::n_waiting() const noexcept {
  return state_of<detail::BarrierState>(raw())->count.load();
}
bool Barrier::broken() const noexcept { return state_of<detail::BarrierState>(raw())->broken.load() != 0; }

}  // namespace tandem::ipc
