// lab/gil.hpp — CPython's global interpreter lock, emulated (Python: the GIL, sys.setswitchinterval).
//
// The lab's `threads-gil` model: the thread pool plus one fair hand-off lock, so that the seeds'
// Python results (threads give CPU-bound work no speedup; sleeping threads still overlap) can be
// reproduced and watched in C++.
//
//   tandem::lab::Gil gil(std::chrono::milliseconds(5));       // sys.setswitchinterval(0.005)
//   std::thread worker([&] {
//     tandem::lab::Gil::Holder hold(gil);   // a thread "runs Python" only while it holds the GIL
//     for (int i = 0; i < 1000; ++i) {
//       // ... a slice of CPU work ...
//       tandem::lab::gil_check();            // the eval breaker: hands over when a waiter asked
//     }
//     tandem::lab::gil_sleep(std::chrono::milliseconds(1));  // blocking waits release it
//   });
//   worker.join();
//
// The rules are CPython's (Python/ceval_gil.c, the "new GIL" with FORCE_SWITCHING):
//  - take: a free GIL is taken at once. Otherwise the thread waits; when a whole switch interval
//    passes without the GIL changing hands, it sets the drop request and goes on waiting.
//  - check (gil_check(), CPython's eval breaker, called by workloads at loop granularity): when a
//    drop is requested, the holder drops the GIL and — forced switching — does not ask for it again
//    until another thread has taken it: the waiter gets it next, the holder cannot barge back in.
//  - drop: when the Holder ends, and around blocking waits (Released, gil_sleep), as
//    Py_BEGIN_ALLOW_THREADS does around sleep and I/O.
// A workload that never calls gil_check() holds the GIL to its end, as a C extension that never
// releases it would. On a thread that holds no GIL (every other model), gil_check() costs one
// thread-local load and a branch, so workloads call it unconditionally.
//
// Failure rules: taking a GIL this thread already holds throws std::logic_error (it would deadlock);
// destroying a Gil that is held is a programming error (std::terminate via the assertion in ~Gil).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/recorder.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::lab {

/// CPython's default switch interval (sys.getswitchinterval() == 0.005).
inline constexpr std::chrono::microseconds kDefaultSwitchInterval{5000};

class Gil;

namespace detail {
/// The GIL the calling thread holds (nullptr: none). constinit: reading it needs no TLS wrapper call.
inline constinit thread_local Gil* current_gil = nullptr;
}  // namespace detail

class Gil {
 public:
  /// switch_interval must be positive (std::invalid_argument otherwise).
  explicit Gil(std::chrono::microseconds switch_interval = kDefaultSwitchInterval);
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;
  ~Gil();

  /// Holds the GIL for its lifetime on the constructing thread (PyGILState_Ensure / Release).
  class Holder {
   public:
    explicit Holder(Gil& gil);
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;
    ~Holder();

   private:
    Gil& gil_;
  };

  /// Drops the calling thread's GIL for its lifetime, then takes it back (Py_BEGIN/END_ALLOW_THREADS).
  /// Does nothing on a thread that holds no GIL.
  class Released {
   public:
    Released();
    Released(const Released&) = delete;
    Released& operator=(const Released&) = delete;
    ~Released();

   private:
    Gil* gil_;
  };

  std::chrono::microseconds switch_interval() const noexcept { return interval_; }

  /// Whether a waiter asked the holder to drop the GIL (the eval breaker's bit).
  bool drop_requested() const noexcept { return drop_request_.load(std::memory_order_relaxed); }

  /// Times the GIL was taken by a thread other than its previous holder.
  std::uint64_t switches() const noexcept { return switches_.load(std::memory_order_relaxed); }
  /// Times a holder dropped the GIL at a check because a waiter had asked for it.
  std::uint64_t forced_switches() const noexcept { return forced_.load(std::memory_order_relaxed); }

  /// The slow path of gil_check(): drops and retakes when asked. Returns whether the GIL was dropped.
  bool yield_if_requested();

