// The event loop: ready queue, timer heap, epoll, eventfd wake-ups, signalfd (see tandem/aio/events.hpp).
#include "tandem/aio/events.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <system_error>

#include "tandem/aio/task.hpp"
#include "tandem/errors.hpp"
#include "../sys/errors.hpp"

namespace tandem::aio {

namespace detail {

// ---- timer heap -----------------------------------------------------------------------------------

void TimerHeap::push(TimerNode* n) {
  n->seq = next_seq_++;
  heap_.push_back(n);
  n->index = static_cast<std::uint32_t>(heap_.size() - 1);
  sift_up(n->index);
}

void TimerHeap::remove(TimerNode* n) noexcept {
  if (!n->armed()) return;
  std::size_t i = n->index;
  n->index = TimerNode::npos;
  TimerNode* last = heap_.back();
  heap_.pop_back();
  if (last == n) return;
  place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / 2]))
    sift_up(i);
  else
    sift_down(i);
}

TimerNode* TimerHeap::pop() noexcept {
  if (heap_.empty()) return nullptr;
  TimerNode* n = heap_.front();
  remove(n);
  return n;
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!before(n, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], n)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

// ---- callbacks ------------------------------------------------------------------------------------

/// Where a callback item's memory comes from: the loop thread's pool for call_soon, the ordinary heap
/// for call_soon_threadsafe (a pool would give each posting thread pages of its own to keep).
struct HeapAllocated {};

/// A callback waiting in the ready queue (call_soon, or posted from another thread).
template <class Allocation>
class CallbackItem final : public ReadyItem, public Allocation {
 public:
  explicit CallbackItem(std::function<void()> fn) : fn_(std::move(fn)) {}
  void run_ready(bool execute) noexcept override {
    std::unique_ptr<CallbackItem> self(this);
    if (execute) LoopAccess::run_callback_now(*EventLoop::running_loop(), fn_);
  }

 private:
  std::function<void()> fn_;
};
using LocalCallback = CallbackItem<PoolAllocated>;
using PostedCallback = CallbackItem<HeapAllocated>;

// ---- cross-thread queue ---------------------------------------------------------------------------

/// The part of a loop other threads talk to. Shared, so that a producer holding it can outlive the loop:
/// after close() posts are refused instead of touching freed memory.
///
/// Posts wait here as ready items until the loop takes them, in posting order, to the end of its
/// ready queue: when epoll reports the eventfd, or earlier — before the loop queues anything of its
/// own (call_soon, a task's wake-up) while posts are pending, so that a callback posted before a
/// call_soon runs before it, as in asyncio, whose call_soon_threadsafe appends to the same queue.
class Remote {
 public:
  Remote() : efd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (efd_ < 0) sys::throw_errno("eventfd", errno);
  }
  ~Remote() {
    close();
    ::close(efd_);
  }
  int fd() const noexcept { return efd_; }
  /// True while posts wait to be taken. Read without the lock by the loop, so only a hint — except
  /// that a post which happened before the loop's check (through any synchronization) is always seen.
  const std::atomic<bool>& pending() const noexcept { return pending_; }

  bool post(std::function<void()>&& fn) {
    auto item = std::make_unique<PostedCallback>(std::move(fn));
    std::lock_guard lock(mu_);
    if (closed_) return false;
    queue_.push_back(item.release());
    pending_.store(true, std::memory_order_relaxed);
    if (!signaled_) {  // one write per batch: producers do not pay a syscall each
      signaled_ = true;
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(efd_, &one, sizeof one);
    }
    return true;
  }
  /// Moves every post to the end of `ready`, in posting order. The eventfd stays as it is: epoll
  /// reports it once more and drain() finds nothing.
  void take(ReadyQueue& ready) {
    std::lock_guard lock(mu_);
    ready.append(queue_);
    pending_.store(false, std::memory_order_relaxed);
  }
  /// take(), after epoll reported the eventfd.
  void drain(ReadyQueue& ready) {
    std::uint64_t value;
    [[maybe_unused]] auto r = ::read(efd_, &value, sizeof value);
    std::lock_guard lock(mu_);
    ready.append(queue_);
    pending_.store(false, std::memory_order_relaxed);
    signaled_ = false;
  }
  void close() {
    ReadyQueue dropped;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      dropped.append(queue_);
      pending_.store(false, std::memory_order_relaxed);
    }
    while (auto* item = dropped.pop_front()) item->run_ready(false);
  }

 private:
  int efd_;
  std::mutex mu_;
  ReadyQueue queue_;
  std::atomic<bool> pending_{false};
  bool signaled_ = false;
  bool closed_ = false;
};

