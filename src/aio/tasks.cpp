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
  if (armed()) task_->loop().remove_timer(this);
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
  task_ = &current_task_for("aio::gather / aio::wait");
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
  if (task_->take_pending_cancel()) {
    unregister();
    cancelled_ = true;
    if (propagate_) cancel_children();
    return false;
  }
  if (deadline_) {
    when = *deadline_;
    fire = &on_timer;
    task_->loop().add_timer(this);
  }
  suspended_ = true;
  task_->suspend_on(this, h);
  return true;
}

void WaitTasks::await_resume() const {
  if (cancelled_) throw task_->cancelled_error();
}

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
  if (armed()) task_->loop().remove_timer(this);
  if (suspended_) task_->wake();
}

void WaitTasks::on_timer(TimerNode* n) noexcept {
  auto* w = static_cast<WaitTasks*>(n);
  w->timed_out_ = true;
  w->finish();
}

bool WaitTasks::cancel_wait() noexcept {
  if (propagate_ && !satisfied_) {
    propagated_ = true;
    cancel_children();
    return true;  // we keep waiting: the children's own outcomes decide
  }
  // Otherwise this waiter alone is cancelled (also when it was already woken, but has not run yet).
  cancelled_ = true;
  finish();
  return true;
}

}  // namespace tandem::aio::detail
