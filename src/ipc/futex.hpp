// Private: futex wait/wake on 32-bit words in shared memory (process-shared: no FUTEX_PRIVATE_FLAG).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "tandem/detail/futex.hpp"

namespace tandem::ipc::detail {

using Clock = std::chrono::steady_clock;
using OptDeadline = std::optional<Clock::time_point>;

/// Sleeps while *word == expected, until woken, the deadline passes or a signal arrives (spurious
/// wake-ups are normal: callers re-check their condition). Returns false once the deadline has passed.
// The shared (non-private) forms of the core futex calls: these words live in memory mapped by several
// processes.
inline bool futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, const OptDeadline& deadline) {
  return tandem::detail::futex_wait(*word, expected, deadline, /*shared=*/true);
}
inline void futex_wake(std::atomic<std::uint32_t>* word, int count) {
  tandem::detail::futex_wake(*word, count, /*shared=*/true);
}
inline void futex_wake_all(std::atomic<std::uint32_t>* word) { futex_wake(word, 0x7fffffff); }

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::int64_t monotonic_ns() noexcept;  // CLOCK_MONOTONIC, the same clock in every process

}  // namespace tandem::ipc::detail
