// tandem/futures.hpp — one Future<T> for every executor (Python: concurrent.futures._base).
//
// A Future is a shared handle to the eventual outcome of a piece of work: a value, an exception, or
// cancellation. The thread pool, the process pool and the coroutine bridge all hand out this one type,
// so code that waits on results is written once. Copies share one state, as Python references do.
//
// States follow Python exactly:  pending ──► running ──► finished
//                                    └──────────► cancelled   (cancel() succeeds only while pending)
//
// ```cpp body
//   tandem::ThreadPoolExecutor pool(4);
//   tandem::Future<int> f = pool.submit([] { return 6 * 7; });
//   int answer = f.result();              // blocks; rethrows the task's own exception type
//   f.result(std::chrono::seconds(1));    // or throws tandem::TimeoutError
// ```
//
// Thread safety: every member may be called from any thread at the same time. Done-callbacks run on
// the thread that completes the future (or at once on the caller's thread if it is already done).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/futex.hpp"
#include "tandem/errors.hpp"

namespace tandem {

enum class FutureState : std::uint8_t { pending, running, cancelled, finished };

/// Name of a state as Python prints it ("PENDING", "RUNNING", "CANCELLED", "FINISHED").
const char* to_string(FutureState s) noexcept;

/// The promise was destroyed before it produced a result: the work can never complete.
class BrokenPromise : public Error {
 public:
  BrokenPromise() : Error("the promise was destroyed before it set a result") {}
};

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

namespace detail {

template <class Rep, class Period>
Deadline deadline_after(std::chrono::duration<Rep, Period> timeout) {
  return std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
}

class StateBase;

/// Observer of several states at once (wait, as_completed). Called under the completing state's lock,
/// so on_done must only record and signal.
class Waiter {
 public:
  virtual void on_done(StateBase* state) = 0;

 protected:
  ~Waiter() = default;
};

/// The queue node of an in-process executor's task, reachable from its future's state
/// (StateBase::work_item), so that a worker waiting on that future can find the work and help it along.
/// `executor` names the executor that queued it; only that executor's workers interpret the node.
class WorkItem {
 public:
  const void* executor = nullptr;

 protected:
  ~WorkItem() = default;
};

/// A thread that can do useful work while it waits (a pool worker), so that a task waiting on its own
/// pool's futures cannot deadlock the pool. Installed per thread by the executor; external threads have
/// none and only sleep.
class WaitHelper {
 public:
  /// Runs at most one piece of work that the wait on `awaited` (the states not yet done among them)
  /// allows — which work is allowed is the executor's rule, chosen so that helping cannot nest without
  /// bound (see thread_pool.cpp). Returns false when nothing may run now: the caller then sleeps.
  virtual bool run_one(std::span<StateBase* const> awaited) = 0;

 protected:
  ~WaitHelper() = default;
};
WaitHelper*& current_wait_helper() noexcept;

/// The type-independent part of a future's shared state: state machine, exception, callbacks, waiters.
/// Reference counted intrusively so that an executor can make the task and its state one allocation,
/// and kept small (40 bytes): one word holds the state and a "sleepers" bit that blocked threads wait
/// on with a futex; a 4-byte lock orders completion against callbacks and waiters, which live in a side
/// structure allocated only when used.
class StateBase {
 public:
  StateBase() = default;
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    // Seeing 1 means the caller holds the only reference: nobody else can add one (that takes a
    // reference), so the last release skips the atomic read-modify-write (the acquire pairs with the
    // others' releases). A fork-join task's future is usually the last holder: one atomic less per task.
    if (refs_.load(std::memory_order_acquire) == 1 || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      last_reference_dropped();
  }

  FutureState state() const noexcept {
    return static_cast<FutureState>(word_.load(std::memory_order_acquire) & kStateMask);
  }
  bool done() const noexcept {
    auto s = state();
    return s == FutureState::cancelled || s == FutureState::finished;
  }

  bool cancel();
  bool set_running_or_notify_cancel();
  /// pending → running; false (and no change) in any other state. For an executor whose task may be
  /// claimed by more than one party (a worker popping it, a waiter running it inline): the one that gets
  /// true runs it.
  bool try_start() noexcept;
  /// The executor's queue node for this state, if an in-process executor created it (see WorkItem).
  virtual WorkItem* work_item() noexcept { return nullptr; }
  void set_exception(std::exception_ptr error);
  /// Finished with an exception (not cancelled). Only meaningful once done().
  bool failed() const noexcept { return state() == FutureState::finished && error_ != nullptr; }

