#include "tandem/thread_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "tandem/threading.hpp"

namespace tandem {

namespace {
std::atomic<std::uint64_t> pool_counter{0};
}

struct ThreadPoolExecutor::Impl final : detail::WaitHelper {
  std::mutex mu;
  std::condition_variable cv;
  detail::PoolTask* head = nullptr;
  detail::PoolTask* tail = nullptr;
  std::size_t idle = 0;       // workers parked in cv.wait
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
    }
    return t;
  }
  detail::PoolTask* take_all_locked() {
    detail::PoolTask* all = head;
    head = tail = nullptr;
    return all;
  }
  static void abandon_all(detail::PoolTask* t, const std::exception_ptr& error) {
    while (t) {
      auto* next = t->next;
      t->abandon(error);
      t = next;
    }
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
      ++idle;
      cv.wait(lock);
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
    cv.notify_all();
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
    if (im.tail)
      im.tail->next = task;
    else
      im.head = task;
    im.tail = task;
    if (im.idle > im.signalled) {
      ++im.signalled;
      wake = true;
    } else if (im.spawned < im.max_workers) {
      spawn = true;
      spawn_index = im.spawned++;
    }
  }
  if (wake) im.cv.notify_one();
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
  im.cv.notify_all();
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
