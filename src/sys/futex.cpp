// The futex system calls behind tandem/detail/futex.hpp (one home for every futex in tandem).
#include "tandem/detail/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "spin.hpp"

namespace tandem::detail {

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const std::optional<std::chrono::steady_clock::time_point>& deadline, bool shared) noexcept {
  const int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline) {
    // steady_clock is CLOCK_MONOTONIC in libstdc++, and FUTEX_WAIT_BITSET takes an absolute time on it.
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
    if (ns <= 0) return false;
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    tsp = &ts;
  }
  long rc = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, expected, tsp, nullptr,
                      FUTEX_BITSET_MATCH_ANY);
  return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count, bool shared) noexcept {
  const int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, count, nullptr, nullptr, 0);
}

void FutexLock::lock_slow(std::uint32_t c) noexcept {
  // Brief spin: critical sections guarded by this lock are a few instructions long.
  for (int i = 0; i < 64; ++i) {
    c = 0;
    if (word_.compare_exchange_weak(c, 1, std::memory_order_acquire, std::memory_order_relaxed)) return;
    sys::cpu_relax();
  }
  if (c != 2) c = word_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    futex_wait(word_, 2);
    c = word_.exchange(2, std::memory_order_acquire);
  }
}

}  // namespace tandem::detail
