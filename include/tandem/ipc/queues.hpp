// tandem/ipc/queues.hpp — FIFO queues between processes (Python: multiprocessing.Queue, SimpleQueue).
//
// ```cpp body
//   void consume(tandem::ipc::Queue<std::string> jobs, tandem::ipc::Queue<std::string> results);
//   tandem::ipc::Queue<std::string> jobs(100), results;   // at most 100 items waiting; unbounded
//   tandem::Process worker(&consume, jobs, results);
//   worker.start();
//   jobs.put("work");
//   std::optional<std::string> r = results.get(std::chrono::seconds(1));   // empty on timeout
// ```
//
// The items live in a shared-memory ring (no feeder thread, no pipe): put() copies the encoded item in,
// get() copies it out, and a blocked side sleeps on a futex. Items of any size cross: one larger than
// half the ring is stored in the queue's own file beyond the ring (with pwrite/pread, never mapped) and
// the ring carries where; get() hands its pages back to the system. Such an item has no name of its
// own, so a queue leaves nothing behind in /dev/shm: dropped with items still in it, or with any of its
// processes killed at any moment. Big items are copied under the queue's lock (other puts and gets wait
// for the copy). When a big item finds no room (a full /dev/shm for a named queue, a file size limit),
// put() throws std::system_error (ENOSPC, EFBIG) instead of crashing, and the queue stays usable. The file's apparent size (ls -l) can exceed what the queue
// holds, up to about 4 times the most it held at once; it is not memory, and it drops back whenever the
// queue holds no big item.
//
// Dead processes: the ring is guarded by a robust lock and an item becomes visible only when it is
// completely written, so a producer killed in the middle of put() leaves no partial item behind and the
// consumer is not wedged; a consumer killed in the middle of get() leaves the item in the queue. The
// next process to take the lock gives back whatever memory the dead one held.
//
// Like every ipc object, a queue reaches a child as a Process argument (or travels by name if created
// with ipc::named). Copies of the handle share the queue.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tandem/ipc/codec.hpp"
#include "tandem/ipc/shared_memory.hpp"

namespace tandem::ipc {

namespace detail {

using QueueClock = std::chrono::steady_clock;
using QueueDeadline = std::optional<QueueClock::time_point>;

/// The untyped queue: byte messages in a shared ring.
class ByteQueue : public SharedObject {
 public:
  ByteQueue(std::size_t maxsize, std::size_t ring_bytes);
  ByteQueue(named_t, std::size_t maxsize, std::size_t ring_bytes);
  ByteQueue(adopt_segment_t, std::shared_ptr<SharedMemory> seg);

  /// false: the deadline passed with no room.
  bool put_bytes(std::span<const char> message, const QueueDeadline& deadline);
  /// false: the deadline passed with nothing to take.
  bool get_bytes(std::vector<char>& out, const QueueDeadline& deadline);
  std::size_t qsize() const;
  std::size_t maxsize() const noexcept;

  /// Test hook for fault injection: takes the lock, writes part of a record (a big message: all of its
  /// bytes, part of its record) and a wrong count, then SIGKILLs the calling process, exactly like a
  /// producer dying in the middle of put(). Never returns.
  [[noreturn]] void die_in_the_middle_of_put_for_testing(std::span<const char> message);

 private:
  void init(std::size_t maxsize, std::size_t ring_bytes);
};

template <class Rep, class Period>
QueueDeadline queue_deadline(std::chrono::duration<Rep, Period> timeout) {
  return QueueClock::now() + std::chrono::ceil<QueueClock::duration>(timeout);
}

}  // namespace detail

/// A bounded (maxsize > 0) or unbounded (maxsize 0: limited only by the ring) multi-producer
/// multi-consumer queue of T between processes (Python: multiprocessing.Queue).
template <class T>
class Queue : public detail::ByteQueue {
 public:
  explicit Queue(std::size_t maxsize = 0, std::size_t ring_bytes = std::size_t{1} << 16)
      : ByteQueue(maxsize, ring_bytes) {}
  Queue(named_t, std::size_t maxsize = 0, std::size_t ring_bytes = std::size_t{1} << 16)
      : ByteQueue(named, maxsize, ring_bytes) {}
  Queue(detail::adopt_segment_t tag, std::shared_ptr<SharedMemory> seg) : ByteQueue(tag, std::move(seg)) {}

  /// Blocks while the queue is full. Throws std::system_error if there is no memory for a big item.
  void put(const T& item) { put_until(item, {}); }
  /// false if still full when the timeout runs out (Python raises queue.Full).
  template <class Rep, class Period>
  bool put(const T& item, std::chrono::duration<Rep, Period> timeout) {
    return put_until(item, detail::queue_deadline(timeout));
  }
  bool put_nowait(const T& item) { return put_until(item, detail::QueueClock::now()); }

  /// Blocks until an item is available.
  T get() { return *get_until({}); }
  /// Empty if nothing arrived in time (Python raises queue.Empty).
  template <class Rep, class Period>
  std::optional<T> get(std::chrono::duration<Rep, Period> timeout) {
    return get_until(detail::queue_deadline(timeout));
  }
  std::optional<T> get_nowait() { return get_until(detail::QueueClock::now()); }

  bool empty() const { return qsize() == 0; }
  bool full() const { return maxsize() != 0 && qsize() >= maxsize(); }

 private:
  bool put_until(const T& item, const detail::QueueDeadline& deadline) {
    Buffer buf;
    encode_into(buf, item);
    return put_bytes({buf.data(), buf.size()}, deadline);
  }
  std::optional<T> get_until(const detail::QueueDeadline& deadline) {
    std::vector<char> bytes;
    if (!get_bytes(bytes, deadline)) return std::nullopt;
    return decode<T>(bytes);
  }
};

/// An unbounded queue (Python: multiprocessing.SimpleQueue): put, get, empty.
template <class T>
class SimpleQueue : public Queue<T> {
 public:
  explicit SimpleQueue(std::size_t ring_bytes = std::size_t{1} << 16) : Queue<T>(0, ring_bytes) {}
  SimpleQueue(named_t, std::size_t ring_bytes = std::size_t{1} << 16) : Queue<T>(named, 0, ring_bytes) {}
  SimpleQueue(detail::adopt_segment_t tag, std::shared_ptr<SharedMemory> seg) : Queue<T>(tag, std::move(seg)) {}
};

}  // namespace tandem::ipc
