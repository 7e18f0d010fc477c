// The GIL's take/drop, after CPython's Python/ceval_gil.c (take_gil, drop_gil, FORCE_SWITCHING).
#include "lab/gil.hpp"

#include <cassert>
#include <stdexcept>

namespace tandem::lab {

Gil::Gil(std::chrono::microseconds switch_interval) : interval_(switch_interval) {
  if (switch_interval.count() <= 0) throw std::invalid_argument("the GIL's switch interval must be positive");
}

Gil::~Gil() { assert(!locked_ && "a Gil destroyed while a thread holds it"); }

void Gil::take() {
  std::unique_lock lock(mutex_);
  while (locked_) {
    const std::uint64_t seen = switch_number_;
    const bool timed_out = cond_.wait_for(lock, interval_) == std::cv_status::timeout;
    // A whole interval without a hand-off: ask the holder to drop it at its next check.
    if (timed_out && locked_ && switch_number_ == seen) drop_request_.store(true, std::memory_order_relaxed);
  }
  locked_ = true;
  const auto me = std::this_thread::get_id();
  if (last_holder_ != me) {
    last_holder_ = me;
    ++switch_number_;
    switches_.fetch_add(1, std::memory_order_relaxed);
    switch_cond_.notify_all();  // the forced dropper may ask again
  }
  // The request is served (or was another waiter's, who will renew it after its own interval).
  drop_request_.store(false, std::memory_order_relaxed);
  if (recording_) {
    const auto* lane = Recorder::current_lane();
    current_hold_ = Hold{lane ? lane->index() : Hold::kNoLane, Recorder::Clock::now(), {}};
  }
}

void Gil::drop(bool forced) {
  std::unique_lock lock(mutex_);
  if (recording_) {
    current_hold_.end = Recorder::Clock::now();
    holds_.push_back(current_hold_);
  }
  locked_ = false;
  cond_.notify_one();
  if (!forced) return;
  // Forced switching: not before another thread took it, so the waiter that asked gets it next.
  const auto me = std::this_thread::get_id();
  switch_cond_.wait(lock, [&] { return last_holder_ != me; });
}

bool Gil::yield_if_requested() {
  if (!drop_request_.load(std::memory_order_relaxed)) return false;
  forced_.fetch_add(1, std::memory_order_relaxed);
  drop(true);
  take();
  return true;
}

Gil::Holder::Holder(Gil& gil) : gil_(gil) {
  if (detail::current_gil != nullptr)
    throw std::logic_error(detail::current_gil == &gil ? "this thread already holds the GIL"
                                                       : "this thread already holds another GIL");
  gil_.take();
  detail::current_gil = &gil_;
}

Gil::Holder::~Holder() {
  detail::current_gil = nullptr;
  gil_.drop(false);
}

Gil::Released::Released() : gil_(detail::current_gil) {
  if (gil_ == nullptr) return;
  detail::current_gil = nullptr;
  gil_->drop(false);
}

Gil::Released::~Released() {
  if (gil_ == nullptr) return;
  gil_->take();
  detail::current_gil = gil_;
}

void gil_sleep(std::chrono::nanoseconds duration) {
  Gil::Released released;
  std::this_thread::sleep_for(duration);
}

}  // namespace tandem::lab
