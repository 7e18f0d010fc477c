// tandem/queues.hpp — FIFO queues between processes (Python: multiprocessing.Queue, SimpleQueue).
//
//   tandem::ipc::Queue<std::string> jobs(100);       // at most 100 items waiting
//   tandem::Process worker(&consume, jobs);          // void consume(tandem::ipc::Queue<std::string> q)
//   worker.start();
//   jobs.put("work");
//   std::optional<std::string> r = results.get(std::chrono::seconds(1));   // empty on timeout
//
// The items live in a shared-memory ring (no feeder thread, no pipe): put() copies the encoded item in,
// get() copies it out, and a blocked side sleeps on a futex. Items of any size cross: one larger than
// half the ring travels in its own named segment that the consumer unlinks after reading it.
//
// Dead processes: the ring is guarded by a robust lock and an item becomes visible only when it is
// completely written, so a producer killed in the middle of put() leaves no partial item behind and the
// consumer is not wedged; a consumer killed in the middle of get() leaves the item in the queue. (An
// oversized item's segment can leak if its producer dies between writing it and enqueuing it.)
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

#include "tandem/codec.hpp"
#include "tandem/shared_memory.hpp"

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

  /// Test hook for fault injection: takes the lock, writes part of a record and a wrong count, then
  /// SIGKILLs the calling process, exactly like a producer dying in the middle of put(). Never returns.
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

  /// Blocks while the queue is full.
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
