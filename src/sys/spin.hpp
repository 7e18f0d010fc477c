// Private (sys layer): the CPU's spin-wait hint, for the short busy-waits before a futex sleep.
#pragma once

namespace tandem::sys {

/// Tells the CPU this thread is spinning (x86 PAUSE, ARM YIELD): the sibling hyperthread gets the core
/// and leaving the loop does not flush the pipeline. Nothing elsewhere.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace tandem::sys