  /// One period a thread held the GIL, on the recorder lane of that thread (Recorder::current_lane():
  /// the pool worker's index), or kNoLane for a thread that records to none.
  struct Hold {
    static constexpr std::uint32_t kNoLane = UINT32_MAX;
    std::uint32_t lane = kNoLane;
    Recorder::Clock::time_point start, end;
  };
  /// From now on, every hold is kept (under the GIL's own mutex, which take and drop hold anyway).
  void record_holds() {
    std::lock_guard lock(mutex_);
    recording_ = true;
  }
  /// The holds recorded so far, in order.
  std::vector<Hold> holds() const {
    std::lock_guard lock(mutex_);
    return holds_;
  }

 private:
  void take();
  void drop(bool forced);

  const std::chrono::microseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable cond_;         // the GIL became free
  std::condition_variable switch_cond_;  // the GIL changed hands (forced switching waits for it)
  bool locked_ = false;
  std::thread::id last_holder_;
  std::uint64_t switch_number_ = 0;
  std::atomic<bool> drop_request_{false};
  std::atomic<std::uint64_t> switches_{0};
  std::atomic<std::uint64_t> forced_{0};
  bool recording_ = false;
  Hold current_hold_;
  std::vector<Hold> holds_;
};

/// The eval breaker: call it at loop granularity in CPU work (every few microseconds of work). Hands
/// the GIL over when a waiter asked for it; returns whether it did. Free when no GIL is held.
inline bool gil_check() {
  Gil* gil = detail::current_gil;
  return gil != nullptr && gil->drop_requested() && gil->yield_if_requested();
}

/// std::this_thread::sleep_for with the GIL released meanwhile, as time.sleep does.
void gil_sleep(std::chrono::nanoseconds duration);

/// The thread pool under a GIL (the `threads-gil` model): every task holds the GIL while it runs, so
/// only one task computes at a time, handing over at gil_check() every switch interval. Workers
/// waiting for tasks do not hold it (a blocked queue.get releases the GIL in CPython too).
/// Satisfies the Executor concept.
class GilThreadPool {
 public:
  /// With a recorder, the pool records its tasks (recorder.hpp) and the GIL its holds (Gil::holds).
  GilThreadPool(std::size_t workers, std::chrono::microseconds switch_interval = kDefaultSwitchInterval,
                std::string thread_name_prefix = {}, Recorder* recorder = nullptr)
      : gil_(switch_interval), pool_(pool_options(workers, std::move(thread_name_prefix), recorder)) {
    if (recorder) gil_.record_holds();
  }

  /// As ThreadPoolExecutor::submit, with f called as const (a mutable lambda does not qualify).
  template <class F, class... Args>
    requires std::invocable<const std::decay_t<F>&, std::decay_t<Args>&...>
  auto submit(F&& f, Args&&... args) {
    return pool_.submit(under_gil(std::forward<F>(f)), std::forward<Args>(args)...);
  }

  template <class F, std::ranges::input_range Range>
  auto map(F f, Range&& items, std::size_t chunksize = 1) {
    return pool_.map(under_gil(std::move(f)), std::forward<Range>(items), chunksize);
  }

  void shutdown(bool wait = true, bool cancel_futures = false) { pool_.shutdown(wait, cancel_futures); }
  std::size_t max_workers() const noexcept { return pool_.max_workers(); }
  Gil& gil() noexcept { return gil_; }

 private:
  static ThreadPoolExecutor::Options pool_options(std::size_t workers, std::string prefix, Recorder* recorder) {
    ThreadPoolExecutor::Options o;
    o.max_workers = tandem::detail::worker_count(workers, "GilThreadPool");
    o.thread_name_prefix = std::move(prefix);
    o.recorder = recorder;
    return o;
  }

  template <class F>
  auto under_gil(F&& f) {
    return [gil = &gil_, f = std::forward<F>(f)](auto&&... args) -> decltype(auto) {
      Gil::Holder hold(*gil);
      return std::invoke(f, std::forward<decltype(args)>(args)...);
    };
  }

  Gil gil_;  // declared first: the pool's workers are joined before the GIL goes away
  ThreadPoolExecutor pool_;
};

}  // namespace tandem::lab
