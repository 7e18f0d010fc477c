// tandem/aio/queues.hpp — queues between tasks of one loop (Python: asyncio.Queue, PriorityQueue,
// LifoQueue).
//
// ```cpp coroutine
//   aio::Queue<int> q(10);                  // maxsize 10; 0 means unbounded
//   co_await q.put(1);                      // waits while the queue is full
//   int x = co_await q.get();               // waits while it is empty
//   q.task_done();  co_await q.join();      // producer/consumer completion, as in Python
// ```
//
// Waiting getters and putters are served in FIFO order. An item put while getters wait is handed
// straight to the first of them, and a place that frees up while putters wait is kept for the first
// of them; until that task runs, the item or the place still counts against maxsize (so full() can be
// true while qsize() < maxsize: qsize() counts the items get_nowait() can take).
//
// A get() or put() that is cancelled — while it waits, or after it was woken but before its task ran
// (see task.hpp) — throws CancelledError and leaves nothing behind: its waiter is unlinked, the item
// it was handed goes back to the head of the queue (or to the next getter), the place kept for it goes
// to the next putter, and its own item is not put. As in asyncio, no item is lost or put twice.
// Not thread-safe: use call_soon_threadsafe to feed a queue from another thread.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "tandem/aio/detail/core.hpp"
#include "tandem/aio/detail/waiters.hpp"
#include "tandem/aio/exceptions.hpp"

namespace tandem::aio {

namespace detail {
// Each store also takes back an item handed to a getter that was cancelled before it ran
// (push_oldest): that item was put before every item stored now, so it goes where the oldest goes.
template <class T>
struct FifoStore {
  std::deque<T> items;
  void push(T v) { items.push_back(std::move(v)); }
  void push_oldest(T v) { items.push_front(std::move(v)); }
  T pop() {
    T v = std::move(items.front());
    items.pop_front();
    return v;
  }
  std::size_t size() const noexcept { return items.size(); }
};
template <class T>
struct LifoStore {
  std::vector<T> items;
  void push(T v) { items.push_back(std::move(v)); }
  void push_oldest(T v) { items.insert(items.begin(), std::move(v)); }
  T pop() {
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
  std::size_t size() const noexcept { return items.size(); }
};
/// Smallest first (by Compare), like Python's heapq-based PriorityQueue.
template <class T, class Compare>
struct PriorityStore {
  std::vector<T> items;
  struct Inverted {
    Compare c;
    bool operator()(const T& a, const T& b) const { return c(b, a); }
  };
  void push(T v) {
    items.push_back(std::move(v));
    std::push_heap(items.begin(), items.end(), Inverted{});
  }
  void push_oldest(T v) { push(std::move(v)); }
  T pop() {
    std::pop_heap(items.begin(), items.end(), Inverted{});
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
  std::size_t size() const noexcept { return items.size(); }
};
}  // namespace detail

/// The queue; see the file comment. Use the aliases Queue, LifoQueue and PriorityQueue.
template <class T, class Store>
class BasicQueue {
 public:
  explicit BasicQueue(std::size_t maxsize = 0) noexcept : maxsize_(maxsize) {}
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  /// Items get_nowait() can take now (not those already handed to a woken getter).
  std::size_t qsize() const noexcept { return store_.size(); }
  std::size_t maxsize() const noexcept { return maxsize_; }
  bool empty() const noexcept { return store_.size() == 0; }
  /// No room for another item: the stored ones and those handed to, or kept for, woken tasks fill it.
  bool full() const noexcept { return maxsize_ > 0 && store_.size() + in_transit_ >= maxsize_; }

  /// Adds an item without waiting; throws QueueFull when full.
  void put_nowait(T item) {
    if (full()) throw QueueFull();
    push(std::move(item));
  }
  /// Removes and returns an item without waiting; throws QueueEmpty when empty.
  T get_nowait() {
    if (empty()) throw QueueEmpty();
    return pop();
  }

  class Put final : detail::ParkedWaiter {
   public:
    Put(BasicQueue& q, T item) : q_(q), item_(std::move(item)) {}
    bool await_ready() {
      if (q_.full() || !q_.putters_.empty()) return false;
      q_.push(std::move(*item_));
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) { return park(q_.putters_, h, "Queue::put"); }
    void await_resume() {
      throw_if_cancelled();
      if (woken()) q_.put_in_kept_place(std::move(*item_));
    }

