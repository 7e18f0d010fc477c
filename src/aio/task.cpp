// Scheduled tasks: the cancellation protocol and completion (see tandem/aio/task.hpp).
#include "tandem/aio/task.hpp"

#include <atomic>
#include <cstdio>

namespace tandem::aio {
namespace detail {

namespace {
std::atomic<std::uint64_t> g_next_task_id{1};

// Keeps a core alive inside a std::function (copyable, unlike a unique owner).
struct CoreRef {
  TaskCoreBase* p;
  explicit CoreRef(TaskCoreBase* c) noexcept : p(c) { p->add_ref(); }
  CoreRef(const CoreRef& o) noexcept : p(o.p) { p->add_ref(); }
  CoreRef& operator=(const CoreRef&) = delete;
  ~CoreRef() { p->release(); }
};

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}
}  // namespace

TaskCoreBase::TaskCoreBase(EventLoop& loop, std::string name) noexcept
    : loop_(&loop), id_(g_next_task_id.fetch_add(1, std::memory_order_relaxed)) {
  if (!name.empty()) {
    try {
      extras().name = std::move(name);
    } catch (...) {  // out of memory for a name: the task keeps its default one
    }
  }
}

TaskCoreBase::~TaskCoreBase() {
  if (status_ == Status::failed && !retrieved_) {
    std::string line = "tandem.aio: Task exception was never retrieved: task '" + name() + "' failed with: " +
                       describe(error_) + " (await the task, or call result()/exception() on its handle)\n";
    std::fputs(line.c_str(), stderr);
  }
}

std::string TaskCoreBase::name() const {
  if (extras_ && !extras_->name.empty()) return extras_->name;
  return "Task-" + std::to_string(id_);
}

const std::string& TaskCoreBase::cancel_message() const noexcept {
  static const std::string none;
  return extras_ ? extras_->cancel_message : none;
}

bool TaskCoreBase::cancel(std::string message) {
  if (done()) return false;
  ++cancel_requests_;
  if (!message.empty() || extras_) extras().cancel_message = std::move(message);
  if (waiting_on_ && waiting_on_->cancel_wait()) return true;
  must_cancel_ = true;
  return true;
}

int TaskCoreBase::uncancel() noexcept {
  if (cancel_requests_ > 0) --cancel_requests_;
  if (cancel_requests_ == 0) must_cancel_ = false;  // as Python 3.13: a withdrawn request is forgotten
  return cancel_requests_;
}

CancelledError TaskCoreBase::cancelled_error() const {
  if (!cancel_message().empty()) return CancelledError(cancel_message());
  return CancelledError("task '" + name() + "' was cancelled");
}

void TaskCoreBase::add_done_callback(std::function<void(TaskCoreBase&)> fn) {
  if (done()) {
    loop_->call_soon([ref = CoreRef(this), fn = std::move(fn)]() mutable { fn(*ref.p); });
    return;
  }
  extras().callbacks.push_back(std::move(fn));
}

void TaskCoreBase::wake() noexcept {
  waiting_on_ = nullptr;
  if (scheduled_) return;
  scheduled_ = true;
  loop_->schedule({&step_thunk, this});
}

void TaskCoreBase::start(std::coroutine_handle<> root) noexcept {
  resume_point_ = root;
  wake();
}

void TaskCoreBase::step_thunk(void* self, bool execute) {
  if (execute) static_cast<TaskCoreBase*>(self)->step();
}

void TaskCoreBase::step() noexcept {
  scheduled_ = false;
  if (done()) return;
  add_ref();  // completion drops the loop's reference inside resume()
  if (!started_) {
    started_ = true;
    if (must_cancel_) {  // cancelled before it ever ran: the body never starts (as in asyncio)
      destroy_frame();
      complete(std::make_exception_ptr(cancelled_error()));
      release();
      return;
    }
  }
  EventLoop& loop = *loop_;
  auto* previous = loop.current_task();
  loop.set_current_task(this);
  resume_point_.resume();
  loop.set_current_task(previous);
  release();
}

void TaskCoreBase::complete(std::exception_ptr error) noexcept {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const CancelledError&) {
      status_ = Status::cancelled;
    } catch (...) {
      status_ = Status::failed;
    }
  } else if (must_cancel_) {  // cancel() arrived after the last suspension: asyncio marks it cancelled
    status_ = Status::cancelled;
    try {
      error = std::make_exception_ptr(cancelled_error());
    } catch (...) {
    }
  } else {
    status_ = Status::finished;
  }
  error_ = std::move(error);
  must_cancel_ = false;
  waiting_on_ = nullptr;
  while (auto* n = done_waiters_.pop_front()) static_cast<DoneWaiter*>(n)->on_task_done();
  std::vector<std::function<void(TaskCoreBase&)>> callbacks;
  if (extras_) callbacks = std::move(extras_->callbacks);
  for (auto& cb : callbacks) {
    try {
      loop_->call_soon([ref = CoreRef(this), fn = std::move(cb)]() mutable { fn(*ref.p); });
    } catch (...) {
      loop_->report("tandem.aio: out of memory scheduling a done callback of task '" + name() + "'");
    }
  }
  loop_->unregister_task(this);
}

void TaskCoreBase::abandon() noexcept {
  if (done()) return;
  done_waiters_.clear();
  if (extras_) extras_->callbacks.clear();
  destroy_frame();
  status_ = Status::cancelled;
}

TaskCoreBase& current_task_for(const char* what) {
  auto* loop = EventLoop::running_loop();
  if (!loop || !loop->current_task())
    throw InvalidStateError(std::string(what) +
                            " must be awaited inside a task running on a tandem::aio event loop (use aio::run)");
  return *loop->current_task();
}

}  // namespace detail

std::string current_task_name() {
  auto* loop = EventLoop::running_loop();
  return loop && loop->current_task() ? loop->current_task()->name() : std::string();
}

bool cancel_current_task(std::string message) {
  auto* loop = EventLoop::running_loop();
  return loop && loop->current_task() && loop->current_task()->cancel(std::move(message));
}

}  // namespace tandem::aio
