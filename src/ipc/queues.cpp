// The queue's file:
//
//   [0, 256)                        QueueState: counters, futex words, the robust mutex
//   [256, 256 + capacity)           the ring of records, each [u32 length | kSpillFlag][payload]
//   [blob_start, ...)               spilled items (larger than half the ring), never mapped
//
// Every process maps only the first two parts (a received queue maps as much as its sender: see
// SegmentRef::size). A spilled item is written with pwrite and read with pread, so a full tmpfs is an
// error from pwrite (ENOSPC) rather than a SIGBUS, and a large item costs no address space. Its ring
// record is a SpillRecord {window, pos, len} instead of the bytes. It has no name, so nothing can
// outlive the queue's file: an anonymous queue's memfd goes with its last descriptor or mapping, a
// named queue's file with its name.
//
// Where spilled items go: windows, each a byte ring of F·2^k bytes (F = 16 pages) placed at
// blob_start + F·2^k − F, so windows of different sizes never overlap. Items are page aligned and may
// wrap around their window's end (pread/pwrite do not need the bytes contiguous). Allocation and release
// both happen under the mutex in record order, so the live items of a window are one contiguous run
// [window_tail − window_used, window_tail). When the current window has no room, a larger one is opened
// above it and the items already stored stay where they are; when no spilled item is left the file is
// truncated back to header and ring, and the next item starts again in the smallest window that fits. A
// taken item's pages are punched out (FALLOC_FL_PUNCH_HOLE), so memory follows what the queue holds and
// the file's apparent size stays below blob_start + 2·(largest window) ≈ 4 × the most it held at once.
#include "tandem/ipc/queues.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../sys/errors.hpp"
#include "../sys/futex.hpp"
#include "robust_mutex.hpp"

namespace tandem::ipc::detail {

namespace {

constexpr std::uint32_t kQueueMagic = 0x51554532;  // "QUE2": spilled items live in the queue's own file
constexpr std::size_t kDataOffset = 256;
constexpr std::uint32_t kSpillFlag = 0x80000000u;

struct QueueState {
  std::atomic<std::uint32_t> magic;
  std::atomic<std::uint32_t> not_empty;  // futex sequence words
  std::atomic<std::uint32_t> not_full;
  std::atomic<std::uint32_t> waiting_get;
  std::atomic<std::uint32_t> waiting_put;
  std::uint32_t maxsize;
  std::uint64_t capacity;
  // Changed only under the mutex. An item is committed when `tail` moves past it.
  std::uint64_t head;
  std::uint64_t tail;
  std::atomic<std::uint64_t> count;
  // Spilled items (see the top of this file). Set at creation:
  std::uint64_t page;          // alignment of every spilled item
  std::uint64_t first_window;  // F
  std::uint64_t blob_start;    // file offset of the first window, after the ring
  // Changed under the mutex after each commit; repair() recomputes them from the records:
  std::uint64_t window;         // size of the current window (0 before the first spilled item)
  std::uint64_t window_tail;    // where the next item goes in it
  std::uint64_t window_used;    // bytes its live items occupy
  std::uint64_t spilled_bytes;  // bytes all live spilled items occupy, in every window
  RobustMutex mutex;
};
static_assert(sizeof(QueueState) <= kDataOffset);

/// The ring record of a spilled item.
struct SpillRecord {
  std::uint64_t window;  // size of the window it is in (which identifies the window)
  std::uint64_t pos;     // where it starts in that window
  std::uint64_t len;     // its length in bytes
};

class Ring {
 public:
  Ring(QueueState* s, char* data) : s_(s), data_(data) {}
  void write(std::uint64_t pos, const void* src, std::size_t n) {
    std::size_t off = pos % s_->capacity;
    std::size_t first = std::min<std::size_t>(n, s_->capacity - off);
    std::memcpy(data_ + off, src, first);
    std::memcpy(data_, static_cast<const char*>(src) + first, n - first);
  }
  void read(std::uint64_t pos, void* dst, std::size_t n) const {
    std::size_t off = pos % s_->capacity;
    std::size_t first = std::min<std::size_t>(n, s_->capacity - off);
    std::memcpy(dst, data_ + off, first);
    std::memcpy(static_cast<char*>(dst) + first, data_, n - first);
  }

 private:
  QueueState* s_;
  char* data_;
};

/// The spilled items' part of the file, used under the mutex.
class SpillArea {
 public:
  SpillArea(QueueState* s, int fd) : s_(s), fd_(fd) {}

  /// Bytes an item of `len` bytes occupies (whole pages, so that punching it frees exactly its pages).
  std::uint64_t footprint(std::uint64_t len) const { return (std::max<std::uint64_t>(len, 1) + s_->page - 1) / s_->page * s_->page; }

