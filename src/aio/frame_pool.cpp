// The per-thread pool behind coroutine frames and task states (see tandem/aio/detail/frame_pool.hpp).
#include "tandem/aio/detail/frame_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace tandem::aio::detail {
namespace {

constexpr std::size_t kGranule = 16;  // every frame needs the default new alignment (16)
constexpr std::size_t kMaxPooled = 1024;
constexpr std::size_t kClasses = kMaxPooled / kGranule + 1;
// Chunks grow with demand, so that a program with a few tasks keeps a few pages, while a burst of a
// million pays a few dozen mmap calls; the cap bounds what the last chunk can hold unused.
constexpr std::size_t kFirstChunk = std::size_t{256} << 10;
constexpr std::size_t kMaxChunk = std::size_t{8} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // the sanitizers must see every frame's allocation and free
#else
constexpr bool kSanitized = false;
#endif

struct FreeBlock {
  FreeBlock* next;
};

bool enabled_from_env() noexcept {
  if (kSanitized) return false;
  const char* v = std::getenv("TANDEM_AIO_POOL");
  return !(v && std::strcmp(v, "0") == 0);
}
// Read without a guard on the hot path. A frame allocated during static initialization, before this
// is set, comes from the heap and may later be recycled by the pool: harmless (the reverse, a pool
// block handed to the heap, cannot happen, since the flag only ever turns on).
const bool g_enabled = enabled_from_env();
bool enabled() noexcept { return g_enabled; }

std::size_t class_of(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule; }

// Trivially destructible, so that reaching it from the hot path costs no TLS-initialization check.
struct Cache {
  FreeBlock* free[kClasses];
  char* bump;
  char* end;
  std::size_t next_chunk;
  bool reaper_armed;
  bool exiting;  // the thread's free lists went to the depot already; later frees go there too
};
constinit thread_local Cache t_cache{};

// Free lists of threads that exited, for the next thread that needs blocks of that size.
struct Depot {
  std::mutex mu;
  std::vector<FreeBlock*> lists[kClasses];  // each entry is a whole linked list
  std::atomic<std::size_t> count{0};
};
Depot& depot() {
  static Depot* d = new Depot;  // never destroyed: threads may exit after static destruction began
  return *d;
}

void depot_put(std::size_t c, FreeBlock* list) noexcept {
  Depot& d = depot();
  std::lock_guard lock(d.mu);
  try {
    d.lists[c].push_back(list);
    d.count.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {  // out of memory for the depot's bookkeeping: the blocks stay unused
  }
}

FreeBlock* depot_take(std::size_t c) noexcept {
  Depot& d = depot();
  if (d.count.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(d.mu);
  if (d.lists[c].empty()) return nullptr;
  FreeBlock* list = d.lists[c].back();
  d.lists[c].pop_back();
  d.count.fetch_sub(1, std::memory_order_relaxed);
  return list;
}

struct Reaper {
  ~Reaper() {
    t_cache.exiting = true;
    for (std::size_t c = 1; c < kClasses; ++c) {
      if (t_cache.free[c]) depot_put(c, std::exchange(t_cache.free[c], nullptr));
    }
    // The unused tail of the current chunk becomes one block of the largest class it can hold.
    std::size_t left = static_cast<std::size_t>(t_cache.end - t_cache.bump);
    if (left >= kGranule) {
      auto* b = reinterpret_cast<FreeBlock*>(t_cache.bump);
      b->next = nullptr;
      depot_put(std::min(left, kMaxPooled) / kGranule, b);
    }
    t_cache.bump = t_cache.end = nullptr;
  }
};

void arm_reaper() {
  thread_local Reaper reaper;
  t_cache.reaper_armed = true;
}

void* map_chunk(std::size_t size) {
  // Huge-page sized chunks are aligned to 2 MiB so that the kernel can back them with huge pages.
  const std::size_t align = size >= kHugePage ? kHugePage : 0;
  void* m = ::mmap(nullptr, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<char*>(m);
  if (align) {
    auto addr = reinterpret_cast<std::uintptr_t>(base);
    char* aligned = base + ((align - addr % align) % align);
    if (aligned > base) ::munmap(base, static_cast<std::size_t>(aligned - base));
    char* tail = aligned + size;
    if (char* stop = base + size + align; stop > tail) ::munmap(tail, static_cast<std::size_t>(stop - tail));
    base = aligned;
    ::madvise(base, size, MADV_HUGEPAGE);
  }
#ifdef MADV_POPULATE_WRITE
  // One call faults the whole chunk in, instead of one trap per page on first touch. Older kernels
  // refuse it (EINVAL): the pages then fault in lazily, as with any allocation.
  ::madvise(base, size, MADV_POPULATE_WRITE);
#endif
  return base;
}

void* allocate_slow(std::size_t c) {
  if (!t_cache.reaper_armed && !t_cache.exiting) arm_reaper();
  if (FreeBlock* list = depot_take(c)) {
    t_cache.free[c] = list->next;
    return list;
  }
  const std::size_t bytes = c * kGranule;
  if (static_cast<std::size_t>(t_cache.end - t_cache.bump) < bytes) {
    std::size_t size = std::max(t_cache.next_chunk, kFirstChunk);
    char* chunk = static_cast<char*>(map_chunk(size));
    // What is left of the old chunk (less than `bytes`, so at most kMaxPooled) is one smaller block.
    if (std::size_t left = static_cast<std::size_t>(t_cache.end - t_cache.bump); left >= kGranule) {
      auto* b = reinterpret_cast<FreeBlock*>(t_cache.bump);
      b->next = t_cache.free[left / kGranule];
      t_cache.free[left / kGranule] = b;
    }
    t_cache.bump = chunk;
    t_cache.end = chunk + size;
    t_cache.next_chunk = std::min(size * 2, kMaxChunk);
  }
  void* p = t_cache.bump;
  t_cache.bump += bytes;
  return p;
}

}  // namespace

void* pool_allocate(std::size_t size) {
  if (size > kMaxPooled || !enabled()) return ::operator new(size);
  const std::size_t c = class_of(size);
  if (FreeBlock* b = t_cache.free[c]) {
    t_cache.free[c] = b->next;
    return b;
  }
  return allocate_slow(c);
}

void pool_deallocate(void* p, std::size_t size) noexcept {
  if (size > kMaxPooled || !enabled()) {
    ::operator delete(p, size);
    return;
  }
  const std::size_t c = class_of(size);
  auto* b = static_cast<FreeBlock*>(p);
  if (t_cache.exiting) {  // freed by a thread_local destructor after this thread's reaper ran
    b->next = nullptr;
    depot_put(c, b);
    return;
  }
  b->next = t_cache.free[c];
  t_cache.free[c] = b;
}

}  // namespace tandem::aio::detail
