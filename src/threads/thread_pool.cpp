#include "tandem/thread_pool.hpp"

#include <sched.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "tandem/detail/futex.hpp"
#include "tandem/threading.hpp"

namespace tandem {

namespace {
std::atomic<std::uint64_t> pool_counter{0};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

// Scheduling discipline (after Go's runtime): a worker with nothing to do may watch the queue for a
// few tens of microseconds before parking, but only one worker at a time (the "spinner"). A submit
// wakes or starts a worker only when no spinner will pick the task up; a worker that takes a task
// and sees more queued wakes or starts the next one. Streams of tiny tasks then cost no syscalls and
// no worker steals the submitter's core, while bursts and long tasks still fan out to every worker.
struct ThreadPoolExecutor::Impl final : detail::WaitHelper {
  // A spin-then-futex lock: the critical sections are a few pointer moves, and glibc's mutex would
  // make every contended push or pop a syscall.
  detail::FutexLock mu;
  // Parked workers sleep on this word; a wake-up bumps it, so a wake between a worker's decision to
  // park (taken under mu) and its futex_wait is never lost.
  std::atomic<std::uint32_t> wake_seq{0};
  std::atomic<std::size_t> queued{0};  // tasks in the list; read without the lock by the spinner
  std::atomic<int> spinners{0};        // 0 or 1
  detail::PoolTask* head = nullptr;
  detail::PoolTask* tail = nullptr;
  std::size_t idle = 0;       // workers parked on wake_seq
  std::size_t signalled = 0;  // of those, already woken: not to be counted on again
  std::size_t spawned = 0;    // workers decided on so far (the std::thread may still be starting)
  std::size_t reaped = 0;     // workers joined (or detached, for a shutdown from inside a task)
  std::size_t max_workers = 0;
  bool shutting_down = false;
  std::string broken;  // non-empty: an initializer failed
  std::string prefix;
  std::function<void()> initializer;
  std::vector<std::thread> threads;
  std::weak_ptr<Impl> self;  // for workers started from inside the pool