  /// Chooses the item's place and writes it there. Throws std::system_error (e.g. ENOSPC: /dev/shm or
  /// memory is full) having given back what it wrote; the queue is unchanged but for the window choice.
  SpillRecord store(std::span<const char> item) {
    const std::uint64_t size = footprint(item.size());
    if (s_->spilled_bytes == 0) {
      // Nothing spilled is waiting: start again in the smallest window that fits, at the bottom.
      s_->window = window_for(size, 0);
      s_->window_tail = 0;
      s_->window_used = 0;
    } else if (s_->window_used + size > s_->window) {
      // No room in the current window: open a larger one, above every window still holding items.
      s_->window = window_for(size, s_->window);
      s_->window_tail = 0;
      s_->window_used = 0;
    }
    SpillRecord rec{s_->window, s_->window_tail, item.size()};
    try {
      for_each_extent(rec, rec.len, [&](std::uint64_t off, std::uint64_t n, std::uint64_t at) {
        write_at(item.data() + at, n, off);
      });
    } catch (const std::system_error& e) {
      punch(rec);
      sys::throw_errno("ipc::Queue: cannot store an item of " + std::to_string(item.size()) +
                           " bytes in the queue's shared memory (is /dev/shm or memory full?)",
                       e.code().value());
    }
    return rec;
  }

  /// Reads a stored item into `out` (rec.len bytes). Throws std::system_error.
  void load(const SpillRecord& rec, char* out) const {
    for_each_extent(rec, rec.len, [&](std::uint64_t off, std::uint64_t n, std::uint64_t at) {
      read_at(out + at, n, off);
    });
  }

  /// The item's record was committed to the ring.
  void added(const SpillRecord& rec) {
    const std::uint64_t size = footprint(rec.len);
    s_->window_tail = (rec.pos + size) % rec.window;
    s_->window_used += size;
    s_->spilled_bytes += size;
  }

  /// The item was taken (its record is gone from the ring): give its memory back.
  void removed(const SpillRecord& rec) {
    const std::uint64_t size = footprint(rec.len);
    s_->spilled_bytes -= std::min(size, s_->spilled_bytes);
    if (rec.window == s_->window) s_->window_used -= std::min(size, s_->window_used);
    if (s_->spilled_bytes == 0 && truncate_to_ring()) return;
    punch(rec);
  }

  /// After a process died holding the mutex: recount from the committed records, and give back every
  /// page no live item holds (what a dead producer half wrote, what a dead consumer had not punched).
  void repair(const std::vector<SpillRecord>& live) {
    s_->spilled_bytes = 0;
    s_->window_used = 0;
    s_->window_tail = 0;
    for (const auto& rec : live) {
      s_->spilled_bytes += footprint(rec.len);
      if (rec.window == s_->window) added_to_window(rec);
    }
    if (live.empty()) {
      if (!truncate_to_ring()) punch_range(s_->blob_start, file_size());
      return;
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> held;  // [begin, end) in the file
    for (const auto& rec : live)
      for_each_extent(rec, footprint(rec.len),
                      [&](std::uint64_t off, std::uint64_t n, std::uint64_t) { held.emplace_back(off, off + n); });
    std::sort(held.begin(), held.end());
    std::uint64_t free_from = s_->blob_start;
    for (const auto& [begin, end] : held) {
      if (begin > free_from) punch_range(free_from, begin);
      free_from = std::max(free_from, end);
    }
    punch_range(free_from, file_size());
  }

 private:
  std::uint64_t window_offset(std::uint64_t window) const { return s_->blob_start + window - s_->first_window; }

  std::uint64_t window_for(std::uint64_t size, std::uint64_t larger_than) const {
    std::uint64_t w = s_->first_window;
    while (w < size || w <= larger_than) w *= 2;
    return w;
  }

  void added_to_window(const SpillRecord& rec) {
    s_->window_tail = (rec.pos + footprint(rec.len)) % rec.window;
    s_->window_used += footprint(rec.len);
  }

  // Calls f(file offset, bytes, offset in the item) for the one or two pieces of the item's first
  // `bytes` bytes (the second piece when it wraps around its window's end).
  template <class F>
  void for_each_extent(const SpillRecord& rec, std::uint64_t bytes, F&& f) const {
    const std::uint64_t base = window_offset(rec.window);
    const std::uint64_t first = std::min(bytes, rec.window - rec.pos);
    if (first > 0) f(base + rec.pos, first, 0);
    if (bytes > first) f(base, bytes - first, first);
  }

  void punch(const SpillRecord& rec) const {
    for_each_extent(rec, footprint(rec.len),
                    [&](std::uint64_t off, std::uint64_t n, std::uint64_t) { punch_range(off, off + n); });
  }

  // Best effort: a file system without hole punching keeps the pages until the queue is gone.
  void punch_range(std::uint64_t begin, std::uint64_t end) const {
    if (end > begin)
      fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(begin),
                static_cast<off_t>(end - begin));
  }