  /// Blocks until done or the deadline passes; returns done().
  bool wait_until(const Deadline& deadline);
  /// Rethrows the outcome if it is not a value: CancelledError, the stored exception, or TimeoutError.
  void wait_and_check(const Deadline& deadline);
  std::exception_ptr exception(const Deadline& deadline);

  void add_done_callback(std::function<void(StateBase&)> callback);
  /// Registers a waiter; returns false (without registering) when the state is already done.
  bool add_waiter(Waiter* w);
  void remove_waiter(Waiter* w);

 protected:
  // A state whose node an executor's queue holds (the thread pool's tasks). The queue's hold is not a
  // reference but a bit of the state word (kQueued), so that the worker that pops and runs the task
  // completes it and lets go of the node in one atomic (complete_exclusive_and_dequeue); the last of
  // {handles, queue} to let go deletes the state (a handle that finds the node still queued marks it
  // orphaned, and the queue deletes it when it lets go).
  struct QueuedTag {};
  explicit StateBase(QueuedTag) noexcept : word_(kQueued) {}
  virtual ~StateBase();
  using Guard = std::unique_lock<FutexLock>;
  Guard lock() { return Guard(lock_); }
  // Caller holds the lock: throws InvalidStateError unless the state can still take a result.
  void check_can_set(const char* what) const;
  // Completes the state (caller holds the lock, which this releases), then wakes sleepers, notifies
  // waiters and runs callbacks.
  void complete(Guard& guard, FutureState final_state);
  // Asked by cancel(), under the lock, while the state is still pending: may the work still be stopped?
  // An executor whose queued work sits where another party can take it (a worker process's ring)
  // overrides this to win that race first; false makes cancel() fail as if the work were running.
  virtual bool may_cancel() noexcept { return true; }
  // The same without the lock, for a caller that alone can complete the state: an executor's worker
  // once the task is running (cancel() fails then, and there is no Promise to race with).
  void complete_exclusive(FutureState final_state);
  // The runner of a QueuedTag state's task that also holds the queue's hold (it popped the node): the
  // outcome (`error`, or the value already stored), completion, and letting go of the node. One
  // compare-and-swap when nobody sleeps on the state and nothing is registered on it; otherwise the
  // hold keeps the state alive while sleepers are woken and callbacks run. `this` may be gone after.
  void complete_exclusive_and_dequeue(std::exception_ptr error) noexcept;
  void set_exception_exclusive(std::exception_ptr error) {
    error_ = std::move(error);
    complete_exclusive(FutureState::finished);
  }
  // A QueuedTag state's queue lets go of its node (without completing it). `this` may be gone after.
  void release_queue_hold() noexcept {
    if (word_.fetch_and(~kQueued, std::memory_order_acq_rel) & kOrphan) delete this;
  }

 private:
  static constexpr std::uint32_t kStateMask = 3;
  static constexpr std::uint32_t kSleepers = 4;
  static constexpr std::uint32_t kHasExtras = 8;  // callbacks or waiters registered: completion takes lock_
  static constexpr std::uint32_t kQueued = 16;    // a queue holds the node (QueuedTag states)
  static constexpr std::uint32_t kOrphan = 32;    // no handle is left: the queue deletes it when it lets go
  static constexpr std::uint32_t kQueueBits = kQueued | kOrphan;  // kept by every completion but the dequeuing one
  struct Extras;
  void finish_completion(std::uint32_t old_word, std::vector<std::function<void(StateBase&)>>& callbacks);
  bool mark_extras_unless_done();  // caller holds lock_
  void last_reference_dropped() noexcept {
    std::uint32_t w = word_.load(std::memory_order_acquire);
    while (w & kQueued)
      if (word_.compare_exchange_weak(w, w | kOrphan, std::memory_order_acq_rel, std::memory_order_acquire)) return;
    delete this;
  }

