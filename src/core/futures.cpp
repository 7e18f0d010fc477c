#include "tandem/futures.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>

#include "../sys/spin.hpp"

namespace tandem {

const char* to_string(FutureState s) noexcept {
  switch (s) {
    case FutureState::pending: return "PENDING";
    case FutureState::running: return "RUNNING";
    case FutureState::cancelled: return "CANCELLED";
    case FutureState::finished: return "FINISHED";
  }
  return "UNKNOWN";
}

namespace detail {

namespace {
// The one helping rule, for every blocking wait (result(), wait(), as_completed): a pool worker runs the
// work its pool allows for what it awaits (WaitHelper::run_one decides, and keeps the nesting bounded)
// until `ready()` holds, the deadline passes, or nothing is allowed. Returns ready().
template <class Ready>
bool help_while_waiting(WaitHelper* helper, Ready ready, std::span<StateBase* const> awaited,
                        const Deadline& deadline) {
  for (;;) {
    if (ready()) return true;
    if (!helper || (deadline && std::chrono::steady_clock::now() >= *deadline)) return false;
    if (!helper->run_one(awaited)) return ready();
  }
}

// A pool worker that found nothing it may run sleeps on the future, but wakes now and then to look
// again: the worker running the awaited task may have queued subtasks meanwhile, which the rule lets
// this one take (no one else would wake it for them). From 50 us, doubling, to at most 2 ms.
Deadline next_look(const Deadline& deadline, int round) {
  const auto poll = std::chrono::steady_clock::now() + std::chrono::microseconds(50 << std::min(round, 5));
  return deadline && *deadline < poll ? deadline : Deadline(poll);
}
}  // namespace

WaitHelper*& current_wait_helper() noexcept {
  thread_local WaitHelper* helper = nullptr;
  return helper;
}

void throw_no_state() { throw InvalidStateError("this future has no shared state (default-constructed or moved from)"); }

struct StateBase::Extras {
  std::vector<std::function<void(StateBase&)>> callbacks;
  std::vector<Waiter*> waiters;
};

StateBase::~StateBase() { delete extras_; }

namespace {
bool is_done(std::uint32_t state) {
  return state == static_cast<std::uint32_t>(FutureState::cancelled) ||
         state == static_cast<std::uint32_t>(FutureState::finished);
}

void run_callback(std::function<void(StateBase&)>& cb, StateBase& s) {
  try {
    cb(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: exception calling a done-callback: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "tandem: unknown exception calling a done-callback\n");
  }
}
}  // namespace

bool StateBase::cancel() {
  auto guard = lock();
  // A CAS, not a store: set_running_or_notify_cancel() leaves pending without taking the lock.
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  bool may_cancel_asked = false;
  for (;;) {
    const auto s = static_cast<FutureState>(w & kStateMask);
    if (s == FutureState::cancelled) return true;
    if (s != FutureState::pending) return false;
    if (!may_cancel_asked && !may_cancel()) return false;
    may_cancel_asked = true;
    if (word_.compare_exchange_weak(w, static_cast<std::uint32_t>(FutureState::cancelled) | (w & ~kStateMask),
                                    std::memory_order_acq_rel, std::memory_order_relaxed))
      break;
  }
  // Cancelled now; complete() (still under our lock) wakes sleepers and runs waiters and callbacks.
  complete(guard, FutureState::cancelled);
  return true;
}

bool StateBase::set_running_or_notify_cancel() {
  // Lock-free: called once per task on every executor's hot path.
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    const auto s = static_cast<FutureState>(w & kStateMask);
    if (s == FutureState::cancelled) return false;
    if (s != FutureState::pending)
      throw InvalidStateError(std::string("set_running_or_notify_cancel on a future in state ") + to_string(s));
    if (word_.compare_exchange_weak(w, static_cast<std::uint32_t>(FutureState::running) | (w & ~kStateMask),
                                    std::memory_order_acq_rel, std::memory_order_relaxed))
      return true;
  }
}

void StateBase::check_can_set(const char* what) const {
  auto s = static_cast<FutureState>(word_.load(std::memory_order_relaxed) & kStateMask);
  if (s == FutureState::cancelled || s == FutureState::finished)
    throw InvalidStateError(std::string(what) + " on a future that is already " + to_string(s));
}

void StateBase::set_exception(std::exception_ptr error) {
  if (!error) throw std::invalid_argument("set_exception needs a non-null exception_ptr");
  auto guard = lock();
  check_can_set("set_exception");
  error_ = std::move(error);
  complete(guard, FutureState::finished);
}

namespace {
// The final state in place of the old word's state and flags; a queue's hold (and orphan mark) stay.
std::uint32_t exchange_keeping(std::atomic<std::uint32_t>& word, std::uint32_t final_state, std::uint32_t keep) {
  std::uint32_t old = word.load(std::memory_order_relaxed);
  while (!word.compare_exchange_weak(old, final_state | (old & keep), std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
  }
  return old;
}
}  // namespace

void StateBase::complete(Guard& guard, FutureState final_state) {
  const std::uint32_t old = exchange_keeping(word_, static_cast<std::uint32_t>(final_state), kQueueBits);
  std::vector<std::function<void(StateBase&)>> callbacks;
  if (extras_) {
    for (Waiter* w : extras_->waiters) w->on_done(this);
    callbacks.swap(extras_->callbacks);
  }
  guard.unlock();
  finish_completion(old, callbacks);
}

void StateBase::complete_exclusive(FutureState final_state) {
  const std::uint32_t old = exchange_keeping(word_, static_cast<std::uint32_t>(final_state), kQueueBits);
  std::vector<std::function<void(StateBase&)>> callbacks;
  if (old & kHasExtras) {
    // Registration sets kHasExtras under lock_ before it adds anything, so taking lock_ here waits
    // for any registration in progress; later ones see the state done and act at once.
    auto guard = lock();
    for (Waiter* w : extras_->waiters) w->on_done(this);
    callbacks.swap(extras_->callbacks);
  }
  finish_completion(old, callbacks);
}

void StateBase::complete_exclusive_and_dequeue(std::exception_ptr error) noexcept {
  if (error) error_ = std::move(error);
  const auto finished = static_cast<std::uint32_t>(FutureState::finished);
  // The common case (a fork-join task run by the worker that pushed it, or stolen and run before anyone
  // sleeps on it): no sleepers, callbacks, waiters or orphan mark; completing drops the hold too. After
  // this, the last handle deletes the state at any time: nothing here touches it again.
  std::uint32_t expected = static_cast<std::uint32_t>(FutureState::running) | kQueued;
  if (word_.compare_exchange_strong(expected, finished, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
  complete_exclusive(FutureState::finished);  // the hold keeps `this` alive through wake-ups and callbacks
  release_queue_hold();
}

void StateBase::finish_completion(std::uint32_t old, std::vector<std::function<void(StateBase&)>>& callbacks) {
  // Whoever completes holds a reference or the queue's hold (task queue, promise or future), so `this`
  // outlives the wake.
  if (old & kSleepers) futex_wake(word_, INT32_MAX);
  if (callbacks.empty()) return;
  // Callbacks may drop the last outside reference, or make a new handle of an orphaned state (one that
  // only a queue's hold keeps: the completer is that hold's owner, so nobody races this): hold a real
  // reference while they run.
  if (word_.load(std::memory_order_acquire) & kOrphan) {
    word_.fetch_and(~kOrphan, std::memory_order_relaxed);
    refs_.store(1, std::memory_order_relaxed);
  } else {
    add_ref();
  }
  for (auto& cb : callbacks) run_callback(cb, *this);
  release();
}

bool StateBase::mark_extras_unless_done() {
  std::uint32_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    if (is_done(w & kStateMask)) return false;
    if (w & kHasExtras) break;
    if (word_.compare_exchange_weak(w, w | kHasExtras, std::memory_order_acq_rel, std::memory_order_acquire)) break;
  }
  if (!extras_) extras_ = new Extras;
  return true;
}

bool StateBase::try_start() noexcept {
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  while ((w & kStateMask) == static_cast<std::uint32_t>(FutureState::pending)) {
    if (word_.compare_exchange_weak(w, static_cast<std::uint32_t>(FutureState::running) | (w & ~kStateMask),
                                    std::memory_order_acq_rel, std::memory_order_relaxed))
      return true;
  }
  return false;
}

bool StateBase::wait_until(const Deadline& deadline) {
  if (done()) return true;
  WaitHelper* const helper = current_wait_helper();
  StateBase* const self = this;
  const std::span<StateBase* const> awaited(&self, 1);
  const auto ready = [this] { return done(); };
  for (int round = 0;; ++round) {
    // A pool worker waiting on a future runs the work its pool allows: the awaited task may be queued.
    if (help_while_waiting(helper, ready, awaited, deadline)) return true;
    // Results of short tasks usually land within microseconds: look a few times before the futex sleep,
    // which costs two syscalls (wait and wake). Yield now and then: when threads outnumber cores, the
    // worker that will produce the result may be waiting for this very core (measured: 3x throughput
    // for small tasks on 2 cores).
    for (int i = 0; i < 256; ++i) {
      if (done()) return true;
      sys::cpu_relax();
      if (i % 64 == 63) sched_yield();
    }
    const Deadline sleep_until = helper ? next_look(deadline, round) : deadline;
    for (;;) {
      std::uint32_t w = word_.load(std::memory_order_acquire);
      if (is_done(w & kStateMask)) return true;
      if (!(w & kSleepers)) {
        if (!word_.compare_exchange_weak(w, w | kSleepers, std::memory_order_acquire, std::memory_order_relaxed))
          continue;
        w |= kSleepers;
      }
      if (futex_wait(word_, w, sleep_until)) continue;  // woken (or spuriously): look at the state again
      if (deadline && std::chrono::steady_clock::now() >= *deadline) return done();
      break;  // a helper's look-again time: help, then sleep again
    }
  }
}

void StateBase::wait_and_check(const Deadline& deadline) {
  if (!wait_until(deadline)) throw TimeoutError();
  if (state() == FutureState::cancelled) throw CancelledError();
  if (error_) std::rethrow_exception(error_);
}

std::exception_ptr StateBase::exception(const Deadline& deadline) {
  if (!wait_until(deadline)) throw TimeoutError();
  if (state() == FutureState::cancelled) throw CancelledError();
  return error_;
}

void StateBase::add_done_callback(std::function<void(StateBase&)> callback) {
  {
    auto guard = lock();
    if (mark_extras_unless_done()) {
      extras_->callbacks.push_back(std::move(callback));
      return;
    }
  }
  run_callback(callback, *this);
}

bool StateBase::add_waiter(Waiter* w) {
  auto guard = lock();
  if (!mark_extras_unless_done()) return false;
  extras_->waiters.push_back(w);
  return true;
}

void StateBase::remove_waiter(Waiter* w) {
  auto guard = lock();
  if (extras_) std::erase(extras_->waiters, w);
}

// ---- wait ---------------------------------------------------------------------------------------

namespace {

// Counts completions until the return_when condition holds. Python's _AllCompletedWaiter & co. in one.
class CountingWaiter final : public Waiter {
 public:
  CountingWaiter(ReturnWhen when, std::size_t pending) : when_(when), pending_(pending) {}

  void on_done(StateBase* s) override {
    std::lock_guard lock(mu_);
    --pending_;
    if (when_ == FIRST_COMPLETED || pending_ == 0 || (when_ == FIRST_EXCEPTION && s->failed())) {
      satisfied_ = true;
      cv_.notify_all();
    }
  }

  void wait(const Deadline& deadline, std::span<StateBase* const> awaited) {
    help_while_waiting(current_wait_helper(), [this] { return satisfied(); }, awaited, deadline);
    std::unique_lock lock(mu_);
    if (deadline)
      cv_.wait_until(lock, *deadline, [this] { return satisfied_; });
    else
      cv_.wait(lock, [this] { return satisfied_; });
  }

 private:
  bool satisfied() {
    std::lock_guard lock(mu_);
    return satisfied_;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  ReturnWhen when_;
  std::size_t pending_;
  bool satisfied_ = false;
};

std::vector<StateBase*> unique_states(std::span<StateBase* const> states) {
  std::vector<StateBase*> out(states.begin(), states.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<bool> wait_states(std::span<StateBase* const> states, ReturnWhen when, const Deadline& deadline) {
  auto unique = unique_states(states);
  std::size_t done_count = 0;
  bool any_failed = false;
  for (auto* s : unique) {
    if (s->done()) {
      ++done_count;
      any_failed = any_failed || s->failed();
    }
  }
  const bool already = (when == FIRST_COMPLETED && done_count > 0) || (when == FIRST_EXCEPTION && any_failed) ||
                       done_count == unique.size();
  if (!already) {
    CountingWaiter waiter(when, unique.size());
    std::vector<StateBase*> registered;
    for (auto* s : unique) {
      if (s->add_waiter(&waiter))
        registered.push_back(s);
      else
        waiter.on_done(s);  // done before we could register: count it here
    }
    waiter.wait(deadline, unique);
    for (auto* s : registered) s->remove_waiter(&waiter);
  }
  std::vector<bool> flags;
  flags.reserve(states.size());
  for (auto* s : states) flags.push_back(s->done());
  return flags;
}

// ---- as_completed ---------------------------------------------------------------------------------

class CompletionQueue final : public Waiter {
 public:
  CompletionQueue(std::span<StateBase* const> states, const Deadline& deadline) : deadline_(deadline) {
    auto unique = unique_states(states);
    total_ = unique.size();
    all_ = unique;
    // Already-done futures come first, then the rest in the order they complete.
    std::lock_guard lock(mu_);
    for (auto* s : unique) {
      if (s->done())
        ready_.push_back(s);
      else
        pending_.push_back(s);
    }
  }

  void register_all() {
    std::vector<StateBase*> pending;
    {
      std::lock_guard lock(mu_);
      pending = pending_;
    }
    for (auto* s : pending) {
      if (s->add_waiter(this)) {
        std::lock_guard lock(mu_);
        registered_.push_back(s);
      } else {
        on_done(s);
      }
    }
  }

  ~CompletionQueue() {
    for (auto* s : registered_) s->remove_waiter(this);
  }

  void on_done(StateBase* s) override {
    std::lock_guard lock(mu_);
    auto it = std::find(pending_.begin(), pending_.end(), s);
    if (it == pending_.end()) return;
    pending_.erase(it);
    ready_.push_back(s);
    cv_.notify_all();
  }

  StateBase* next() {
    auto has_next = [this] { return !ready_.empty() || pending_.empty(); };
    help_while_waiting(
        current_wait_helper(),
        [&] {
          std::lock_guard lock(mu_);
          return has_next();
        },
        all_, deadline_);
    std::unique_lock lock(mu_);
    if (deadline_) {
      if (!cv_.wait_until(lock, *deadline_, has_next))
        throw TimeoutError(std::to_string(pending_.size()) + " (of " + std::to_string(total_) +
                           ") futures unfinished");
    } else {
      cv_.wait(lock, has_next);
    }
    if (ready_.empty()) return nullptr;
    auto* s = ready_.front();
    ready_.pop_front();
    return s;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Deadline deadline_;
  std::size_t total_ = 0;
  std::deque<StateBase*> ready_;
  std::vector<StateBase*> pending_;
  std::vector<StateBase*> registered_;
  std::vector<StateBase*> all_;  // what the caller awaits, for the helping rule (the caller keeps them alive)
};

void CompletionQueueDeleter::operator()(CompletionQueue* q) const noexcept { delete q; }

std::unique_ptr<CompletionQueue, CompletionQueueDeleter> make_completion_queue(std::span<StateBase* const> states,
                                                                               const Deadline& deadline) {
  std::unique_ptr<CompletionQueue, CompletionQueueDeleter> q(new CompletionQueue(states, deadline));
  q->register_all();
  return q;
}

StateBase* next_completed(CompletionQueue& q) { return q.next(); }

}  // namespace detail
}  // namespace tandem
