// TaskGroup (see tandem/aio/taskgroups.hpp).
#include "tandem/aio/taskgroups.hpp"

namespace tandem::aio {

namespace {
bool is_cancellation(const std::exception_ptr& e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}
}  // namespace

/// Parks join() until the last child is done. An outside cancel() of the parent does not interrupt
/// the wait: it cancels the children and is rethrown once they are all done.
class TaskGroup::JoinWait final : detail::Suspension {
 public:
  explicit JoinWait(TaskGroup& g) : g_(g) {}
  ~JoinWait() {
    if (g_.join_waiter_ == this) g_.join_waiter_ = nullptr;
  }
  bool await_ready() const noexcept { return g_.children_.empty(); }
  void await_suspend(std::coroutine_handle<> h) {
    bind("TaskGroup::join");
    cancelled_before_suspending();  // never true: a pending request is passed on, and join() waits
    g_.join_waiter_ = this;
    suspend(h);
  }
  void await_resume() const noexcept {}
  void wake_up() noexcept {
    g_.join_waiter_ = nullptr;
    wake();
  }

 private:
  // Consumed: the children are cancelled, and join() rethrows it after they are all done.
  Cancel on_cancel() noexcept override {
    g_.cancelled_while_joining_ = true;
    if (!g_.aborting_) g_.abort();
    return Cancel::passed_on;
  }
  Cancel on_pending_cancel() noexcept override { return on_cancel(); }
  TaskGroup& g_;
};

TaskGroup::TaskGroup() : parent_(&detail::current_task_for("aio::TaskGroup")) { parent_->add_ref(); }

TaskGroup::~TaskGroup() {
  for (auto* c : children_) {
    c->core->remove_done_waiter(c);
    c->core->mark_retrieved();
    c->core->cancel();
    c->core->release();
    delete c;
  }
  parent_->release();
}

void TaskGroup::check_open() const {
  if (joined_) throw InvalidStateError("TaskGroup is finished: create tasks inside its body");
  if (aborting_) throw InvalidStateError("TaskGroup is shutting down (a task failed or it was cancelled)");
}

void TaskGroup::adopt(detail::TaskCoreBase* core) {
  children_.reserve(children_.size() + 1);  // nothing below throws once the Child exists
  auto* c = new Child;
  c->group = this;
  c->core = core;
  core->add_ref();
  c->index = children_.size();
  try {
    core->add_done_waiter(c);
  } catch (...) {
    core->release();
    delete c;
    throw;
  }
  children_.push_back(c);
}

void TaskGroup::remove(Child* c) noexcept {
  Child* last = children_.back();
  children_[c->index] = last;
  last->index = c->index;
  children_.pop_back();
}

void TaskGroup::abort() noexcept {
  aborting_ = true;
  for (auto* c : children_)
    if (!c->core->done()) c->core->cancel();
}

void TaskGroup::on_child_done(Child* c) noexcept {
  remove(c);
  detail::TaskCoreBase* core = c->core;
  delete c;
  if (children_.empty() && join_waiter_) join_waiter_->wake_up();
  if (core->status() == detail::TaskCoreBase::Status::failed) {
    core->mark_retrieved();
    errors_.push_back(core->error());
    if (!aborting_) {
      abort();
      // The body is still running: interrupt whatever it awaits. join() withdraws this request.
      if (!exiting_ && !parent_->done()) {
        parent_cancel_requested_ = true;
        parent_->cancel();
      }
    }
  }
  core->release();
}

Task<void> TaskGroup::join(std::exception_ptr body_error) {
  if (joined_) throw InvalidStateError("TaskGroup::join() was already called");
  exiting_ = true;
  const bool body_cancelled = is_cancellation(body_error);
  if (body_error && !aborting_) abort();
  while (!children_.empty()) co_await JoinWait(*this);
  joined_ = true;
  bool propagate_cancel = body_cancelled || cancelled_while_joining_;
  if (parent_cancel_requested_ && parent_->uncancel() == 0 && !cancelled_while_joining_)
    propagate_cancel = false;  // the only cancellation was our own
  if (propagate_cancel && errors_.empty()) {
    if (body_cancelled) std::rethrow_exception(body_error);
    throw parent_->cancelled_error();
  }
  if (body_error && !body_cancelled) errors_.push_back(body_error);
  if (errors_.size() == 1) std::rethrow_exception(errors_.front());
  if (errors_.size() > 1) throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_));
}

}  // namespace tandem::aio
