// Scheduled tasks: the cancellation protocol and completion (see tandem/aio/task.hpp).
#include "tandem/aio/task.hpp"
#include "tandem/aio/detail/suspension.hpp"

#include <atomic>
#include <cstdio>

namespace tandem::aio {
namespace detail {

namespace {
std::atomic<std::uint64_t> g_next_task_id{1};

// Task ids are handed out to each thread in blocks, so that creating a task costs no atomic operation;
// on one loop they still count up in creation order, as asyncio's do.
constexpr std::uint64_t kIdBlock = 4096;
struct IdRange {
  std::uint64_t next = 0, end = 0;
};
constinit thread_local IdRange t_ids;

std::uint64_t next_task_id() noexcept {
  if (t_ids.next == t_ids.end) {
    t_ids.next = g_next_task_id.fetch_add(kIdBlock, std::memory_order_relaxed);
    t_ids.end = t_ids.next + kIdBlock;
  }
  return t_ids.next++;
}

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
    : loop_(&loop),
      id_(next_task_id()),
      status_(static_cast<std::uint64_t>(Status::pending)),
      must_cancel_(false),
      scheduled_(false),
      started_(false),
      retrieved_(false) {
  if (!name.empty()) {
    try {
      extras().name = std::move(name);
    } catch (...) {  // out of memory for a name: the task keeps its default one
    }
  }
}

TaskCoreBase::~TaskCoreBase() {
  if (status() == Status::failed && !retrieved_) {
    std::string line = "tandem.aio: Task exception was never retrieved: task '" + name() + "' failed with: " +
                       describe(error_) + " (await the task, or call result()/exception() on its handle)\n";
    std::fputs(line.c_str(), stderr);
  }
}

std::string TaskCoreBase::name() const {
  if (extras_ && !extras_->name.empty()) return extras_->name;
  return "Task-" + std::to_string(id());
}

const std::string& TaskCoreBase::cancel_message() const noexcept {
  static const std::string none;
  return extras_ ? extras_->cancel_message : none;
}

bool TaskCoreBase::cancel(std::string message) {
  if (done()) return false;
  if (cancel_requests_ < UINT32_MAX) ++cancel_requests_;
  if (!message.empty() || extras_) extras().cancel_message = std::move(message);
  if (waiting_on_) {
    waiting_on_->cancel_wait();  // parked: the suspension ends the wait or passes the request on
    return true;
  }
  must_cancel_ = true;  // running: due at its next suspension point
  return true;
}

int TaskCoreBase::uncancel() noexcept {
  if (cancel_requests_ > 0) --cancel_requests_;
  if (cancel_requests_ == 0) must_cancel_ = false;  // as Python 3.13: a withdrawn request is forgotten
  return cancel_requests_;
}

void TaskCoreBase::check() {
  switch (status()) {
    case Status::pending:
      throw InvalidStateError("task '" + name() + "' is not done yet: co_await it instead of calling result()");
    case Status::cancelled:
      throw cancelled_error();
    case Status::failed:
      mark_retrieved();
      std::rethrow_exception(error());
    case Status::finished:
      break;
  }
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

void TaskCoreBase::remove_done_waiter(DoneWaiter* w) noexcept {
  if (waiter_ == w) {
    waiter_ = nullptr;
  } else if (extras_) {
    auto& ws = extras_->waiters;
    for (auto it = ws.begin(); it != ws.end(); ++it) {
      if (*it == w) {
        ws.erase(it);
        break;
      }
    }
  }
}

void TaskCoreBase::wake() noexcept {
  if (scheduled_) return;
  scheduled_ = true;
  add_ref();  // the ready queue's: dropped in run_ready
  LoopAccess::schedule(*loop_, this);
}

void TaskCoreBase::start(std::coroutine_handle<> root) noexcept {
  resume_point_ = root;
  wake();
}

void TaskCoreBase::run_ready(bool execute) noexcept {
  scheduled_ = false;
  if (execute) step();
  release();  // the ready queue's reference keeps the task alive through its step
}

void TaskCoreBase::step() noexcept {
  if (done()) return;
  if (!started_) {
    started_ = true;
    if (must_cancel_) {  // cancelled before it ever ran: the body never starts (as in asyncio)
      destroy_frame();
      complete(std::make_exception_ptr(cancelled_error()));
      return;
    }
  }
  // From here on the task acts on its wake-up: a cancel() now is for its next suspension point.
  waiting_on_ = nullptr;
  EventLoop& loop = *loop_;
  auto* previous = LoopAccess::current_task(loop);
  LoopAccess::set_current_task(loop, this);
  resume_point_.resume();
  LoopAccess::set_current_task(loop, previous);
}

void TaskCoreBase::complete(std::exception_ptr error) noexcept {
  Status outcome = Status::finished;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const CancelledError&) {
      outcome = Status::cancelled;
    } catch (...) {
      outcome = Status::failed;
    }
  } else if (must_cancel_) {  // cancel() arrived after the last suspension: asyncio marks it cancelled
    outcome = Status::cancelled;
    try {
      error = std::make_exception_ptr(cancelled_error());
    } catch (...) {
    }
  }
  status_ = static_cast<std::uint64_t>(outcome);
  error_ = std::move(error);
  must_cancel_ = false;
  waiting_on_ = nullptr;
  if (auto* w = std::exchange(waiter_, nullptr)) w->on_task_done(*this);
  std::vector<std::function<void(TaskCoreBase&)>> callbacks;
  if (extras_) {
    // A waiter may withdraw another one while being told (a gather that finishes unregisters itself
    // from its other children): take them one at a time from the live list.
    while (!extras_->waiters.empty()) {
      DoneWaiter* w = extras_->waiters.front();
      extras_->waiters.erase(extras_->waiters.begin());
      w->on_task_done(*this);
    }
    callbacks = std::move(extras_->callbacks);
  }
  for (auto& cb : callbacks) {
    try {
      loop_->call_soon([ref = CoreRef(this), fn = std::move(cb)]() mutable { fn(*ref.p); });
    } catch (...) {
      loop_->report("tandem.aio: out of memory scheduling a done callback of task '" + name() + "'");
    }
  }
  LoopAccess::unregister_task(*loop_, this);
}

void TaskCoreBase::abandon() noexcept {
  if (done()) return;
  waiter_ = nullptr;
  if (extras_) {
    extras_->callbacks.clear();
    extras_->waiters.clear();
  }
  destroy_frame();
  status_ = static_cast<std::uint64_t>(Status::cancelled);
}

TaskCoreBase& current_task_for(const char* what) {
  auto* loop = EventLoop::running_loop();
  if (!loop || !LoopAccess::current_task(*loop))
    throw InvalidStateError(std::string(what) +
                            " must be awaited inside a task running on a tandem::aio event loop (use aio::run)");
  return *LoopAccess::current_task(*loop);
}

}  // namespace detail

AnyTask current_task() {
  auto* loop = EventLoop::running_loop();
  if (!loop || !detail::LoopAccess::current_task(*loop)) return {};
  return AnyTask(detail::LoopAccess::current_task(*loop));
}

std::string current_task_name() {
  auto* loop = EventLoop::running_loop();
  return loop && detail::LoopAccess::current_task(*loop) ? detail::LoopAccess::current_task(*loop)->name() : std::string();
}

bool cancel_current_task(std::string message) {
  auto* loop = EventLoop::running_loop();
  return loop && detail::LoopAccess::current_task(*loop) && detail::LoopAccess::current_task(*loop)->cancel(std::move(message));
}

}  // namespace tandem::aio
