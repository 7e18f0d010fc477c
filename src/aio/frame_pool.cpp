// The per-thread pool behind coroutine frames and task states (see tandem/aio/detail/frame_pool.hpp).
//
// Memory is carved into 64 KiB pages, each holding blocks of one size class and owned by one thread.
// A thread allocates from its current page of a class until it is exhausted, then from another of its
// pages with free blocks. Keeping free lists per page (as mimalloc does) matters for speed: with one
// long free list per class, a million frames freed in one order and reused in another end up handed
// out in random order, and every step of every task becomes a cache miss — measured, a burst got
// three times slower per round. Per page, the disorder stays inside 64 KiB, and a page whose blocks
// have all come back starts over in address order.
//
// Blocks freed by another thread go to the page's atomic `remote` list; the owner takes them back
// when it looks at the page again (and looks at a few of its full pages before mapping a new one).
// A thread that exits gives its pages to a global depot; other threads adopt them from there.
#include "tandem/aio/detail/frame_pool.hpp"

#include <pthread.h>
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

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace tandem::aio::detail {
namespace {

constexpr std::size_t kGranule = 16;  // every frame needs the default new alignment (16)
constexpr std::size_t kMaxPooled = 1024;
constexpr std::size_t kClasses = kMaxPooled / kGranule + 1;
constexpr std::size_t kPageSize = std::size_t{64} << 10;
// Chunks of pages grow with demand, so that a program with a few tasks keeps a few pages, while a
// burst of a million pays a few dozen mmap calls; the cap bounds what the last chunk holds unused.
constexpr std::size_t kFirstChunk = std::size_t{256} << 10;
constexpr std::size_t kMaxChunk = std::size_t{8} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr int kFullPagesCheckedPerNewPage = 4;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Off by default, so that the sanitizers see every frame's allocation and free (and LSan its leaks);
// TANDEM_AIO_POOL=1 turns it on to check the pool itself (tests/aio/extra.cmake does).
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
// A free block is poisoned, all but its link while it sits in a list: a frame used after its task was
// freed is reported as such even though the memory stays in the pool.
void poison(void* p, std::size_t n) noexcept { ASAN_POISON_MEMORY_REGION(p, n); }
void unpoison(void* p, std::size_t n) noexcept { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
void poison(void*, std::size_t) noexcept {}
void unpoison(void*, std::size_t) noexcept {}
#endif

struct FreeBlock {
  FreeBlock* next;
};

struct Cache;

enum class Where : std::uint8_t { current, avail, full, depot };

// The header at the start of every page. Fields marked "owner" are touched only by the owning thread
// (or, for a page in the depot, under the depot's lock).
struct alignas(64) Page {
  FreeBlock* free;  // owner
  char* bump;       // owner: the never-used tail [bump, end)
  char* end;
  Page* prev;  // owner: links in the class's avail or full list
  Page* next;
  std::uint32_t used;  // owner: blocks handed out and not yet back in `free` (remote ones count)
  std::uint16_t cls;
  Where where;
  std::atomic<FreeBlock*> remote;  // blocks freed by other threads
  std::atomic<Cache*> owner;       // nullptr: in the depot, or its thread is exiting

  char* first_block() noexcept { return reinterpret_cast<char*>(this) + sizeof(Page); }
};
static_assert(sizeof(Page) % kGranule == 0);

Page* page_of(void* p) noexcept {
  return reinterpret_cast<Page*>(reinterpret_cast<std::uintptr_t>(p) & ~(kPageSize - 1));
}

/// Doubly linked list of pages (owner only).
struct PageList {
  Page* head = nullptr;
  Page* tail = nullptr;
  bool empty() const noexcept { return head == nullptr; }
  void push_back(Page* p) noexcept {
    p->next = nullptr;
    p->prev = tail;
    (tail ? tail->next : head) = p;
    tail = p;
  }
  void remove(Page* p) noexcept {
    (p->prev ? p->prev->next : head) = p->next;
    (p->next ? p->next->prev : tail) = p->prev;
    p->prev = p->next = nullptr;
  }
  Page* pop_front() noexcept {
    Page* p = head;
    if (p) remove(p);
    return p;
  }
};

struct ClassPages {
  Page* current;
  PageList avail;  // pages with blocks to hand out, besides the current one
  PageList full;   // pages with none, unless other threads freed into them since
};

// Trivially destructible, so that reaching it from the hot path costs no TLS-initialization check.
struct Cache {
  ClassPages cls[kClasses];
  char* chunk_next;
  char* chunk_end;
  std::size_t next_chunk;
  bool reaper_armed;
  bool exiting;
};
constinit thread_local Cache t_cache{};

// 0: not decided yet, 1: on, 2: off. Decided once, the first time anyone asks; never changes after.
constinit std::atomic<int> g_state{0};
bool enabled() noexcept {
  int s = g_state.load(std::memory_order_relaxed);
  if (s == 0) {
    const char* v = std::getenv("TANDEM_AIO_POOL");
    const bool on = v && *v ? std::strcmp(v, "0") != 0 : !kSanitized;
    int decided = on ? 1 : 2;
    g_state.compare_exchange_strong(s, decided, std::memory_order_relaxed);
    s = g_state.load(std::memory_order_relaxed);
  }
  return s == 1;
}

std::size_t class_of(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule; }

// ---- pages -------------------------------------------------------------------------------------------

void* map_chunk(std::size_t size) {
  // Aligned to the page size (so page_of works), and huge-page sized chunks to 2 MiB, so that the
  // kernel can back them with transparent huge pages.
  const std::size_t align = size >= kHugePage ? kHugePage : kPageSize;
  void* m = ::mmap(nullptr, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  auto* raw = static_cast<char*>(m);
  auto addr = reinterpret_cast<std::uintptr_t>(raw);
  char* base = raw + ((align - addr % align) % align);
  if (base > raw) ::munmap(raw, static_cast<std::size_t>(base - raw));
  if (char* stop = raw + size + align; stop > base + size) ::munmap(base + size, static_cast<std::size_t>(stop - (base + size)));
  if (size >= kHugePage) ::madvise(base, size, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  // One call faults the whole chunk in, instead of one trap per 4 KiB on first touch. Older kernels
  // refuse it (EINVAL): the pages then fault in lazily, as with any allocation.
  ::madvise(base, size, MADV_POPULATE_WRITE);
#endif
  return base;
}

Page* new_page(std::size_t c) {
  Cache& t = t_cache;
  if (t.chunk_next == t.chunk_end) {
    std::size_t size = std::max(t.next_chunk, kFirstChunk);
    t.chunk_next = static_cast<char*>(map_chunk(size));
    t.chunk_end = t.chunk_next + size;
    t.next_chunk = std::min(size * 2, kMaxChunk);
  }
  auto* p = new (t.chunk_next) Page{};
  t.chunk_next += kPageSize;
  const std::size_t bytes = c * kGranule;
  p->cls = static_cast<std::uint16_t>(c);
  p->bump = p->first_block();
  p->end = p->bump + (kPageSize - sizeof(Page)) / bytes * bytes;
  return p;
}

/// Takes back the blocks other threads freed into p. Returns whether there were any.
bool collect_remote(Page* p) noexcept {
  FreeBlock* r = p->remote.exchange(nullptr, std::memory_order_acquire);
  if (!r) return false;
  std::uint32_t n = 1;
  FreeBlock* last = r;
  while (last->next) {
    last = last->next;
    ++n;
  }
  last->next = p->free;
  p->free = r;
  p->used -= n;
  return true;
}

/// Hands out one block of p (which must have one in `free` or the bump range).
void* take_block(Page* p, std::size_t bytes) noexcept {
  ++p->used;
  void* out;
  if (FreeBlock* b = p->free) {
    p->free = b->next;
    out = b;
  } else {
    out = p->bump;
    p->bump += bytes;
  }
  unpoison(out, bytes);
  return out;
}

bool has_block(Page* p, std::size_t bytes) noexcept {
  return p->free || p->bump + bytes <= p->end || collect_remote(p);
}

// ---- the depot: pages of threads that exited ---------------------------------------------------------

struct Depot {
  std::mutex mu;
  std::vector<Page*> pages[kClasses];
};
Depot& depot() {
  static Depot* d = [] {
    auto* made = new Depot;  // never destroyed: threads may exit after static destruction began
    // A fork while another thread holds the lock would leave the child's depot locked for good.
    ::pthread_atfork([] { depot().mu.lock(); }, [] { depot().mu.unlock(); }, [] { depot().mu.unlock(); });
    return made;
  }();
  return *d;
}

Page* depot_adopt(std::size_t c) {
  Depot& d = depot();
  std::lock_guard lock(d.mu);
  auto& v = d.pages[c];
  if (v.empty()) return nullptr;
  Page* p = v.back();
  v.pop_back();
  p->owner.store(&t_cache, std::memory_order_relaxed);
  return p;
}

/// Allocation by a thread whose pages went to the depot already (from a thread_local destructor):
/// served from depot pages under the lock, so the thread owns nothing it could leave behind.
void* depot_allocate(std::size_t c) {
  Depot& d = depot();
  const std::size_t bytes = c * kGranule;
  std::lock_guard lock(d.mu);
  for (Page* p : d.pages[c])
    if (has_block(p, bytes)) return take_block(p, bytes);
  Page* p = new_page(c);  // from this thread's chunk remainder, or a new chunk
  p->where = Where::depot;
  d.pages[c].push_back(p);
  return take_block(p, bytes);
}

struct Reaper {
  ~Reaper() {
    Cache& t = t_cache;
    t.exiting = true;
    Depot& d = depot();
    std::lock_guard lock(d.mu);
    auto give = [&](std::size_t c, Page* p) noexcept {
      p->owner.store(nullptr, std::memory_order_release);  // from now on, every free is a remote one
      p->where = Where::depot;
      try {
        d.pages[c].push_back(p);
      } catch (...) {  // no memory for the depot's bookkeeping: the page stays unused
      }
    };
    for (std::size_t c = 1; c < kClasses; ++c) {
      ClassPages& s = t.cls[c];
      if (s.current) give(c, std::exchange(s.current, nullptr));
      while (Page* p = s.avail.pop_front()) give(c, p);
      while (Page* p = s.full.pop_front()) give(c, p);
    }
  }
};

void* allocate_slow(std::size_t c) {
  Cache& t = t_cache;
  if (t.exiting) return depot_allocate(c);
  if (!t.reaper_armed) {
    thread_local Reaper reaper;  // hands this thread's pages on when it exits
    t.reaper_armed = true;
  }
  const std::size_t bytes = c * kGranule;
  ClassPages& s = t.cls[c];
  if (Page* p = s.current) {
    if (has_block(p, bytes)) return take_block(p, bytes);
    p->where = Where::full;
    s.full.push_back(p);
    s.current = nullptr;
  }
  Page* next = nullptr;
  while (!next && !s.avail.empty()) {
    Page* p = s.avail.pop_front();
    if (has_block(p, bytes)) {
      next = p;
    } else {
      p->where = Where::full;
      s.full.push_back(p);
    }
  }
  // Full pages get blocks back only from other threads; look at a few, oldest first, before growing.
  for (int i = 0; !next && i < kFullPagesCheckedPerNewPage && !s.full.empty(); ++i) {
    Page* p = s.full.pop_front();
    if (p->remote.load(std::memory_order_relaxed) && collect_remote(p))
      next = p;
    else
      s.full.push_back(p);
  }
  if (!next) {
    next = depot_adopt(c);
    if (next && !has_block(next, bytes)) {  // adopted but full: keep it, look again later
      next->where = Where::full;
      s.full.push_back(next);
      next = nullptr;
    }
  }
  if (!next) {
    next = new_page(c);
    next->owner.store(&t, std::memory_order_relaxed);
  }
  next->where = Where::current;
  s.current = next;
  return take_block(next, bytes);
}

void free_local(Page* p, FreeBlock* b) noexcept {
  b->next = p->free;
  p->free = b;
  if (--p->used == 0) {  // every block is back: hand them out again in address order
    p->free = nullptr;
    p->bump = p->first_block();
  }
  if (p->where == Where::full) {
    ClassPages& s = t_cache.cls[p->cls];
    s.full.remove(p);
    p->where = Where::avail;
    s.avail.push_back(p);
  }
}

void free_remote(Page* p, FreeBlock* b) noexcept {
  FreeBlock* head = p->remote.load(std::memory_order_relaxed);
  do {
    b->next = head;
  } while (!p->remote.compare_exchange_weak(head, b, std::memory_order_release, std::memory_order_relaxed));
}

}  // namespace

bool pool_enabled() noexcept { return enabled(); }

void* pool_allocate(std::size_t size) {
  if (size > kMaxPooled || !enabled()) return ::operator new(size);
  const std::size_t c = class_of(size);
  if (Page* p = t_cache.cls[c].current; p && p->free) return take_block(p, c * kGranule);
  return allocate_slow(c);
}

void pool_deallocate(void* ptr, std::size_t size) noexcept {
  if (size > kMaxPooled || !enabled()) {
    ::operator delete(ptr, size);
    return;
  }
  Page* p = page_of(ptr);
  auto* b = static_cast<FreeBlock*>(ptr);
  poison(b + 1, p->cls * kGranule - sizeof(FreeBlock));  // all but the link the lists write
  if (p->owner.load(std::memory_order_relaxed) == &t_cache)
    free_local(p, b);
  else
    free_remote(p, b);
}

}  // namespace tandem::aio::detail
