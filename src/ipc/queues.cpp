#include "tandem/queues.hpp"

#include <signal.h>

#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "futex.hpp"
#include "robust_mutex.hpp"

namespace tandem::ipc::detail {

namespace {

constexpr std::uint32_t kQueueMagic = 0x51554531;  // "QUE1"
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
  RobustMutex mutex;
};
static_assert(sizeof(QueueState) <= kDataOffset);

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

QueueState* state(void* raw) { return static_cast<QueueState*>(raw); }

// After taking the lock from a holder that died: make `count` agree with the committed records again.
void repair(QueueState* s, const Ring& ring) {
  std::uint64_t n = 0;
  for (std::uint64_t pos = s->head; pos < s->tail;) {
    std::uint32_t len;
    ring.read(pos, &len, 4);
    pos += 4 + (len & ~kSpillFlag);
    ++n;
  }
  s->count.store(n);
}

class QueueLock {
 public:
  QueueLock(QueueState* s, const Ring& ring) : s_(s) {
    if (s_->mutex.lock() == LockResult::acquired_owner_died) repair(s_, ring);
  }
  ~QueueLock() {
    if (held_) s_->mutex.unlock();
  }
  QueueLock(const QueueLock&) = delete;
  QueueLock& operator=(const QueueLock&) = delete;
  // Sleeps on `seq` (a futex word) with the lock released; false once the deadline passed.
  bool wait(std::atomic<std::uint32_t>& seq, std::atomic<std::uint32_t>& waiting, const OptDeadline& deadline,
            const Ring& ring) {
    std::uint32_t seen = seq.load();
    waiting.fetch_add(1);
    s_->mutex.unlock();
    held_ = false;
    bool in_time = futex_wait(&seq, seen, deadline);
    waiting.fetch_sub(1);
    if (s_->mutex.lock() == LockResult::acquired_owner_died) repair(s_, ring);
    held_ = true;
    return in_time || !deadline || Clock::now() < *deadline;
  }

 private:
  QueueState* s_;
  bool held_ = true;
};

void signal_seq(std::atomic<std::uint32_t>& seq, std::atomic<std::uint32_t>& waiting) {
  seq.fetch_add(1);
  if (waiting.load() != 0) futex_wake_all(&seq);
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
  s->mutex.init();
  s->magic.store(kQueueMagic);
}

std::size_t ByteQueue::maxsize() const noexcept { return state(raw())->maxsize; }
std::size_t ByteQueue::qsize() const { return static_cast<std::size_t>(state(raw())->count.load()); }

bool ByteQueue::put_bytes(std::span<const char> message, const QueueDeadline& deadline) {
  auto* s = state(raw());
  Ring ring(s, static_cast<char*>(raw()) + kDataOffset);
  // Items bigger than half the ring travel in their own segment: the ring carries its name.
  std::optional<SharedMemory> spill;
  std::span<const char> payload = message;
  std::uint32_t flag = 0;
  if (message.size() + 4 > s->capacity / 2) {
    spill = SharedMemory::create(message.empty() ? 1 : message.size());
    std::memcpy(spill->data(), message.data(), message.size());
    payload = {spill->name().data(), spill->name().size()};
    flag = kSpillFlag;
  }
  if (payload.size() + 4 > s->capacity) throw std::length_error("ipc::Queue: ring too small for a segment name");
  const std::uint64_t need = 4 + payload.size();
  {
    QueueLock lock(s, ring);
    for (;;) {
      bool room = (s->maxsize == 0 || s->count.load() < s->maxsize) && s->capacity - (s->tail - s->head) >= need;
      if (room) break;
      if (!lock.wait(s->not_full, s->waiting_put, deadline, ring)) return false;  // the spill unlinks itself
    }
    std::uint32_t len = static_cast<std::uint32_t>(payload.size()) | flag;
    ring.write(s->tail, &len, 4);
    ring.write(s->tail + 4, payload.data(), payload.size());
    s->count.fetch_add(1);
    s->tail += need;  // commit
    if (spill) spill->keep_name();  // from here on the consumer owns (and unlinks) the segment
    signal_seq(s->not_empty, s->waiting_get);
  }
  return true;
}

bool ByteQueue::get_bytes(std::vector<char>& out, const QueueDeadline& deadline) {
  auto* s = state(raw());
  Ring ring(s, static_cast<char*>(raw()) + kDataOffset);
  QueueLock lock(s, ring);
  for (;;) {
    if (s->head == s->tail) {
      if (!lock.wait(s->not_empty, s->waiting_get, deadline, ring)) return false;
      continue;
    }
    std::uint32_t len;
    ring.read(s->head, &len, 4);
    const std::uint32_t n = len & ~kSpillFlag;
    bool lost = false;
    if (len & kSpillFlag) {
      std::string name(n, '\0');
      ring.read(s->head + 4, name.data(), n);
      try {
        auto seg = SharedMemory::attach(name);
        out.assign(static_cast<const char*>(seg.data()), static_cast<const char*>(seg.data()) + seg.size());
        seg.unlink();
      } catch (const FileNotFoundError&) {
        lost = true;  // a consumer died after unlinking it but before committing: the item is gone
      }
    } else {
      out.resize(n);
      ring.read(s->head + 4, out.data(), n);
    }
    s->head += 4 + n;  // commit
    s->count.fetch_sub(1);
    signal_seq(s->not_full, s->waiting_put);
    if (!lost) return true;
  }
}

void ByteQueue::die_in_the_middle_of_put_for_testing(std::span<const char> message) {
  auto* s = state(raw());
  Ring ring(s, static_cast<char*>(raw()) + kDataOffset);
  s->mutex.lock();
  std::uint32_t len = static_cast<std::uint32_t>(message.size());
  ring.write(s->tail, &len, 4);
  ring.write(s->tail + 4, message.data(), message.size() / 2);
  s->count.fetch_add(1);  // counted but never committed
  raise(SIGKILL);
  std::abort();
}

}  // namespace tandem::ipc::detail
