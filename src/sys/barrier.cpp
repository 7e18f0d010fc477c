// sys/barrier.hpp: membarrier(2) behind the asymmetric barrier pair.
#include "barrier.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

namespace tandem::sys {

namespace detail {
bool membarrier_ready = false;
}

void enable_asymmetric_barriers() noexcept {
#if !defined(__SANITIZE_THREAD__)
  static std::once_flag once;
  std::call_once(once, [] {
    const long supported = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return;
    detail::membarrier_ready = ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  });
#endif
}

void heavy_barrier() noexcept {
  // Registration is per process and survives fork (the kernel copies it with the address space), so the
  // command cannot fail once registered; a fence keeps the caller's own side right regardless.
#if !defined(__SANITIZE_THREAD__)  // under TSan: the seq_cst accesses around it do the work
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (detail::membarrier_ready) ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
#endif
}

}  // namespace tandem::sys
