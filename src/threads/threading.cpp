#include "tandem/threading.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <stdexcept>

namespace tandem {

// ---- Event ----------------------------------------------------------------------------------------

void Event::set() {
  // Notify while holding the lock: a waiter cannot return (and destroy a stack Event) before we are
  // done touching it.
  std::lock_guard lock(mu_);
  flag_ = true;
  cv_.notify_all();
}

void Event::clear() {
  std::lock_guard lock(mu_);
  flag_ = false;
}

bool Event::is_set() const {
  std::lock_guard lock(mu_);
  return flag_;
}

bool Event::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return flag_; });
  return true;
}

bool Event::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [this] { return flag_; });
}

// ---- names ----------------------------------------------------------------------------------------

namespace {

std::string& thread_name_slot() {
  thread_local std::string name;
  return name;
}

}  // namespace

std::int64_t get_native_id() { return static_cast<std::int64_t>(::syscall(SYS_gettid)); }

std::string current_thread_name() {
  const auto& name = thread_name_slot();
  if (!name.empty()) return name;
  if (get_native_id() == ::getpid()) return "MainThread";
  return "Thread-" + std::to_string(get_native_id());
}

void set_current_thread_name(const std::string& name) {
  thread_name_slot() = name;
  constexpr std::size_t kOsLimit = 15;  // TASK_COMM_LEN - 1
  std::string os_name = name;
  if (os_name.size() > kOsLimit) {
    // Keep the numbered tail (after the last '_' or '-') and as much of the head as fits.
    auto cut = os_name.find_last_of("_-");
    std::string tail = (cut != std::string::npos && os_name.size() - cut <= 6) ? os_name.substr(cut) : "";
    os_name = os_name.substr(0, kOsLimit - tail.size()) + tail;
  }
  ::pthread_setname_np(::pthread_self(), os_name.c_str());
}

// ---- Thread ---------------------------------------------------------------------------------------

struct Thread::Shared {
  std::mutex mu;
  std::condition_variable cv;
  enum class Phase { initial, started, stopped } phase = Phase::initial;
  std::int64_t native_id = 0;
};

namespace {
std::atomic<std::uint64_t> thread_counter{0};
}

Thread::Thread(ThreadOptions options, std::function<void()> target) : shared_(std::make_shared<Shared>()) {
  if (!target) throw std::invalid_argument("Thread needs a target to run");
  name_ = options.name.empty() ? "Thread-" + std::to_string(++thread_counter) : std::move(options.name);
  if (options.name.empty() && !options.target_name.empty()) name_ += " (" + options.target_name + ")";
  target_ = std::move(target);  // std::thread is created only by start(), as Python's Thread
}

Thread::~Thread() {
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }
}

Thread& Thread::operator=(Thread&& other) noexcept {
  if (this != &other) {
    this->~Thread();  // joins a started thread, as destruction does
    new (this) Thread(std::move(other));
  }
  return *this;
}

void Thread::start() {
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->phase != Shared::Phase::initial)
      throw std::logic_error("threads can only be started once (" + name_ + ")");
    shared_->phase = Shared::Phase::started;  // before the thread exists, so is_alive() never lies
  }
  try {
    launch();
  } catch (...) {
    std::lock_guard lock(shared_->mu);
    shared_->phase = Shared::Phase::initial;
    throw;
  }
}

void Thread::launch() {
  thread_ = std::thread([shared = shared_, name = name_, target = std::move(target_)]() mutable {
    set_current_thread_name(name);
    {
      std::lock_guard lock(shared->mu);
      shared->native_id = get_native_id();
    }
    try {
      target();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "Exception in thread %s: %s\n", name.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "Exception in thread %s: unknown exception\n", name.c_str());
    }
    target = nullptr;  // release captured state before reporting the thread stopped
    {
      std::lock_guard lock(shared->mu);
      shared->phase = Shared::Phase::stopped;
    }
    shared->cv.notify_all();
  });
}

void Thread::join() {
  if (!thread_.joinable()) {
    std::lock_guard lock(shared_->mu);
    if (shared_->phase == Shared::Phase::initial) throw std::logic_error("cannot join thread before it is started");
    return;  // already joined
  }
  if (thread_.get_id() == std::this_thread::get_id()) throw std::logic_error("cannot join current thread");
  thread_.join();
}

bool Thread::join_until(std::chrono::steady_clock::time_point deadline) {
  {
    std::unique_lock lock(shared_->mu);
    if (shared_->phase == Shared::Phase::initial) throw std::logic_error("cannot join thread before it is started");
    if (!shared_->cv.wait_until(lock, deadline, [&] { return shared_->phase == Shared::Phase::stopped; }))
      return false;
  }
  join();
  return true;
}

bool Thread::is_alive() const {
  std::lock_guard lock(shared_->mu);
  return shared_->phase == Shared::Phase::started;
}

std::optional<std::int64_t> Thread::native_id() const {
  std::lock_guard lock(shared_->mu);
  if (shared_->native_id == 0) return std::nullopt;
  return shared_->native_id;
}

std::string Thread::repr() const {
  std::lock_guard lock(shared_->mu);
  switch (shared_->phase) {
    case Shared::Phase::initial: return "<Thread(" + name_ + ", initial)>";
    case Shared::Phase::started:
      return "<Thread(" + name_ + ", started" +
             (shared_->native_id ? " " + std::to_string(shared_->native_id) : std::string()) + ")>";
    case Shared::Phase::stopped: return "<Thread(" + name_ + ", stopped " + std::to_string(shared_->native_id) + ")>";
  }
  return "<Thread(" + name_ + ")>";
}

}  // namespace tandem