   private:
    void give_back() noexcept override { q_.free_kept_place(); }
    BasicQueue& q_;
    std::optional<T> item_;
  };
  class Get final : detail::ParkedWaiter {
   public:
    explicit Get(BasicQueue& q) noexcept : q_(q) {}
    bool await_ready() {
      if (q_.empty()) return false;
      slot_.emplace(q_.pop());
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) { return park(q_.getters_, h, "Queue::get"); }
    T await_resume() {
      throw_if_cancelled();
      if (woken()) q_.took_handed_item();
      return std::move(*slot_);
    }

   private:
    friend class BasicQueue;
    void give_back() noexcept override { q_.return_handed_item(std::move(*slot_), task_->loop()); }
    BasicQueue& q_;
    std::optional<T> slot_;
  };
  class Join final : detail::ParkedWaiter {
   public:
    explicit Join(BasicQueue& q) noexcept : q_(q) {}
    bool await_ready() const noexcept { return q_.unfinished_ == 0; }
    bool await_suspend(std::coroutine_handle<> h) { return park(q_.joiners_, h, "Queue::join"); }
    void await_resume() const { throw_if_cancelled(); }

   private:
    BasicQueue& q_;
  };

  /// Adds an item, waiting while the queue is full.
  Put put(T item) { return Put(*this, std::move(item)); }
  /// Removes and returns an item, waiting while the queue is empty.
  Get get() noexcept { return Get(*this); }
  /// Marks one item returned by get() as processed; throws InvalidStateError if called more times than
  /// items were put.
  void task_done() {
    if (unfinished_ == 0) throw InvalidStateError("Queue::task_done() called more times than items were put");
    if (--unfinished_ == 0) detail::wake_all(joiners_);
  }
  /// Waits until every item put has been marked task_done().
  Join join() noexcept { return Join(*this); }

 private:
  void push(T item) {
    ++unfinished_;
    deliver(std::move(item), false);
  }
  /// To the first waiting getter (getters wait only while nothing is stored), else into the store.
  void deliver(T item, bool oldest) {
    if (auto* n = getters_.pop_front()) {
      auto* g = static_cast<Get*>(detail::ParkedWaiter::from(n));
      g->slot_.emplace(std::move(item));
      ++in_transit_;
      g->wake_up();
    } else if (oldest) {
      store_.push_oldest(std::move(item));
    } else {
      store_.push(std::move(item));
    }
  }
  T pop() {
    T item = store_.pop();
    admit_putters();
    return item;
  }
  /// Room again: wake waiting putters in order, keeping a place for each until it runs.
  void admit_putters() noexcept {
    while (!full()) {
      auto* n = putters_.pop_front();
      if (!n) break;
      ++in_transit_;
      detail::ParkedWaiter::from(n)->wake_up();
    }
  }
  void took_handed_item() noexcept {
    --in_transit_;
    admit_putters();
  }
  void return_handed_item(T item, EventLoop& loop) noexcept {
    --in_transit_;
    try {
      deliver(std::move(item), true);
    } catch (...) {  // no memory for a place in the store: nothing can keep the item now
      loop.report("tandem.aio: out of memory putting back a queue item of a cancelled get(); it was dropped");
      admit_putters();
    }
  }
  void put_in_kept_place(T item) {
    --in_transit_;
    try {
      push(std::move(item));
    } catch (...) {
      admit_putters();  // the place is free again
      throw;
    }
  }
  void free_kept_place() noexcept {
    --in_transit_;
    admit_putters();
  }

  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  std::size_t in_transit_ = 0;  // items handed to woken getters and places kept for woken putters
  Store store_;
  detail::List getters_, putters_, joiners_;
};

/// First in, first out (Python: asyncio.Queue).
template <class T>
using Queue = BasicQueue<T, detail::FifoStore<T>>;
/// Last in, first out (Python: asyncio.LifoQueue).
template <class T>
using LifoQueue = BasicQueue<T, detail::LifoStore<T>>;
/// Smallest item first by Compare (Python: asyncio.PriorityQueue; use std::pair<priority, value>).
template <class T, class Compare = std::less<T>>
using PriorityQueue = BasicQueue<T, detail::PriorityStore<T, Compare>>;

}  // namespace tandem::aio