  std::atomic<std::uint32_t> word_{0};  // FutureState | kSleepers | kHasExtras | kQueued | kOrphan
  std::atomic<std::uint32_t> refs_{1};
  FutexLock lock_;
  std::exception_ptr error_;
  Extras* extras_ = nullptr;  // callbacks and waiters, guarded by lock_
};

template <class T>
class State : public StateBase {
 public:
  State() = default;
  template <class... Args>
  void set_value(Args&&... args) {
    auto guard = this->lock();
    check_can_set("set_result");
    if constexpr (!std::is_void_v<T>) value_.emplace(std::forward<Args>(args)...);
    complete(guard, FutureState::finished);
  }
  template <class... Args>
  void set_value_exclusive(Args&&... args) {
    emplace_value(std::forward<Args>(args)...);
    this->complete_exclusive(FutureState::finished);
  }
  // Valid only after wait_and_check() returned normally.
  auto& value() noexcept
    requires(!std::is_void_v<T>)
  {
    return *value_;
  }

 private:
  struct Empty {};
  std::optional<std::conditional_t<std::is_void_v<T>, Empty, T>> value_;

 protected:
  explicit State(QueuedTag tag) noexcept : StateBase(tag) {}
  // For an exclusive completer (see StateBase::complete_exclusive_and_dequeue): the value, stored first.
  template <class... Args>
  void emplace_value(Args&&... args) {
    if constexpr (!std::is_void_v<T>) value_.emplace(std::forward<Args>(args)...);
  }
};

/// Owning pointer to a state, counted intrusively.
template <class S>
class Ref {
 public:
  Ref() = default;
  explicit Ref(S* s, bool adopt = true) noexcept : s_(s) {
    if (s_ && !adopt) s_->add_ref();
  }
  Ref(const Ref& o) noexcept : s_(o.s_) {
    if (s_) s_->add_ref();
  }
  Ref(Ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Ref() {
    if (s_) s_->release();
  }
  S* get() const noexcept { return s_; }
  S* operator->() const noexcept { return s_; }
  S& operator*() const noexcept { return *s_; }
  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  S* s_ = nullptr;
};

[[noreturn]] void throw_no_state();

}  // namespace detail

template <class T>
class Promise;

/// Shared handle to an eventual result. Obtain one from an executor's submit() or Promise::get_future().
namespace detail {
/// What every future handle does without knowing its result type — Future<T> and AnyFuture — written
/// once. `Handle::state_base()` gives the shared state (nullptr for a handle without one).
template <class Handle>
class FutureOps {
 public:
  /// Cancels the work if it has not started. Returns false once it is running or finished.
  bool cancel() { return st().cancel(); }
  bool cancelled() const { return st().state() == FutureState::cancelled; }
  bool running() const { return st().state() == FutureState::running; }
  bool done() const { return st().done(); }
  FutureState state() const { return st().state(); }

  /// The task's exception, or nullptr if it produced a value. Throws CancelledError / TimeoutError.
  std::exception_ptr exception() const { return st().exception({}); }
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    return st().exception(deadline_after(timeout));
  }

  /// Blocks until done (true) or the timeout passes (false). Never throws the task's exception.
  void wait() const { st().wait_until({}); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return st().wait_until(deadline_after(timeout));
  }

 protected:
  StateBase& st() const {
    StateBase* s = static_cast<const Handle&>(*this).state_base();
    if (!s) throw_no_state();
    return *s;
  }
};
}  // namespace detail

template <class T>
class Future : public detail::FutureOps<Future<T>> {
 public:
  using value_type = T;

  Future() = default;  // has no state: valid() is false and every other call throws InvalidStateError
  explicit Future(detail::Ref<detail::State<T>> state) noexcept : state_(std::move(state)) {}

  bool valid() const noexcept { return static_cast<bool>(state_); }
  // cancel(), cancelled(), running(), done(), state(), exception(), wait(), wait_for(): detail::FutureOps.

  /// Waits for the result. Throws CancelledError, the task's own exception, or (with a timeout)
  /// TimeoutError. On an lvalue, returns a reference into the shared state (alive while any copy of the
  /// future is); on an rvalue (`pool.submit(f).result()`) moves the value out, which also serves
  /// move-only types.
  decltype(auto) result() & { return get_ref({}); }
  decltype(auto) result() const& { return get_ref({}); }
  T result() && { return take({}); }
  template <class Rep, class Period>
  decltype(auto) result(std::chrono::duration<Rep, Period> timeout) & {
    return get_ref(detail::deadline_after(timeout));
  }
  template <class Rep, class Period>
  T result(std::chrono::duration<Rep, Period> timeout) && {
    return take(detail::deadline_after(timeout));
  }

