// tandem/threading.hpp — named threads and events (Python: threading.Thread, threading.Event).
//
// The seed's spinner, in C++:
//
// ```cpp
//   void spin(std::string msg, tandem::Event& done);   // draws until done is set
//   int slow();                                        // the work
//   int main() {
//     tandem::Event done;
//     tandem::Thread spinner({.target_name = "spin"}, spin, "thinking!", std::ref(done));
//     std::cout << "spinner object: " << spinner.repr() << "\n";   // <Thread(Thread-1 (spin), initial)>
//     spinner.start();
//     int result = slow();
//     done.set();
//     spinner.join();
//     return result == 42 ? 0 : 1;
//   }
// ```
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

namespace tandem {

/// A flag threads can wait on (Python: threading.Event). Starts unset.
class Event {
 public:
  void set();
  void clear();
  bool is_set() const;
  /// Blocks until the flag is set. Returns true at once if it already is.
  bool wait();
  /// Blocks until the flag is set (true) or the timeout passes (false).
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_until(std::chrono::steady_clock::now() +
                      std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  bool wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool flag_ = false;
};

/// The calling thread's name as tandem knows it (a Thread's or pool worker's full name; "MainThread" on
/// the main thread; otherwise "Thread-<tid>"). The OS copy is limited to 15 bytes.
std::string current_thread_name();
/// Names the calling thread: kept whole for current_thread_name(), and given to the OS (visible in
/// /proc/<pid>/task/<tid>/comm, top, gdb). Names over 15 bytes are shortened for the OS, keeping the
/// end, which is where numbered names differ ("ThreadPoolExecutor-3_12" → "ThreadPoolEx_12").
void set_current_thread_name(const std::string& name);
/// Kernel thread id of the calling thread (Python: threading.get_native_id()).
std::int64_t get_native_id();

struct ThreadOptions {
  std::string name = {};         // empty: "Thread-N", numbered per process like Python
  std::string target_name = {};  // shown as Python shows the target function: "Thread-N (spin)"
};

/// A thread with a name and Python's lifecycle: created `initial`, then start(), then join().
/// Unlike std::thread, destroying a started Thread joins it, so a forgotten join cannot terminate the
/// program. An exception escaping the target is reported on stderr (Python: threading.excepthook)
/// and does not take the process down.
class Thread {
 public:
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  explicit Thread(F&& f, Args&&... args) : Thread(ThreadOptions{}, std::forward<F>(f), std::forward<Args>(args)...) {}

  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  Thread(ThreadOptions options, F&& f, Args&&... args)
      : Thread(std::move(options),
               std::function<void()>([f = std::forward<F>(f),
                                      tup = std::make_tuple(std::forward<Args>(args)...)]() mutable {
                 std::apply([&](auto&... a) { std::invoke(f, a...); }, tup);
               })) {}

  Thread(ThreadOptions options, std::function<void()> target);
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  /// Movable, so that threads can live in a std::vector (Python: [Thread(...) for _ in range(n)]).
  /// A moved-from Thread may only be destroyed or assigned to. Assigning over a started Thread joins
  /// it first, as its destructor would.
  Thread(Thread&&) noexcept = default;
  Thread& operator=(Thread&& other) noexcept;
  ~Thread();

  /// Starts the thread. Throws std::logic_error if called twice (Python: RuntimeError).
  void start();
  /// Waits for the thread to end. Throws std::logic_error before start() or from the thread itself.
  void join();
  /// Waits at most `timeout`; returns whether the thread has ended (Python: join + not is_alive()).
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return join_until(std::chrono::steady_clock::now() +
                      std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  bool join_until(std::chrono::steady_clock::time_point deadline);

  bool is_alive() const;
  const std::string& name() const { return name_; }
  /// Kernel thread id once started (Python: native_id), else nullopt.
  std::optional<std::int64_t> native_id() const;
  /// Python's repr: "<Thread(Thread-1 (spin), initial)>", "<Thread(Thread-1 (spin), started 4242)>",
  /// "<Thread(Thread-1 (spin), stopped 4242)>".
  std::string repr() const;

 private:
  struct Shared;
  void launch();
  std::string name_;
  std::shared_ptr<Shared> shared_;
  std::function<void()> target_;  // moved into the thread by start()
  std::thread thread_;
};

}  // namespace tandem
