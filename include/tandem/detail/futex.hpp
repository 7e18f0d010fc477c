// tandem/detail/futex.hpp — the two Linux futex calls tandem's synchronization is built on, and a
// 4-byte lock for places where std::mutex (40 bytes) would dominate the object it protects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace tandem::detail {

/// Sleeps while *word == expected, until woken or `deadline` (steady_clock) passes. Spurious returns
/// are allowed: callers re-check their condition. Returns false only when the deadline passed.
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const std::optional<std::chrono::steady_clock::time_point>& deadline = std::nullopt,
                bool shared = false) noexcept;
/// Wakes up to `count` threads sleeping on `word`.
void futex_wake(std::atomic<std::uint32_t>& word, int count, bool shared = false) noexcept;

/// A mutex in one 32-bit word (Drepper, "Futexes Are Tricky", mutex #2): 0 free, 1 locked,
/// 2 locked with sleepers. Uncontended lock and unlock are one atomic each.
class FutexLock {
 public:
  void lock() noexcept {
    std::uint32_t c = 0;
    if (word_.compare_exchange_strong(c, 1, std::memory_order_acquire, std::memory_order_relaxed)) return;
    lock_slow(c);
  }
  void unlock() noexcept {
    if (word_.exchange(0, std::memory_order_release) == 2) futex_wake(word_, 1);
  }

 private:
  void lock_slow(std::uint32_t c) noexcept;
  std::atomic<std::uint32_t> word_{0};
};

}  // namespace tandem::detail