  /// Calls fn(future) when the future is done (at once, on this thread, if it already is). An exception
  /// thrown by fn is reported on stderr and otherwise ignored, as Python does.
  template <class F>
  void add_done_callback(F&& fn) {
    st().add_done_callback([fn = std::forward<F>(fn)](detail::StateBase& s) mutable {
      fn(Future<T>(detail::Ref<detail::State<T>>(static_cast<detail::State<T>*>(&s), false)));
    });
  }

  detail::StateBase* state_base() const noexcept { return state_.get(); }
  friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_.get() == b.state_.get(); }

 private:
  detail::State<T>& st() const {
    if (!state_) detail::throw_no_state();
    return *state_;
  }
  decltype(auto) get_ref(const Deadline& d) const {
    st().wait_and_check(d);
    if constexpr (std::is_void_v<T>)
      return;
    else
      return static_cast<T&>(state_->value());
  }
  T take(const Deadline& d) {
    st().wait_and_check(d);
    if constexpr (!std::is_void_v<T>) return std::move(state_->value());
  }

  detail::Ref<detail::State<T>> state_;
};

/// The producing side of a Future: what an executor (or your own code) uses to deliver the outcome.
/// Destroying a Promise that never delivered fails its future with BrokenPromise, so nothing waits forever.
template <class T>
class Promise {
 public:
  Promise() : state_(new detail::State<T>()) {}
  Promise(Promise&&) noexcept = default;
  Promise& operator=(Promise&& o) noexcept {
    if (this != &o) {
      abandon();
      state_ = std::move(o.state_);
    }
    return *this;
  }
  ~Promise() { abandon(); }

  Future<T> get_future() const { return Future<T>(state_); }

  /// pending → running (true), or false if it was cancelled: then the work must not run.
  bool set_running_or_notify_cancel() { return st().set_running_or_notify_cancel(); }

  template <class... Args>
  void set_result(Args&&... args) {
    st().set_value(std::forward<Args>(args)...);
  }
  void set_exception(std::exception_ptr e) { st().set_exception(std::move(e)); }
  template <class E>
  void set_exception(E e) {
    set_exception(std::make_exception_ptr(std::move(e)));
  }

 private:
  detail::State<T>& st() {
    if (!state_) detail::throw_no_state();
    return *state_;
  }
  void abandon() noexcept {
    if (state_ && !state_->done()) {
      try {
        state_->set_exception(std::make_exception_ptr(BrokenPromise()));
      } catch (const InvalidStateError&) {  // completed concurrently: nothing to do
      }
    }
  }
  detail::Ref<detail::State<T>> state_;
};

// ---- AnyFuture -----------------------------------------------------------------------------------

namespace detail {
/// One object per T: its address names the type (AnyFuture's way back to Future<T>).
template <class T>
inline const char type_tag = 0;
}  // namespace detail

/// A Future of any result type (Python needs no such thing: `wait({f1, f2})` takes futures of any
/// results). It does what needs no T — cancel, state, wait, exception, done-callbacks, compare — and
/// gives the typed Future back with as<T>(). Every Future<T> converts to one; copies share the state,
/// and it compares equal (and hashes equal) to the Future it came from.
///
/// ```cpp body
///   tandem::ThreadPoolExecutor pool(2);
///   tandem::Future<int> count = pool.submit(count_words, path);
///   tandem::Future<std::string> page = pool.submit(download, url);
///   auto [done, not_done] = tandem::wait({count, page}, tandem::FIRST_COMPLETED);
///   if (done[0] == page) std::cout << page.result();     // or done[0].as<std::string>().result()
/// ```
class AnyFuture : public detail::FutureOps<AnyFuture> {
 public:
  /// No state: valid() is false and every other call throws InvalidStateError.
  AnyFuture() = default;
  template <class T>
  AnyFuture(const Future<T>& f) noexcept : state_(f.state_base(), false), type_(&detail::type_tag<T>) {}

  bool valid() const noexcept { return static_cast<bool>(state_); }
  // cancel(), cancelled(), running(), done(), state(), exception(), wait(), wait_for(): detail::FutureOps.

