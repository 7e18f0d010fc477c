// tandem/aio/detail/frame_pool.hpp — where coroutine frames and task states come from (not public API).
//
// A million tasks is a normal load for the loop, and with the general-purpose heap each one costs two
// malloc/free pairs plus a first-touch page fault every 4 KiB — together most of a task's life. Frames
// and task states come instead from per-thread pages of 16-byte size classes, carved from large,
// pre-faulted chunks (transparent huge pages where the kernel offers them); see frame_pool.cpp. No
// block has a header: C++ hands the size back to a coroutine's and a class's operator delete.
//
// Memory once used for frames is kept for reuse by any thread, never returned to the system: a burst
// of N concurrent tasks keeps about N x 250 bytes. Set TANDEM_AIO_POOL=0 to use the ordinary heap
// instead (for valgrind or heap profilers); sanitizer builds of tandem always do.
#pragma once

#include <cstddef>

namespace tandem::aio::detail {

/// Memory for one frame or task state of `size` bytes (throws std::bad_alloc).
void* pool_allocate(std::size_t size);
/// Gives back what pool_allocate(size) returned; any thread may free any block.
void pool_deallocate(void* p, std::size_t size) noexcept;

/// Whether blocks come from the pool (false in sanitizer builds and with TANDEM_AIO_POOL=0).
bool pool_enabled() noexcept;

/// Base for classes whose instances should live in the pool (the size comes from the most derived
/// class when the destructor is virtual).
struct PoolAllocated {
  static void* operator new(std::size_t size) { return pool_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { pool_deallocate(p, size); }
};

}  // namespace tandem::aio::detail
