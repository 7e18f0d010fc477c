// Private (sys layer): an asymmetric memory barrier, for a Dekker-style handshake whose one side runs
// millions of times a second and whose other side runs rarely and may be slow.
//
// The classic case (the thread pool): a worker pushes a task and then reads "is anyone parked?"; a
// worker about to park announces itself and then looks at every queue. Each side needs a full barrier
// between its store and its load, or both can miss the other. With membarrier(2) the frequent side
// pays only a compiler barrier, and the rare side asks the kernel to run a full barrier on every CPU
// that runs a thread of this process (Linux 4.14+: MEMBARRIER_CMD_PRIVATE_EXPEDITED; folly's
// asymmetricLightBarrier/asymmetricHeavyBarrier). Where membarrier is unavailable both sides use an
// ordinary seq_cst fence. Under ThreadSanitizer (which models neither membarrier nor, in GCC, fences)
// the store before a light barrier is seq_cst (light_store_order) and both barriers are empty: with the
// heavy side's own store and loads seq_cst too, that is the textbook seq_cst Dekker pair.
#pragma once

#include <atomic>

namespace tandem::sys {

namespace detail {
extern bool membarrier_ready;  // written once, by enable_asymmetric_barriers(), before any use
}

/// Call before starting threads that use the barriers (idempotent, thread-safe): registers this process
/// for membarrier's expedited command if the kernel has it. The choice is fixed by the first call's
/// return, so both sides of a handshake always agree on it.
void enable_asymmetric_barriers() noexcept;

/// The order for the store that a light_barrier() follows (and for the heavy side's store and loads
/// around heavy_barrier(), which must be seq_cst anyway): release normally, seq_cst under TSan.
#if defined(__SANITIZE_THREAD__)
inline constexpr std::memory_order light_store_order = std::memory_order_seq_cst;
#else
inline constexpr std::memory_order light_store_order = std::memory_order_release;
#endif

/// The frequent side: orders this thread's earlier stores before its later loads, against a concurrent
/// heavy_barrier() on another thread (not against another light_barrier()).
inline void light_barrier() noexcept {
#if defined(__SANITIZE_THREAD__)
  // Nothing: the store was seq_cst (light_store_order).
#else
  if (detail::membarrier_ready)
    std::atomic_signal_fence(std::memory_order_seq_cst);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// The rare side: a full barrier on this thread and on every thread of the process that runs now.
/// A system call (0.26 µs measured here with no other thread running; more when it interrupts CPUs).
void heavy_barrier() noexcept;

}  // namespace tandem::sys
