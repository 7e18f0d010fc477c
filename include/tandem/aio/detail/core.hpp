// tandem/aio/detail/core.hpp — the small intrusive pieces every aio awaitable is built from.
//
// Not public API. Waiters (a task parked on a lock, a queue, a timer) are nodes that live inside the
// suspended coroutine's own frame, so parking a task allocates nothing and unparking it on
// cancellation is O(1) and leaves no residue behind.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tandem::aio {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

class EventLoop;

namespace detail {

class TaskCoreBase;

/// A node of an intrusive, circular, doubly linked list. Unlinking is O(1) and idempotent.
struct ListNode {
  ListNode* prev = nullptr;
  ListNode* next = nullptr;
  bool linked() const noexcept { return next != nullptr; }
  void unlink() noexcept {
    if (next) {
      prev->next = next;
      next->prev = prev;
      prev = next = nullptr;
    }
  }
};

/// FIFO of ListNodes (not owning). Non-movable: the sentinel is referenced by its members.
class List {
 public:
  List() noexcept { head_.prev = head_.next = &head_; }
  List(const List&) = delete;
  List& operator=(const List&) = delete;
  ~List() { clear(); }

  bool empty() const noexcept { return head_.next == &head_; }
  ListNode* front() const noexcept { return empty() ? nullptr : head_.next; }
  void push_back(ListNode* n) noexcept {
    n->prev = head_.prev;
    n->next = &head_;
    head_.prev->next = n;
    head_.prev = n;
  }
  ListNode* pop_front() noexcept {
    if (empty()) return nullptr;
    ListNode* n = head_.next;
    n->unlink();
    return n;
  }
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (auto* p = head_.next; p != &head_; p = p->next) ++n;
    return n;
  }
  template <class F>
  void for_each(F f) const {
    for (auto* p = head_.next; p != &head_; p = p->next) f(p);
  }
  /// Unlinks every node without notifying anyone.
  void clear() noexcept {
    while (pop_front()) {
    }
  }

 private:
  ListNode head_;
};

/// An entry of the loop's timer heap. Embedded in the awaitable or timer that owns it; `index` lets the
/// heap remove it in O(log n) when the wait is cancelled. Kept small: every sleeping task carries one.
struct TimerNode {
  static constexpr std::uint32_t npos = static_cast<std::uint32_t>(-1);
  TimePoint when{};
  std::uint32_t seq = 0;  // ties broken in scheduling order, like asyncio (compared modulo 2^32)
  std::uint32_t index = npos;
  void (*fire)(TimerNode*) noexcept = nullptr;
  bool armed() const noexcept { return index != npos; }
};

/// Binary min-heap of TimerNodes ordered by (when, seq), with removal from the middle.
class TimerHeap {
 public:
  void push(TimerNode* n);
  void remove(TimerNode* n) noexcept;
  TimerNode* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }
  TimerNode* pop() noexcept;
  std::size_t size() const noexcept { return heap_.size(); }
  bool empty() const noexcept { return heap_.empty(); }

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    // Wrap-around comparison: correct for any two timers armed less than 2^31 arms apart.
    return a->when < b->when || (a->when == b->when && static_cast<std::int32_t>(a->seq - b->seq) < 0);
  }
  void place(std::size_t i, TimerNode* n) noexcept {
    heap_[i] = n;
    n->index = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  std::vector<TimerNode*> heap_;
  std::uint32_t next_seq_ = 0;
};

/// A one-shot callback for fd readiness, cheaper than a std::function (used by streams).
class FdWaiter {
 public:
  virtual void on_fd_ready() noexcept = 0;

 protected:
  ~FdWaiter() = default;
};

/// An item of the loop's ready queue: a task to step or a callback to call. The queue is intrusive (the
/// link lives in the item), so scheduling never allocates and a burst of a million ready tasks costs
/// no queue memory beyond the tasks themselves.
class ReadyItem {
 public:
  /// execute: run it; otherwise discard it (the loop is being destroyed).
  virtual void run_ready(bool execute) noexcept = 0;
  /// The task this item steps, or nullptr for a plain callback (debug reports).
  virtual TaskCoreBase* as_task() noexcept { return nullptr; }

 protected:
  ~ReadyItem() = default;

 private:
  friend class ReadyQueue;
  ReadyItem* next_ready_ = nullptr;
};

/// FIFO of ReadyItems (not owning).
class ReadyQueue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  ReadyItem* front() const noexcept { return head_; }
  void push_back(ReadyItem* item) noexcept {
    item->next_ready_ = nullptr;
    if (tail_)
      tail_->next_ready_ = item;
    else
      head_ = item;
    tail_ = item;
  }
  /// Moves every item of `other` to the end of this queue.
  void append(ReadyQueue& other) noexcept {
    if (!other.head_) return;
    if (tail_)
      tail_->next_ready_ = other.head_;
    else
      head_ = other.head_;
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }
  /// Moves every item out into a new queue (the loop runs only what was ready when a phase began).
  ReadyQueue take() noexcept {
    ReadyQueue out;
    out.head_ = std::exchange(head_, nullptr);
    out.tail_ = std::exchange(tail_, nullptr);
    return out;
  }
  ReadyItem* pop_front() noexcept {
    ReadyItem* item = head_;
    if (item) {
      head_ = item->next_ready_;
      if (!head_) tail_ = nullptr;
      item->next_ready_ = nullptr;
    }
    return item;
  }

 private:
  ReadyItem* head_ = nullptr;
  ReadyItem* tail_ = nullptr;
};

}  // namespace detail
}  // namespace tandem::aio
