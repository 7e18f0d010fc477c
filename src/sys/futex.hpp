// Private (sys layer): the futex calls for words in memory that several processes map.
//
// The system calls have one home, sys/futex.cpp; core's public tandem/detail/futex.hpp (whose FutexLock
// futures.hpp inlines) forwards to them from src/core/futex.cpp. This header also has the process-shared
// forms (no FUTEX_PRIVATE_FLAG: the kernel keys the word by its page, not by this address space) and the
// clock that deadlines stored in shared memory use.
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace tandem::sys {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC in libstdc++: the same clock in every process
using OptDeadline = std::optional<Clock::time_point>;

/// FUTEX_WAIT_BITSET on `word`: sleeps while *word == expected, until woken, the deadline (absolute,
/// steady_clock) passes or a signal arrives (spurious wake-ups are normal: callers re-check their
/// condition). Returns false only when the deadline passed. `shared`: the word lives in memory that
/// several processes map.
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const OptDeadline& deadline,
                bool shared) noexcept;
/// FUTEX_WAKE: wakes up to `count` sleepers on `word`.
void futex_wake(std::atomic<std::uint32_t>& word, int count, bool shared) noexcept;

/// Sleeps while *word == expected, until woken, the deadline passes or a signal arrives (spurious
/// wake-ups are normal: callers re-check their condition). Returns false once the deadline has passed.
inline bool shared_futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, const OptDeadline& deadline) {
  return futex_wait(*word, expected, deadline, /*shared=*/true);
}
inline void shared_futex_wake(std::atomic<std::uint32_t>* word, int count) { futex_wake(*word, count, /*shared=*/true); }
inline void shared_futex_wake_all(std::atomic<std::uint32_t>* word) { shared_futex_wake(word, 0x7fffffff); }

/// CLOCK_MONOTONIC in nanoseconds: a deadline one process stores and another compares.
inline std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace tandem::sys