class CallbackTimer : public TimerNode {
 public:
  static void on_fire(TimerNode* n) noexcept {
    auto* t = static_cast<CallbackTimer*>(n);
    auto keep = std::move(t->self);  // the heap's reference: the timer may die once we return
    auto fn = std::move(t->fn);
    t->fired = true;
    if (t->loop) LoopAccess::run_callback_now(*t->loop, fn, true);
  }
  std::function<void()> fn;
  EventLoop* loop = nullptr;
  std::shared_ptr<CallbackTimer> self;
  bool cancelled = false;
  bool fired = false;
};

}  // namespace detail

namespace {
thread_local EventLoop* t_running = nullptr;

bool debug_from_env() {
  const char* v = std::getenv("TANDEM_AIO_DEBUG");
  return v && *v && std::strcmp(v, "0") != 0;
}

[[noreturn]] void throw_errno(const char* what) { sys::throw_errno(what, errno); }

std::string seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", std::chrono::duration<double>(d).count());
  return buf;
}
}  // namespace

// ---- TimerHandle ------------------------------------------------------------------------------------

void TimerHandle::cancel() {
  if (!t_ || t_->cancelled || t_->fired) return;
  t_->cancelled = true;
  if (t_->loop && t_->armed()) detail::LoopAccess::remove_timer(*t_->loop, t_.get());
  t_->fn = nullptr;  // drop captures now, not when the handle dies
  t_->self.reset();
}
bool TimerHandle::cancelled() const noexcept { return t_ && t_->cancelled; }
TimePoint TimerHandle::when() const noexcept { return t_ ? t_->when : TimePoint{}; }

// ---- EventLoop ----------------------------------------------------------------------------------------

EventLoop::EventLoop() : EventLoop(LoopOptions{}) {}

EventLoop::EventLoop(const LoopOptions& options)
    : remote_(std::make_shared<detail::Remote>()),
      posts_pending_(&remote_->pending()),
      debug_(options.debug.value_or(debug_from_env())),
      slow_callback_duration_(options.slow_callback_duration) {
  if (options.recorder) lane_ = &options.recorder->lane(options.recorder_lane);
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_errno("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = remote_->fd();
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, remote_->fd(), &ev) < 0) {
    ::close(epfd_);
    throw_errno("epoll_ctl(eventfd)");
  }
}

EventLoop::~EventLoop() {
  // 1. Tasks that never finished: destroy their frames (their awaitables unregister from us).
  std::vector<detail::TaskCoreBase*> pending;
  while (auto* n = tasks_.pop_front()) {
    auto* t = static_cast<detail::TaskCoreBase*>(n);
    pending.push_back(t);  // keeps the loop's reference
  }
  task_count_ = 0;
  for (auto* t : pending) t->abandon();
  for (auto* t : pending) t->release();
  // 2. Callbacks that will never run.
  for (int round = 0; round < 2; ++round) {
    auto items = ready_.take();
    while (auto* item = items.pop_front()) item->run_ready(false);
  }
  // 3. Timers still armed: callback timers are detached so their handles stay safe.
  while (auto* n = timers_.pop()) {
    if (n->fire == &detail::CallbackTimer::on_fire) {
      auto* t = static_cast<detail::CallbackTimer*>(n);
      t->loop = nullptr;
      auto keep = std::move(t->self);
    }
  }
  remote_->close();
  for (auto& [sig, fn] : signal_handlers_) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
  ::close(epfd_);
}

EventLoop* EventLoop::running_loop() noexcept { return t_running; }

EventLoop& get_running_loop() {
  if (!t_running)
    throw InvalidStateError(
        "no running event loop: call this from a coroutine started by tandem::aio::run() (asyncio: "
        "get_running_loop)");
  return *t_running;
}

void EventLoop::run_forever() {
  if (t_running) throw InvalidStateError("an event loop is already running on this thread");
  t_running = this;
  running_ = true;
  stopping_ = false;
  struct Reset {
    EventLoop* self;
    ~Reset() {
      t_running = nullptr;
      self->running_ = false;
      self->stopping_ = false;
    }
  } reset{this};
  while (!stopping_) run_once();
}

