// tandem/aio/futures.hpp — awaiting tandem::Future<T> from a coroutine, and running a coroutine from
// another thread (Python: asyncio.wrap_future, asyncio.run_coroutine_threadsafe).
//
// One Future type serves every model: a coroutine awaits a thread-pool or process-pool future without
// blocking its loop — the future's completion is handed to the loop through its eventfd.
//
// ```cpp
//   tandem::ThreadPoolExecutor pool(4);
//   aio::Task<int> f() { co_return co_await pool.submit(heavy, 10); }   // the loop keeps running
// ```
//
// And the other way round, from any thread (`loop` runs in another thread):
//
// ```cpp body
//   aio::EventLoop& loop = *aio::EventLoop::running_loop();
//   tandem::Future<int> fut = aio::run_coroutine_threadsafe(work(), loop);
//   int value = fut.result();   // blocks this thread, not the loop
// ```
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "tandem/aio/events.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/errors.hpp"
#include "tandem/futures.hpp"

namespace tandem::aio {

namespace detail {

bool post_to(const std::shared_ptr<Remote>& remote, std::function<void()> fn);

/// Parks the task until a tandem::Future completes. Cancelling the task tries to cancel the future
/// (which only works before it started running) and throws CancelledError at once either way; the
/// late completion is then ignored (asyncio.wrap_future's behaviour).
template <class T>
class FutureAwaiter final : Suspension {
 public:
  explicit FutureAwaiter(Future<T> fut) : fut_(std::move(fut)) {
    if (!fut_.valid()) throw InvalidStateError("co_await on a Future without a state");
  }
  ~FutureAwaiter() {
    if (bridge_) bridge_->owner = nullptr;
  }

  bool await_ready() const { return fut_.done(); }
  bool await_suspend(std::coroutine_handle<> h) {
    bind("co_await on a tandem::Future");
    if (cancelled_before_suspending()) return false;
    bridge_ = std::make_shared<Bridge>();
    bridge_->owner = this;
    // The callback runs on whichever thread completes the future (at once, here, if it already is);
    // it only posts to the loop, so the wake-up always comes after we are parked.
    fut_.add_done_callback([remote = LoopAccess::remote(task_->loop()), bridge = bridge_](const Future<T>&) {
      post_to(remote, [bridge] {
        if (bridge->owner) bridge->owner->on_done();
      });
    });
    suspend(h);  // last: nothing above may leave a half-parked task behind
    return true;
  }
  decltype(auto) await_resume() {
    throw_if_cancelled();
    if constexpr (std::is_void_v<T>) {
      fut_.result();
    } else if constexpr (std::is_copy_constructible_v<T>) {
      return T(fut_.result());  // other copies of the future keep their value
    } else {
      return T(std::move(fut_).result());
    }
  }

 private:
  struct Bridge {
    FutureAwaiter* owner = nullptr;  // loop thread only
  };
  void on_done() noexcept {
    bridge_->owner = nullptr;
    wake();
  }
  Cancel on_cancel() noexcept override {
    try {
      fut_.cancel();
    } catch (...) {
    }
    bridge_->owner = nullptr;
    return Cancel::ends_wait;
  }

  Future<T> fut_;
  std::shared_ptr<Bridge> bridge_;
};

}  // namespace detail

/// An awaitable for a core Future (Python: asyncio.wrap_future). `co_await fut` does the same.
template <class T>
detail::FutureAwaiter<T> wrap_future(Future<T> fut) {
  return detail::FutureAwaiter<T>(std::move(fut));
}

/// Submits `coro` to `loop` from any thread and returns a core Future for its result (Python:
/// asyncio.run_coroutine_threadsafe). Cancelling the Future cancels the task. If the loop is closed,
/// the Future fails with InvalidStateError; if it closes before the task ran, with BrokenPromise.
template <class T>
Future<T> run_coroutine_threadsafe(Task<T> coro, EventLoop& loop) {
  struct Shared {
    tandem::Promise<T> promise;
    Future<T> fut;
    Task<T> coro;
    detail::TaskCoreBase* core = nullptr;  // loop thread only
  };
  auto s = std::make_shared<Shared>();
  s->fut = s->promise.get_future();
  s->coro = std::move(coro);
  Future<T> fut = s->fut;
  auto remote = detail::LoopAccess::remote(loop);
  // Weak: the future's state must not own the promise that completes it (a cycle nothing would break).
  fut.add_done_callback([remote, w = std::weak_ptr<Shared>(s)](const Future<T>& f) {
    if (!f.cancelled()) return;
    detail::post_to(remote, [w] {
      if (auto s = w.lock(); s && s->core) s->core->cancel("the Future of run_coroutine_threadsafe was cancelled");
    });
  });
  bool posted = loop.call_soon_threadsafe([s, &loop] {
    if (s->fut.cancelled()) return;  // cancelled before it started: never runs
    auto handle = loop.create_task(std::move(s->coro));
    s->core = handle.core_ptr();
    handle.add_done_callback([s](TaskHandle<T> t) {
      s->core = nullptr;
      if (t.cancelled()) {
        s->fut.cancel();
        return;
      }
      if (!s->promise.set_running_or_notify_cancel()) return;
      try {
        if constexpr (std::is_void_v<T>) {
          t.result();
          s->promise.set_result();
        } else {
          s->promise.set_result(std::move(t).result());
        }
      } catch (...) {
        s->promise.set_exception(std::current_exception());
      }
    });
  });
  if (!posted)
    s->promise.set_exception(
        std::make_exception_ptr(InvalidStateError("run_coroutine_threadsafe: the event loop is closed")));
  return fut;
}

}  // namespace tandem::aio

namespace tandem {
/// `co_await future` inside an aio task: suspends the task, not the loop (see tandem/aio/futures.hpp).
template <class T>
aio::detail::FutureAwaiter<T> operator co_await(Future<T> fut) {
  return aio::detail::FutureAwaiter<T>(std::move(fut));
}
}  // namespace tandem
