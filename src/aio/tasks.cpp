// The multi-task wait behind gather / wait (see tandem/aio/tasks.hpp).
#include "tandem/aio/tasks.hpp"

namespace tandem::aio::detail {

WaitTasks::WaitTasks(std::vector<TaskCoreBase*> tasks, Until until, bool propagate_cancel,
                     std::optional<TimePoint> deadline)
    : tasks_(std::move(tasks)),
      nodes_(std::make_unique<Node[]>(tasks_.size())),
      until_(until),
      propagate_(propagate_cancel),
      deadline_(deadline),
      remaining_(tasks_.size()) {
  if (tasks_.empty()) satisfied_ = true;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    nodes_[i].owner = this;
    nodes_[i].task = tasks_[i];
    if (tasks_[i]->done() && check(tasks_[i])) satisfied_ = true;
  }
}

WaitTasks::~WaitTasks() {
  for (std::size_t i = 0; i < tasks_.size(); ++i) nodes_[i].unlink();
  if (armed()) loop_->remove_timer(this);
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
  if (task_->take_pending_cancel()) {
    cancelled_ = true;
    if (propagate_)
      for (auto* t : tasks_) t->cancel(task_->cancel_message());
    return false;
  }
  loop_ = &task_->loop();
  for (std::size_t i = 0; i < tasks_.size(); ++i)
    if (!tasks_[i]->done()) tasks_[i]->add_done_waiter(&nodes_[i]);
  if (deadline_) {
    when = *deadline_;
    fire = &on_timer;
    loop_->add_timer(this);
  }
  suspended_ = true;
  task_->suspend_on(this, h);
  return true;
}

void WaitTasks::await_resume() const {
  if (cancelled_) throw task_->cancelled_error();
}

void WaitTasks::child_done(TaskCoreBase* t) noexcept {
  if (satisfied_) return;
  if (check(t)) finish();
}

void WaitTasks::finish() noexcept {
  satisfied_ = true;
  for (std::size_t i = 0; i < tasks_.size(); ++i) nodes_[i].unlink();
  if (armed()) loop_->remove_timer(this);
  if (suspended_) task_->wake();
}

void WaitTasks::on_timer(TimerNode* n) noexcept {
  auto* w = static_cast<WaitTasks*>(n);
  w->timed_out_ = true;
  w->finish();
}

bool WaitTasks::cancel_wait() noexcept {
  if (propagate_) {
    propagated_ = true;
    for (auto* t : tasks_)
      if (!t->done()) t->cancel(task_->cancel_message());
    return true;  // we keep waiting: the children's own outcomes decide
  }
  cancelled_ = true;
  finish();
  return true;
}

}  // namespace tandem::aio::detail