void EventLoop::run_once() {
  int timeout_ms = -1;
  if (!ready_.empty() || stopping_) {
    timeout_ms = 0;
  } else if (auto* top = timers_.top()) {
    auto wait = top->when - Clock::now();
    if (wait <= Duration::zero()) {
      timeout_ms = 0;
    } else {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      timeout_ms = static_cast<int>(std::min<long long>(ms, std::numeric_limits<int>::max()));
    }
  }
  epoll_event events[256];
  int n = ::epoll_wait(epfd_, events, 256, timeout_ms);
  if (n < 0) {
    if (errno != EINTR) throw_errno("epoll_wait");
    n = 0;
  }
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == remote_->fd()) {
      remote_->drain(ready_);
    } else if (fd == signal_fd_) {
      drain_signals();
    } else {
      dispatch_fd(fd, events[i].events);
    }
  }
  // asyncio's order: the timers that expired join the END of this iteration's ready batch, so what
  // was already ready runs before them. A task created just before a 1 ms wait_for therefore takes its
  // first step before the timeout cancels it, however long the machine stalled (firing timers first
  // cancelled such a task before it ever ran: found by CPython's test_wait_for ports under load).
  // What a timer wakes runs in the next iteration, as a call_soon from an asyncio timer callback does.
  // No timers, no clock read (the epoch expires nothing; timers the batch adds wait for the next round).
  const auto now = timers_.empty() ? TimePoint{} : Clock::now();
  // Only what was ready at the start of this phase runs now (asyncio's fairness rule).
  auto items = ready_.take();
  while (auto* item = items.pop_front()) {  // popped first: running it may free it
    // A burst of ready tasks is a walk over memory the caches lost long ago: start the next load now.
    if (auto* next = items.front()) __builtin_prefetch(next);
    run_ready(item);
  }
  while (auto* top = timers_.top()) {
    if (top->when > now) break;
    timers_.pop();
    top->fire(top);
  }
}

void EventLoop::run_ready(detail::ReadyItem* item) {
  if (!debug_ && !lane_) [[likely]] {
    item->run_ready(true);
    return;
  }
  detail::TaskCoreBase* task = item->as_task();
  if (task) task->add_ref();
  const auto t0 = Clock::now();
  item->run_ready(true);
  const auto t1 = Clock::now();
  if (lane_ && task) lane_->add(task->id(), t0, t1);  // one record per step: slices interleave on the lane
  const auto took = t1 - t0;
  if (debug_ && took >= slow_callback_duration_) {
    std::string what = task ? "task '" + task->name() + "'" : std::string("a callback");
    report("tandem.aio: " + what + " held the event loop for " + seconds(took) + " (slow_callback_duration " +
           seconds(slow_callback_duration_) +
           "): a blocking call in it freezes every other task; await it, sleep(0) now and then, or to_thread() it");
  }
  if (task) task->release();
}

void EventLoop::run_callback_now(std::function<void()>& fn, bool timed) {
  timed = timed && debug_;
  auto t0 = timed ? Clock::now() : TimePoint{};
  try {
    fn();
  } catch (const std::exception& e) {
    report(std::string("tandem.aio: exception in callback: ") + e.what());
  } catch (...) {
    report("tandem.aio: exception in callback (not a std::exception)");
  }
  if (timed) {
    auto took = Clock::now() - t0;
    if (took >= slow_callback_duration_)
      report("tandem.aio: a callback held the event loop for " + seconds(took) + " (slow_callback_duration " +
             seconds(slow_callback_duration_) + ")");
  }
}

void EventLoop::report(std::string_view line) const {
  if (sink_) {
    sink_(line);
  } else {
    std::string s(line);
    s += '\n';
    std::fputs(s.c_str(), stderr);
  }
}

void EventLoop::call_soon(std::function<void()> fn) { schedule(new detail::LocalCallback(std::move(fn))); }

void EventLoop::take_posted() noexcept { remote_->take(ready_); }

TimerHandle EventLoop::call_later(Duration delay, std::function<void()> fn) {
  return call_at(Clock::now() + delay, std::move(fn));
}

TimerHandle EventLoop::call_at(TimePoint when, std::function<void()> fn) {
  auto t = std::make_shared<detail::CallbackTimer>();
  t->when = when;
  t->fire = &detail::CallbackTimer::on_fire;
  t->fn = std::move(fn);
  t->loop = this;
  t->self = t;
  timers_.push(t.get());
  return TimerHandle(std::move(t));
}

bool EventLoop::call_soon_threadsafe(std::function<void()> fn) { return remote_->post(std::move(fn)); }