  // Back to the file's first size: header and ring only.
  bool truncate_to_ring() const { return ftruncate(fd_, static_cast<off_t>(kDataOffset + s_->capacity)) == 0; }

  std::uint64_t file_size() const {
    struct stat st{};
    return fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

  void write_at(const char* p, std::uint64_t n, std::uint64_t off) const {
    while (n > 0) {
      ssize_t w = pwrite(fd_, p, n, static_cast<off_t>(off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) sys::throw_errno("pwrite", w < 0 ? errno : ENOSPC);
      p += w;
      n -= static_cast<std::uint64_t>(w);
      off += static_cast<std::uint64_t>(w);
    }
  }

  void read_at(char* p, std::uint64_t n, std::uint64_t off) const {
    while (n > 0) {
      ssize_t r = pread(fd_, p, n, static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) sys::throw_errno("ipc::Queue: cannot read a spilled item", errno);
      if (r == 0) sys::throw_errno("ipc::Queue: a spilled item is cut short (was the queue's file truncated?)", EIO);
      p += r;
      n -= static_cast<std::uint64_t>(r);
      off += static_cast<std::uint64_t>(r);
    }
  }

  QueueState* s_;
  int fd_;
};

QueueState* state(void* raw) { return static_cast<QueueState*>(raw); }

// After taking the lock from a holder that died: make the counters agree with the committed records
// again, and give back the spilled pages nothing refers to.
void repair(QueueState* s, const Ring& ring, SpillArea& spill) noexcept {
  std::uint64_t n = 0;
  std::vector<SpillRecord> live;
  bool listed = true;
  for (std::uint64_t pos = s->head; pos < s->tail;) {
    std::uint32_t len;
    ring.read(pos, &len, 4);
    if (len & kSpillFlag) {
      SpillRecord rec;
      ring.read(pos + 4, &rec, sizeof rec);
      try {
        if (listed) live.push_back(rec);
      } catch (...) {
        listed = false;  // out of memory: recount as well as possible, reclaim nothing
      }
    }
    pos += 4 + (len & ~kSpillFlag);
    ++n;
  }
  s->count.store(n);
  try {
    if (listed) spill.repair(live);
  } catch (...) {
  }
}

class QueueLock {
 public:
  QueueLock(QueueState* s, const Ring& ring, SpillArea& spill) : s_(s), ring_(ring), spill_(spill) {
    if (s_->mutex.lock() == LockResult::acquired_owner_died) repair(s_, ring_, spill_);
  }
  ~QueueLock() {
    if (held_) s_->mutex.unlock();
  }
  QueueLock(const QueueLock&) = delete;
  QueueLock& operator=(const QueueLock&) = delete;
  // Sleeps on `seq` (a futex word) with the lock released; false once the deadline passed.
  bool wait(std::atomic<std::uint32_t>& seq, std::atomic<std::uint32_t>& waiting, const OptDeadline& deadline) {
    std::uint32_t seen = seq.load();
    waiting.fetch_add(1);
    s_->mutex.unlock();
    held_ = false;
    bool in_time = sys::shared_futex_wait(&seq, seen, deadline);
    waiting.fetch_sub(1);
    if (s_->mutex.lock() == LockResult::acquired_owner_died) repair(s_, ring_, spill_);
    held_ = true;
    return in_time || !deadline || Clock::now() < *deadline;
  }

 private:
  QueueState* s_;
  const Ring& ring_;
  SpillArea& spill_;
  bool held_ = true;
};

void signal_seq(std::atomic<std::uint32_t>& seq, std::atomic<std::uint32_t>& waiting) {
  seq.fetch_add(1);
  if (waiting.load() != 0) sys::shared_futex_wake_all(&seq);
}

}  // namespace

ByteQueue::ByteQueue(std::size_t maxsize, std::size_t ring_bytes)
    : SharedObject(kDataOffset + std::max<std::size_t>(ring_bytes, 64)) {
  init(maxsize, ring_bytes);
}
ByteQueue::ByteQueue(named_t, std::size_t maxsize, std::size_t ring_bytes)
    : SharedObject(named, kDataOffset + std::max<std::size_t>(ring_bytes, 64)) {
  init(maxsize, ring_bytes);
}
ByteQueue::ByteQueue(adopt_segment_t, std::shared_ptr<SharedMemory> seg)
    : SharedObject(std::move(seg), kQueueMagic, kDataOffset, "Queue") {
  if (segment()->size() < kDataOffset + state(raw())->capacity)
    throw CodecError("tandem codec: the received Queue segment is smaller than its ring");
}

void ByteQueue::init(std::size_t maxsize, std::size_t ring_bytes) {
  if (maxsize > 0x7fffffff) throw std::invalid_argument("ipc::Queue: maxsize too large");
  auto* s = new (raw()) QueueState{};
  s->maxsize = static_cast<std::uint32_t>(maxsize);
  s->capacity = std::max<std::size_t>(ring_bytes, 64);
  s->page = std::max<std::uint64_t>(static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)), 4096);
  s->first_window = 16 * s->page;
  s->blob_start = (kDataOffset + s->capacity + s->page - 1) / s->page * s->page;
  s->mutex.init();
  s->magic.store(kQueueMagic);
}

std::size_t ByteQueue::maxsize() const noexcept { return state(raw())->maxsize; }
std::size_t ByteQueue::qsize() const { return static_cast<std::size_t>(state(raw())->count.load()); }

bool ByteQueue::put_bytes(std::span<const char> message, const QueueDeadline& deadline) {
  auto* s = state(raw());
  Ring ring(s, static_cast<char*>(raw()) + kDataOffset);
  SpillArea spill(s, segment()->fd());
  // Items bigger than half the ring are stored beyond it: the ring carries where.
  const bool spilled = message.size() + 4 > s->capacity / 2 || message.size() >= kSpillFlag;
  const std::uint64_t need = 4 + (spilled ? sizeof(SpillRecord) : message.size());
  QueueLock lock(s, ring, spill);
  for (;;) {
    bool room = (s->maxsize == 0 || s->count.load() < s->maxsize) && s->capacity - (s->tail - s->head) >= need;
    if (room) break;
    if (!lock.wait(s->not_full, s->waiting_put, deadline)) return false;
  }
  SpillRecord rec{};
  if (spilled) {
    rec = spill.store(message);  // may throw: nothing is committed
    const std::uint32_t len = kSpillFlag | static_cast<std::uint32_t>(sizeof rec);
    ring.write(s->tail, &len, 4);
    ring.write(s->tail + 4, &rec, sizeof rec);
  } else {
    const std::uint32_t len = static_cast<std::uint32_t>(message.size());
    ring.write(s->tail, &len, 4);
    ring.write(s->tail + 4, message.data(), message.size());
  }
  s->count.fetch_add(1);
  s->tail += need;  // commit
  if (spilled) spill.added(rec);
  signal_seq(s->not_empty, s->waiting_get);
  return true;
}

bool ByteQueue::get_bytes(std::vector<char>& out, const QueueDeadline& deadline) {
  auto* s = state(raw());
  Ring ring(s, static_cast<char*>(raw()) + kDataOffset);
  SpillArea spill(s, segment()->fd());
  QueueLock lock(s, ring, spill);
  while (s->head == s->tail)
    if (!lock.wait(s->not_empty, s->waiting_get, deadline)) return false;
  std::uint32_t len;
  ring.read(s->head, &len, 4);
  const std::uint32_t n = len & ~kSpillFlag;
  SpillRecord rec{};
  if (len & kSpillFlag) {
    ring.read(s->head + 4, &rec, sizeof rec);
    out.resize(rec.len);
    spill.load(rec, out.data());  // may throw: the item stays in the queue
  } else {
    out.resize(n);
    ring.read(s->head + 4, out.data(), n);
  }
  s->head += 4 + n;  // commit
  s->count.fetch_sub(1);
  if (len & kSpillFlag) spill.removed(rec);
  signal_seq(s->not_full, s->waiting_put);
  return true;
}

void ByteQueue::die_in_the_middle_of_put_for_testing(std::span<const char> message) {
  auto* s = state(raw());
  Ring ring(s, static_cast<char*>(raw()) + kDataOffset);
  SpillArea spill(s, segment()->fd());
  s->mutex.lock();
  if (message.size() + 4 > s->capacity / 2) {
    SpillRecord rec = spill.store(message);  // stored, but its record is never committed
    const std::uint32_t len = kSpillFlag | static_cast<std::uint32_t>(sizeof rec);
    ring.write(s->tail, &len, 4);
    ring.write(s->tail + 4, &rec, sizeof rec / 2);
  } else {
    const std::uint32_t len = static_cast<std::uint32_t>(message.size());
    ring.write(s->tail, &len, 4);
    ring.write(s->tail + 4, message.data(), message.size() / 2);
  }
  s->count.fetch_add(1);  // counted but never committed
  raise(SIGKILL);
  std::abort();
}

}  // namespace tandem::ipc::detail
