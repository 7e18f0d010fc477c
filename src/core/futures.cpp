#include "tandem/futures.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>

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

WaitHelper*& current_wait_helper() noexcept {
  thread_local WaitHelper* helper = nullptr;
  return helper;
}

void throw_no_state() { throw InvalidStateError("this future has no shared state (default-constructed or moved from)"); }

bool StateBase::cancel() {
  std::unique_lock lock(mu_);
  auto s = state_.load(std::memory_order_relaxed);
  if (s == FutureState::running || s == FutureState::finished) return false;
  if (s == FutureState::cancelled) return true;
  complete(lock, FutureState::cancelled);
  return true;
}

bool StateBase::set_running_or_notify_cancel() {
  std::lock_guard lock(mu_);
  auto s = state_.load(std::memory_order_relaxed);
  if (s == FutureState::cancelled) return false;
  if (s != FutureState::pending)
    throw InvalidStateError(std::string("set_running_or_notify_cancel on a future in state ") + to_string(s));
  state_.store(FutureState::running, std::memory_order_release);
  return true;
}

void StateBase::check_can_set(const char* what) const {
  auto s = state_.load(std::memory_order_relaxed);
  if (s == FutureState::cancelled || s == FutureState::finished)
    throw InvalidStateError(std::string(what) + " on a future that is already " + to_string(s));
}

void StateBase::set_exception(std::exception_ptr error) {
  if (!error) throw std::invalid_argument("set_exception needs a non-null exception_ptr");
  std::unique_lock lock(mu_);
  check_can_set("set_exception");
  error_ = std::move(error);
  complete(lock, FutureState::finished);
}

void StateBase::complete(std::unique_lock<std::mutex>& lock, FutureState final_state) {
  state_.store(final_state, std::memory_order_release);
  for (Waiter* w : waiters_) w->on_done(this);
  auto callbacks = std::move(callbacks_);
  callbacks_.clear();
  const bool wake = sleepers_ != 0;
  // Callbacks may drop the last outside reference; hold one until they are done.
  add_ref();
  lock.unlock();
  if (wake) cv_.notify_all();
  for (auto& cb : callbacks) {
    try {
      cb(*this);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tandem: exception calling a done-callback: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "tandem: unknown exception calling a done-callback\n");
    }
  }
  release();
}

bool StateBase::wait_until(const Deadline& deadline) {
  if (done()) return true;
  // A pool worker waiting on a future runs queued tasks meanwhile: the awaited task may be one of them.
  if (WaitHelper* helper = current_wait_helper()) {
    while (!done() && (!deadline || std::chrono::steady_clock::now() < *deadline) && helper->run_one()) {
    }
  }
  std::unique_lock lock(mu_);
  ++sleepers_;
  auto is_done = [this] { return done(); };
  if (deadline)
    cv_.wait_until(lock, *deadline, is_done);
  else
    cv_.wait(lock, is_done);
  --sleepers_;
  return done();
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
    std::lock_guard lock(mu_);
    if (!done()) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  try {
    callback(*this);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: exception calling a done-callback: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "tandem: unknown exception calling a done-callback\n");
  }
}

bool StateBase::add_waiter(Waiter* w) {
  std::lock_guard lock(mu_);
  if (done()) return false;
  waiters_.push_back(w);
  return true;
}

void StateBase::remove_waiter(Waiter* w) {
  std::lock_guard lock(mu_);
  std::erase(waiters_, w);
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

  void wait(const Deadline& deadline) {
    std::unique_lock lock(mu_);
    if (deadline)
      cv_.wait_until(lock, *deadline, [this] { return satisfied_; });
    else
      cv_.wait(lock, [this] { return satisfied_; });
  }

 private:
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
    waiter.wait(deadline);
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
    std::unique_lock lock(mu_);
    auto has_next = [this] { return !ready_.empty() || pending_.empty(); };
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