// ---- file descriptors ----------------------------------------------------------------------------------

EventLoop::FdEntry& EventLoop::entry(int fd) {
  if (fd < 0) throw InvalidStateError("invalid file descriptor " + std::to_string(fd));
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 1);
  return fds_[static_cast<std::size_t>(fd)];
}

namespace {
std::uint32_t wanted_events(bool read, bool write) { return (read ? EPOLLIN : 0u) | (write ? EPOLLOUT : 0u); }
}  // namespace

void EventLoop::update_interest(int fd, FdEntry& e) {
  std::uint32_t wanted = wanted_events(e.reader || e.read_waiter, e.writer || e.write_waiter);
  std::uint32_t want = e.registered | wanted;  // interest is dropped lazily, on a spurious event
  if (e.in_epoll && want == e.registered) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = fd;
  int op = e.in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (::epoll_ctl(epfd_, op, fd, &ev) < 0) {
    if (op == EPOLL_CTL_MOD && errno == ENOENT)  // fd was closed and reused behind our back
      op = EPOLL_CTL_ADD;
    else if (op == EPOLL_CTL_ADD && errno == EEXIST)
      op = EPOLL_CTL_MOD;
    else
      throw_errno("epoll_ctl");
    if (::epoll_ctl(epfd_, op, fd, &ev) < 0) throw_errno("epoll_ctl");
  }
  e.registered = want;
  e.in_epoll = true;
}

void EventLoop::dispatch_fd(int fd, std::uint32_t events) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  const bool readable = events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP);
  const bool writable = events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
  // A woken reader nearly always waits again at once (and finds the socket drained), so its interest
  // stays: dropping it here and re-adding it cost two epoll_ctl calls per message.
  const FdEntry& before = fds_[static_cast<std::size_t>(fd)];  // callbacks below may grow fds_: read it now
  const bool had_reader = before.read_waiter || before.reader;
  if (readable) {
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    if (auto* w = e.read_waiter) {
      e.read_waiter = nullptr;
      w->on_fd_ready();
    } else if (e.reader) {
      call_soon(e.reader);
    }
  }
  if (writable) {
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    if (auto* w = e.write_waiter) {
      e.write_waiter = nullptr;
      w->on_fd_ready();
    } else if (e.writer) {
      call_soon(e.writer);
    }
  }
  FdEntry& e = fds_[static_cast<std::size_t>(fd)];
  std::uint32_t wanted = wanted_events(e.reader || e.read_waiter, e.writer || e.write_waiter);
  // Level-triggered: a side nobody waits for would fire again and again; drop it now.
  std::uint32_t unwanted_fired = 0;
  if (readable && !had_reader && (e.registered & EPOLLIN)) unwanted_fired |= EPOLLIN;
  if (writable && !(wanted & EPOLLOUT) && (e.registered & EPOLLOUT)) unwanted_fired |= EPOLLOUT;
  if ((events & (EPOLLHUP | EPOLLERR)) && !wanted) unwanted_fired |= e.registered;
  if (unwanted_fired) {
    // Keep interest nobody has dropped yet but that did not fire; remove what fired uselessly.
    std::uint32_t keep = (e.registered & ~unwanted_fired) | wanted;
    if (keep == 0) {
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      e.in_epoll = false;
      e.registered = 0;
    } else {
      epoll_event ev{};
      ev.events = keep;
      ev.data.fd = fd;
      ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
      e.registered = keep;
    }
  }
}

void EventLoop::add_reader(int fd, std::function<void()> fn) {
  FdEntry& e = entry(fd);
  if (e.read_waiter) throw InvalidStateError("fd " + std::to_string(fd) + " already has a task waiting to read it");
  e.reader = std::move(fn);
  update_interest(fd, e);
}

bool EventLoop::remove_reader(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size() || !fds_[static_cast<std::size_t>(fd)].reader) return false;
  fds_[static_cast<std::size_t>(fd)].reader = nullptr;
  drop_if_unused(fd);
  return true;
}

void EventLoop::add_writer(int fd, std::function<void()> fn) {
  FdEntry& e = entry(fd);
  if (e.write_waiter) throw InvalidStateError("fd " + std::to_string(fd) + " already has a task waiting to write it");
  e.writer = std::move(fn);
  update_interest(fd, e);
}

bool EventLoop::remove_writer(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size() || !fds_[static_cast<std::size_t>(fd)].writer) return false;
  fds_[static_cast<std::size_t>(fd)].writer = nullptr;
  drop_if_unused(fd);
  return true;
}