  /// Waits, then returns if the future produced a value and rethrows otherwise (CancelledError, the
  /// task's own exception; TimeoutError with a timeout). The value itself: as<T>().result().
  void result() const { st().wait_and_check({}); }
  template <class Rep, class Period>
  void result(std::chrono::duration<Rep, Period> timeout) const {
    st().wait_and_check(detail::deadline_after(timeout));
  }

  /// Whether this is a Future<T>.
  template <class T>
  bool holds() const noexcept {
    return type_ == &detail::type_tag<T>;
  }
  /// The typed Future (sharing the state). Throws InvalidStateError if it is not a Future<T>.
  template <class T>
  Future<T> as() const {
    st();
    if (!holds<T>()) throw InvalidStateError("AnyFuture::as<T>(): this future has another result type");
    return Future<T>(detail::Ref<detail::State<T>>(static_cast<detail::State<T>*>(state_.get()), false));
  }

  /// Calls fn(any_future) when done (see Future::add_done_callback).
  template <class F>
  void add_done_callback(F&& fn) {
    st().add_done_callback([fn = std::forward<F>(fn), type = type_](detail::StateBase& s) mutable {
      AnyFuture f;
      f.state_ = detail::Ref<detail::StateBase>(&s, false);
      f.type_ = type;
      fn(f);
    });
  }

  detail::StateBase* state_base() const noexcept { return state_.get(); }
  /// Same shared state (Python: `is`); a Future<T> compares through its conversion.
  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept { return a.state_.get() == b.state_.get(); }

 private:
  detail::Ref<detail::StateBase> state_;
  const void* type_ = nullptr;
};

// ---- wait / as_completed ----------------------------------------------------------------------

enum class ReturnWhen { FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

/// The handle wait() and as_completed() give back: Future<T>, or AnyFuture for futures of different
/// result types (T = AnyFuture).
template <class T>
using FutureOf = std::conditional_t<std::is_same_v<T, AnyFuture>, AnyFuture, Future<T>>;

/// What wait() returns: DoneAndNotDone<T> holds Future<T>s, DoneAndNotDone<AnyFuture> AnyFutures.
template <class T>
struct DoneAndNotDone {
  std::vector<FutureOf<T>> done;
  std::vector<FutureOf<T>> not_done;
};

namespace detail {
// Blocks per return_when / deadline; returns a done flag per state (computed after the wait).
std::vector<bool> wait_states(std::span<StateBase* const> states, ReturnWhen when, const Deadline& deadline);

class CompletionQueue;  // as_completed's waiter
struct CompletionQueueDeleter {
  void operator()(CompletionQueue* q) const noexcept;
};
std::unique_ptr<CompletionQueue, CompletionQueueDeleter> make_completion_queue(std::span<StateBase* const> states,
                                                                               const Deadline& deadline);
// Next state in completion order, nullptr at the end; throws TimeoutError past the deadline.
StateBase* next_completed(CompletionQueue& q);
}  // namespace detail

namespace detail {
template <class T>
DoneAndNotDone<T> wait_futures(const std::vector<FutureOf<T>>& futures, ReturnWhen when, const Deadline& deadline) {
  std::vector<StateBase*> states;
  states.reserve(futures.size());
  for (const auto& f : futures) {
    if (!f.valid()) throw_no_state();
    states.push_back(f.state_base());
  }
  auto flags = wait_states(states, when, deadline);
  DoneAndNotDone<T> out;
  for (std::size_t i = 0; i < futures.size(); ++i) (flags[i] ? out.done : out.not_done).push_back(futures[i]);
  return out;
}

}  // namespace detail

/// Waits for the futures per `when` (Python: concurrent.futures.wait). Each input future lands in exactly
/// one of the two lists, in input order. With a timeout, returns what is done by then (never throws
/// TimeoutError). FIRST_EXCEPTION behaves as ALL_COMPLETED when no future fails; cancelled futures
/// count as done, not as failures.
template <class T>
DoneAndNotDone<T> wait(const std::vector<Future<T>>& futures, ReturnWhen when = ALL_COMPLETED) {
  return detail::wait_futures<T>(futures, when, {});
}
template <class T, class Rep, class Period>
DoneAndNotDone<T> wait(const std::vector<Future<T>>& futures, ReturnWhen when,
                       std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_futures<T>(futures, when, detail::deadline_after(timeout));
}
/// Futures of different result types: `tandem::wait({count, page})` (see AnyFuture).
inline DoneAndNotDone<AnyFuture> wait(const std::vector<AnyFuture>& futures, ReturnWhen when = ALL_COMPLETED) {
  return detail::wait_futures<AnyFuture>(futures, when, {});
}
template <class Rep, class Period>
DoneAndNotDone<AnyFuture> wait(const std::vector<AnyFuture>& futures, ReturnWhen when,
                               std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_futures<AnyFuture>(futures, when, detail::deadline_after(timeout));
}
/// The futures in the order they complete (Python: concurrent.futures.as_completed), as a single-pass
/// range. Futures already done come first. Duplicates are yielded once. With a timeout measured from
/// this call, advancing past the deadline throws TimeoutError naming how many are unfinished.
///
/// ```cpp body
///   std::vector<tandem::Future<int>> futures{fut};
///   for (auto& f : tandem::as_completed(futures)) std::cout << f.result();
/// ```
///
/// AsCompleted<AnyFuture>, over futures of different result types, yields AnyFutures.
template <class T>
class AsCompleted {
 public:
  using Handle = FutureOf<T>;