  // ---- the queue (caller holds mu) ----
  void push_locked(detail::PoolTask* task) {
    if (tail)
      tail->next = task;
    else
      head = task;
    tail = task;
    queued.store(queued.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
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
  static void abandon_all(detail::PoolTask* t, const std::exception_ptr& error) {
    while (t) {
      auto* next = t->next;
      t->abandon(error);
      t = next;
    }
  }

  // ---- adding workers ----
  struct Helping {
    bool wake = false;
    bool spawn = false;
    std::size_t index = 0;
  };
  // Caller holds mu. Another worker should join in: a parked one if any, else a new one if allowed.
  Helping recruit_locked() {
    Helping h;
    if (idle > signalled) {
      ++signalled;
      h.wake = true;
    } else if (spawned < max_workers && !shutting_down) {
      h.spawn = true;
      h.index = spawned++;
    }
    return h;
  }
  // Outside mu: carry out what recruit_locked decided.
  void recruit(const Helping& h) {
    if (h.wake) wake(1);
    if (h.spawn) {
      std::thread t;
      try {
        // Workers share ownership of Impl, so a pool destroyed from one of its own tasks stays valid.
        t = std::thread([impl = self.lock(), index = h.index] { impl->worker_main(index); });
      } catch (const std::system_error& e) {
        worker_not_started(e.what());
        return;
      }
      std::lock_guard lock(mu);
      threads.push_back(std::move(t));
    }
  }
  // The OS refused a thread. Others may still run the queue; with none at all, fail what is queued
  // rather than leave futures that can never resolve.
  void worker_not_started(const std::string& why) {
    detail::PoolTask* orphans = nullptr;
    {
      std::lock_guard lock(mu);
      --spawned;
      if (spawned == 0) orphans = take_all_locked();
    }
    abandon_all(orphans, std::make_exception_ptr(BrokenExecutor("cannot start a worker thread: " + why)));
  }
  void wake(int count) {
    wake_seq.fetch_add(1, std::memory_order_release);
    detail::futex_wake(wake_seq, count);
  }

  // Watch the queue briefly (the one spinner only). sched_yield lets a submitting thread that shares
  // the core run meanwhile.
  bool work_arrives_soon() const {
    for (int round = 0; round < 64; ++round) {
      for (int i = 0; i < 32; ++i) {
        if (queued.load(std::memory_order_relaxed) != 0) return true;
        cpu_relax();
      }
      if (round % 8 == 7) sched_yield();
    }
    return queued.load(std::memory_order_relaxed) != 0;
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
    bool spun_in_vain = false;  // then park: an idle pool must not keep a core busy
    for (;;) {
      if (detail::PoolTask* t = pop_locked()) {
        spun_in_vain = false;
        Helping more;
        // More work than this worker, and no spinner to take it: fan out.
        if (head && spinners.load(std::memory_order_acquire) == 0) more = recruit_locked();
        lock.unlock();
        recruit(more);
        t->run();
        lock.lock();
        continue;
      }
      if (shutting_down || !broken.empty()) break;
      int none = 0;
      if (!spun_in_vain && spinners.compare_exchange_strong(none, 1, std::memory_order_acquire)) {
        lock.unlock();
        spun_in_vain = !work_arrives_soon();
        spinners.store(0, std::memory_order_release);  // before the re-check under mu: see enqueue()
        lock.lock();
        continue;
      }
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
    wake(INT_MAX);
    abandon_all(pending, error);
  }
};

std::size_t ThreadPoolExecutor::default_max_workers() {
  return std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4);
}

ThreadPoolExecutor::ThreadPoolExecutor(Options options) : impl_(std::make_shared<Impl>()) {
  if (options.max_workers == 0) throw std::invalid_argument("ThreadPoolExecutor: max_workers must be greater than 0");
  detail::checked_worker_count(options.max_workers, "ThreadPoolExecutor");
  impl_->self = impl_;
  impl_->max_workers = options.max_workers;
  impl_->prefix = options.thread_name_prefix.empty() ? "ThreadPoolExecutor-" + std::to_string(pool_counter++)
                                                     : std::move(options.thread_name_prefix);
  impl_->initializer = std::move(options.initializer);
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true, false); }

std::size_t ThreadPoolExecutor::max_workers() const noexcept { return impl_->max_workers; }

void ThreadPoolExecutor::enqueue(detail::PoolTask* task) {
  Impl& im = *impl_;
  Impl::Helping help;
  {
    std::lock_guard lock(im.mu);
    if (!im.broken.empty()) throw BrokenExecutor(im.broken);
    if (im.shutting_down) throw ShutdownError();
    im.push_locked(task);
    // A spinner re-checks the queue under mu after it stops spinning, so if it is still registered
    // here it will find this task; otherwise recruit a worker.
    if (im.spinners.load(std::memory_order_acquire) == 0) help = im.recruit_locked();
  }
  im.recruit(help);
}

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  Impl& im = *impl_;
  detail::PoolTask* cancelled = nullptr;
  {
    std::lock_guard lock(im.mu);
    im.shutting_down = true;
    if (cancel_futures) cancelled = im.take_all_locked();
  }
  im.wake(INT_MAX);
  Impl::abandon_all(cancelled, nullptr);
  if (!wait) return;
  // Reap until every worker ever decided on is joined: one may still be starting (recruited by a
  // worker just before shutdown) and join the list only after a first pass.
  for (;;) {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(im.mu);
      threads.swap(im.threads);
      if (threads.empty() && im.reaped == im.spawned) return;
    }
    if (threads.empty()) {
      std::this_thread::yield();
      continue;
    }
    for (auto& t : threads) {
      if (t.get_id() == std::this_thread::get_id())
        t.detach();  // shutdown from one of our own tasks: this worker exits when its task returns
      else
        t.join();
    }
    std::lock_guard lock(im.mu);
    im.reaped += threads.size();
  }
}

}  // namespace tandem
