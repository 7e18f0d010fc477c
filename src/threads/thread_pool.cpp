#include "tandem/thread_pool.hpp"

#include <algorithm>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <sched.h>

#include "tandem/detail/futex.hpp"
#include "tandem/threading.hpp"

namespace tandem {

namespace {
std::atomic<std::uint64_t> pool_counter{0};
}

struct ThreadPoolExecutor::Impl final : detail::WaitHelper {
  // A spin-then-futex lock: the critical sections are a few pointer moves, and glibc's mutex would
  // make every contended push or pop a syscall.
  detail::FutexLock mu;
  // Parked workers sleep on this word; a wake-up bumps it, so a wake between a worker's decision to
  // park (taken under mu) and its futex_wait is never lost.
  std::atomic<std::uint32_t> wake_seq{0};
  detail::PoolTask* head = nullptr;
  detail::PoolTask* tail = nullptr;
  std::atomic<std::size_t> queued{0};  // tasks in the list; read without the lock by spinning workers
  std::size_t idle = 0;       // workers parked on wake_seq
  std::size_t signalled = 0;  // of those, already woken for a task: not to be counted on again
  std::size_t spawned = 0;    // workers created so far
  std::size_t max_workers = 0;
  bool shutting_down = false;
  std::string broken;         // non-empty: an initializer failed
  std::string prefix;
  std::function<void()> initializer;
  std::vector<std::thread> threads;

  // Caller holds mu.
  detail::PoolTask* pop_locked() {
    detail::PoolTask* t = head;
    if (t) {
      head = t->next;
      if (!head) tail = nullptr;
      t->next = nullptr;
      queued.store(queued.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    }
    return t;
  }
  detail::PoolTask* take_all_locked() {
    detail::PoolTask* all = head;
    head = tail = nullptr;
    queued.store(0, std::memory_order_relaxed);
    return all;
  }
  void push_locked(detail::PoolTask* task) {
    if (tail)
      tail->next = task;
    else
      head = task;
    tail = task;
    queued.store(queued.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Before parking, watch the queue for a few tens of microseconds. When tasks arrive one by one
  // faster than a futex wake-up (a syscall per task) this keeps workers awake; when the pool is idle
  // it parks soon after. sched_yield lets a submitting thread on the same core run meanwhile.
  bool work_arrives_soon() const {
    for (int round = 0; round < 64; ++round) {
      for (int i = 0; i < 32; ++i) {
        if (queued.load(std::memory_order_relaxed) != 0) return true;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      if (round % 8 == 7) sched_yield();
    }
    return queued.load(std::memory_order_relaxed) != 0;
  }
  static void abandon_all(detail::PoolTask* t, const std::exception_ptr& error) {
    while (t) {
      auto* next = t->next;
      t->abandon(error);
      t = next;
    }
  }

  void wake(int count) {
    wake_seq.fetch_add(1, std::memory_order_release);
    detail::futex_wake(wake_seq, count);
  }

  bool run_one() override {
    detail::PoolTask* t;
    {
      std::lock_guard lock(mu);
      t = pop_locked();
    }
    if (!t) return false;
    t->run();
    return true;
  }

  void worker_main(std::size_t index) {
    set_current_thread_name(prefix + "_" + std::to_string(index));
    if (initializer) {
      try {
        initializer();
      } catch (const std::exception& e) {
        fail_initializer(e.what());
        return;
      } catch (...) {
        fail_initializer("unknown exception");
        return;
      }
    }
    detail::current_wait_helper() = this;
    std::unique_lock lock(mu);
    for (;;) {
      detail::PoolTask* t = pop_locked();
      if (t) {
        lock.unlock();
        t->run();
        lock.lock();
        continue;
      }
      if (shutting_down || !broken.empty()) break;
      lock.unlock();
      const bool soon = work_arrives_soon();
      lock.lock();
      if (soon || head || shutting_down || !broken.empty()) continue;
      ++idle;
      const std::uint32_t seq = wake_seq.load(std::memory_order_acquire);
      lock.unlock();
      detail::futex_wait(wake_seq, seq);
      lock.lock();
      --idle;
      if (signalled > 0) --signalled;
    }
    detail::current_wait_helper() = nullptr;
  }

  void fail_initializer(const std::string& why) {
    detail::PoolTask* pending;
    std::exception_ptr error;
    {
      std::lock_guard lock(mu);
      if (broken.empty())
        broken = "A thread initializer failed (" + why + "), the thread pool is not usable anymore";
      error = std::make_exception_ptr(BrokenExecutor(broken));
      pending = take_all_locked();
    }
    wake(INT32_MAX);
    abandon_all(pending, error);
  }
};

std::size_t ThreadPoolExecutor::default_max_workers() {
  return std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4);
}

ThreadPoolExecutor::ThreadPoolExecutor(Options options) : impl_(std::make_shared<Impl>()) {
  if (options.max_workers == 0) throw std::invalid_argument("max_workers must be greater than 0");
  impl_->max_workers = options.max_workers;
  impl_->prefix = options.thread_name_prefix.empty() ? "ThreadPoolExecutor-" + std::to_string(pool_counter++)
                                                     : std::move(options.thread_name_prefix);
  impl_->initializer = std::move(options.initializer);
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true, false); }

std::size_t ThreadPoolExecutor::max_workers() const noexcept { return impl_->max_workers; }

void ThreadPoolExecutor::enqueue(detail::PoolTask* task) {
  Impl& im = *impl_;
  bool wake = false;
  std::size_t spawn_index = 0;
  bool spawn = false;
  {
    std::lock_guard lock(im.mu);
    if (!im.broken.empty()) throw BrokenExecutor(im.broken);
    if (im.shutting_down) throw ShutdownError();
    im.push_locked(task);
    if (im.idle > im.signalled) {
      ++im.signalled;
      wake = true;
    } else if (im.spawned < im.max_workers) {
      spawn = true;
      spawn_index = im.spawned++;
    }
  }
  if (wake) im.wake(1);
  if (spawn) {
    // Workers share ownership of Impl, so a pool destroyed from one of its own tasks stays valid.
    std::thread t([impl = impl_, spawn_index] { impl->worker_main(spawn_index); });
    std::lock_guard lock(im.mu);
    im.threads.push_back(std::move(t));
  }
}

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  Impl& im = *impl_;
  detail::PoolTask* cancelled = nullptr;
  {
    std::lock_guard lock(im.mu);
    im.shutting_down = true;
    if (cancel_futures) cancelled = im.take_all_locked();
  }
  im.wake(INT32_MAX);
  Impl::abandon_all(cancelled, nullptr);
  if (!wait) return;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(im.mu);
    threads.swap(im.threads);
  }
  for (auto& t : threads) {
    if (t.get_id() == std::this_thread::get_id())
      t.detach();  // shutdown from one of our own tasks: this worker exits when its task returns
    else
      t.join();
  }
}

}  // namespace tandem
