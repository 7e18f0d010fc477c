// The multi-task wait behind gather / wait (see tandem/aio/tasks.hpp).
#include "tandem/aio/tasks.hpp"

namespace tandem::aio::detail {

// Nothing is read from the tasks here: await_suspend looks at each task once, checking and
// registering in the same pass (a million children are a million cache misses per pass).
WaitTasks::WaitTasks(TaskSpan tasks, Until until, bool propagate_cancel, std::optional<TimePoint> deadline)
    : tasks_(tasks), until_(until), propagate_(propagate_cancel), deadline_(deadline), remaining_(tasks.size) {
  if (tasks_.size == 0) satisfied_ = true;
}

WaitTasks::~WaitTasks() {
  unregister();
  if (armed()) LoopAccess::remove_timer(task_->loop(), this);
}

void WaitTasks::unregister() noexcept {
  if (!registered_) return;
  registered_ = false;
  for (std::size_t i = 0; i < tasks_.size; ++i) {
    TaskCoreBase* t = tasks_[i];
    if (!t->done()) t->remove_done_waiter(this);
  }
}

void WaitTasks::cancel_children() noexcept {
  for (std::size_t i = 0; i < tasks_.size; ++i) tasks_[i]->cancel(task_->cancel_message());  // done ones say no
}

bool WaitTasks::check(TaskCoreBase* t) noexcept {
  --remaining_;
  switch (until_) {
    case Until::first_completed:
      return true;
    case Until::first_failure:
      if (t->status() == TaskCoreBase::Status::failed || t->status() == TaskCoreBase::Status::cancelled) {
        if (!first_failure_) first_failure_ = t;
        return true;
      }
      break;
    case Until::first_exception:
      if (t->status() == TaskCoreBase::Status::failed) return true;
      break;
    case Until::all:
      break;
  }
  return remaining_ == 0;
}

bool WaitTasks::await_suspend(std::coroutine_handle<> h) {
  bind("aio::gather / aio::wait");
  registered_ = true;  // set first: a registration that throws is undone by the destructor
  for (std::size_t i = 0; i < tasks_.size; ++i) {
    TaskCoreBase* t = tasks_[i];
    if (!t->done()) {
      t->add_done_waiter(this);
    } else if (check(t)) {
      // Decided by children that are done already (one failed, or none is left): like awaiting a
      // done future in asyncio, this does not suspend, so it is not a cancellation point either.
      satisfied_ = true;
      unregister();
      return false;
    }
  }
  if (cancelled_before_suspending()) return false;
  if (deadline_) {
    when = *deadline_;
    fire = &on_timer;
    LoopAccess::add_timer(task_->loop(), this);
  }
  suspended_ = true;
  suspend(h);
  return true;
}

void WaitTasks::await_resume() const { throw_if_cancelled(); }

void WaitTasks::on_task_done(TaskCoreBase& t) noexcept {
  if (satisfied_) return;
  if (check(&t)) finish();
}

void WaitTasks::finish() noexcept {
  satisfied_ = true;
  // A child takes our registration back before telling us it is done, so once every child is done
  // nothing is left to withdraw, and the million-task pass below is skipped.
  if (remaining_ == 0)
    registered_ = false;
  else
    unregister();
  if (armed()) LoopAccess::remove_timer(task_->loop(), this);
  if (suspended_) wake();
}

void WaitTasks::on_timer(TimerNode* n) noexcept {
  auto* w = static_cast<WaitTasks*>(n);
  w->timed_out_ = true;
  w->finish();
}

Suspension::Cancel WaitTasks::on_cancel() noexcept {
  if (propagate_ && !satisfied_) {
    propagated_ = true;
    cancel_children();
    return Cancel::passed_on;  // we keep waiting: the children's own outcomes decide
  }
  // Otherwise this waiter alone is cancelled (also when it was already woken, but has not run yet).
  finish();
  return Cancel::ends_wait;
}

// Registered with the children already (await_suspend looks at each child once): withdraw, and pass
// the request on to them if this is gather; the co_await throws at once either way.
Suspension::Cancel WaitTasks::on_pending_cancel() noexcept {
  unregister();
  if (propagate_) cancel_children();
  return Cancel::ends_wait;
}

}  // namespace tandem::aio::detail