  AsCompleted(std::vector<Handle> futures, const Deadline& deadline) : futures_(std::move(futures)) {
    std::vector<detail::StateBase*> states;
    for (const auto& f : futures_) {
      if (!f.valid()) detail::throw_no_state();
      states.push_back(f.state_base());
    }
    queue_ = detail::make_completion_queue(states, deadline);
  }

  class iterator {
   public:
    using value_type = Handle;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Handle& operator*() const { return current_; }
    Handle* operator->() const { return &current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return !it.current_.valid(); }

   private:
    friend class AsCompleted;
    explicit iterator(AsCompleted* owner) : owner_(owner) { advance(); }
    void advance() {
      auto* s = detail::next_completed(*owner_->queue_);
      current_ = s ? owner_->handle_for(s) : Handle();
    }
    AsCompleted* owner_ = nullptr;
    mutable Handle current_;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  Handle handle_for(detail::StateBase* s) const {
    if constexpr (std::is_same_v<T, AnyFuture>) {
      for (const auto& f : futures_)  // the input knows each one's type
        if (f.state_base() == s) return f;
      return {};
    } else {
      return Future<T>(detail::Ref<detail::State<T>>(static_cast<detail::State<T>*>(s), false));
    }
  }
  std::vector<Handle> futures_;  // keeps the states alive while the range is iterated
  std::unique_ptr<detail::CompletionQueue, detail::CompletionQueueDeleter> queue_;
};

template <class T>
AsCompleted<T> as_completed(std::vector<Future<T>> futures) {
  return AsCompleted<T>(std::move(futures), {});
}
template <class T, class Rep, class Period>
AsCompleted<T> as_completed(std::vector<Future<T>> futures, std::chrono::duration<Rep, Period> timeout) {
  return AsCompleted<T>(std::move(futures), detail::deadline_after(timeout));
}
/// Futures of different result types: `for (auto& f : tandem::as_completed({count, page}))` yields
/// AnyFutures.
inline AsCompleted<AnyFuture> as_completed(std::vector<AnyFuture> futures) {
  return AsCompleted<AnyFuture>(std::move(futures), {});
}
template <class Rep, class Period>
AsCompleted<AnyFuture> as_completed(std::vector<AnyFuture> futures, std::chrono::duration<Rep, Period> timeout) {
  return AsCompleted<AnyFuture>(std::move(futures), detail::deadline_after(timeout));
}

}  // namespace tandem

/// Futures hash by their shared state, so that they can be map keys, as in the seed's
/// `{executor.submit(load_url, url): url for url in URLS}`: std::unordered_map<Future<T>, std::string>.
template <class T>
struct std::hash<tandem::Future<T>> {
  std::size_t operator()(const tandem::Future<T>& f) const noexcept {
    return std::hash<const void*>()(f.state_base());
  }
};

template <>
struct std::hash<tandem::AnyFuture> {
  std::size_t operator()(const tandem::AnyFuture& f) const noexcept { return std::hash<const void*>()(f.state_base()); }
};
