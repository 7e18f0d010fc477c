// The futex system calls (one home for every futex in tandem; core's tandem/detail/futex.hpp forwards here).
#include "futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>


namespace tandem::sys {

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const OptDeadline& deadline, bool shared) noexcept {
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

}  // namespace tandem::sys