// The user API drops interest eagerly: after remove_reader/remove_writer the fd may be closed and its
// number reused without the loop hearing of it.
void EventLoop::drop_if_unused(int fd) noexcept {
  FdEntry& e = fds_[static_cast<std::size_t>(fd)];
  if (e.reader || e.writer || e.read_waiter || e.write_waiter) return;
  forget_fd(fd);
}

void EventLoop::wait_fd(int fd, bool write, detail::FdWaiter* w) {
  FdEntry& e = entry(fd);
  auto& slot = write ? e.write_waiter : e.read_waiter;
  if (slot || (write ? static_cast<bool>(e.writer) : static_cast<bool>(e.reader)))
    throw InvalidStateError("fd " + std::to_string(fd) + " is already being waited on for " +
                            (write ? "writing" : "reading") + " by another task");
  slot = w;
  try {
    update_interest(fd, e);
  } catch (...) {
    slot = nullptr;
    throw;
  }
}

void EventLoop::cancel_wait_fd(int fd, bool write, detail::FdWaiter* w) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  FdEntry& e = fds_[static_cast<std::size_t>(fd)];
  auto& slot = write ? e.write_waiter : e.read_waiter;
  if (slot == w) slot = nullptr;
}

void EventLoop::forget_fd(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  FdEntry& e = fds_[static_cast<std::size_t>(fd)];
  if (e.in_epoll) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  e = FdEntry{};
}

// ---- signals -----------------------------------------------------------------------------------------

void EventLoop::add_signal_handler(int sig, std::function<void()> fn) {
  if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP)
    throw InvalidStateError("signal " + std::to_string(sig) + " cannot be handled");
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_BLOCK, &one, nullptr);
  auto it = std::find_if(signal_handlers_.begin(), signal_handlers_.end(), [&](auto& p) { return p.first == sig; });
  if (it != signal_handlers_.end())
    it->second = std::move(fn);
  else
    signal_handlers_.emplace_back(sig, std::move(fn));
  sigset_t all;
  sigemptyset(&all);
  for (auto& [s, f] : signal_handlers_) sigaddset(&all, s);
  int fd = ::signalfd(signal_fd_, &all, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw_errno("signalfd");
  if (signal_fd_ < 0) {
    signal_fd_ = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("epoll_ctl(signalfd)");
  }
}

bool EventLoop::remove_signal_handler(int sig) {
  auto it = std::find_if(signal_handlers_.begin(), signal_handlers_.end(), [&](auto& p) { return p.first == sig; });
  if (it == signal_handlers_.end()) return false;
  signal_handlers_.erase(it);
  sigset_t all;
  sigemptyset(&all);
  for (auto& [s, f] : signal_handlers_) sigaddset(&all, s);
  if (signal_fd_ >= 0) ::signalfd(signal_fd_, &all, SFD_NONBLOCK | SFD_CLOEXEC);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  return true;
}

void EventLoop::drain_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    int sig = static_cast<int>(info.ssi_signo);
    for (auto& [s, fn] : signal_handlers_)
      if (s == sig) call_soon(fn);
  }
}

// ---- tasks -----------------------------------------------------------------------------------------

void EventLoop::register_task(detail::TaskCoreBase* t) noexcept {
  tasks_.push_back(t);
  ++task_count_;
}

void EventLoop::unregister_task(detail::TaskCoreBase* t) noexcept {
  if (!t->linked()) return;
  t->unlink();
  --task_count_;
  if (task_count_ == 0 && stop_when_no_tasks_) stopping_ = true;
  t->release();
}

void EventLoop::run_until_no_tasks() {
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{stop_when_no_tasks_};
  while (task_count_ > 0) {
    stop_when_no_tasks_ = true;
    run_forever();
  }
}

std::size_t EventLoop::cancel_all_tasks() {
  std::vector<detail::TaskCoreBase*> all;
  tasks_.for_each([&](detail::ListNode* n) {
    auto* t = static_cast<detail::TaskCoreBase*>(n);
    t->add_ref();
    all.push_back(t);
  });
  std::size_t cancelled = 0;
  for (auto* t : all) {
    if (t->cancel()) ++cancelled;
    t->release();
  }
  return cancelled;
}

}  // namespace tandem::aio

namespace tandem::aio::detail {
bool post_to(const std::shared_ptr<Remote>& remote, std::function<void()> fn) { return remote->post(std::move(fn)); }
}  // namespace tandem::aio::detail
