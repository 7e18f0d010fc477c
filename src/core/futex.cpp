// tandem/detail/futex.hpp's calls and FutexLock's slow path, over the sys layer's futex system calls.
#include "tandem/detail/futex.hpp"

#include "../sys/futex.hpp"
#include "../sys/spin.hpp"

namespace tandem::detail {

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const std::optional<std::chrono::steady_clock::time_point>& deadline, bool shared) noexcept {
  return sys::futex_wait(word, expected, deadline, shared);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count, bool shared) noexcept {
  sys::futex_wake(word, count, shared);
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
