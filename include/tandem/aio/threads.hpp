// tandem/aio/threads.hpp — running blocking work off the loop (Python: asyncio.to_thread,
// loop.run_in_executor).
//
// ```cpp coroutine
//   tandem::ProcessPoolExecutor process_pool(4);
//   std::uint64_t n = 1'000'003;
//   bool prime = co_await aio::to_thread(is_prime, n);                 // the loop keeps spinning
//   int r = co_await aio::run_in_executor(process_pool, &heavy, 10);   // any executor with submit()
// ```
//
// Cancelling the awaiting task cancels the work only if it has not started; it cannot interrupt a
// function already running on a thread (as in Python).
#pragma once

#include <utility>

#include "tandem/aio/futures.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::aio {

/// The process-wide pool to_thread() uses (created on first use; Python: the loop's default executor).
ThreadPoolExecutor& default_executor();

/// Runs f(args...) on `executor` (anything with submit(f, args...) -> Future<R>) and awaits the result
/// without blocking the loop.
template <class Executor, class F, class... Args>
auto run_in_executor(Executor& executor, F&& f, Args&&... args) {
  return wrap_future(executor.submit(std::forward<F>(f), std::forward<Args>(args)...));
}

/// Runs f(args...) on the default thread pool and awaits it (Python: asyncio.to_thread).
template <class F, class... Args>
auto to_thread(F&& f, Args&&... args) {
  return run_in_executor(default_executor(), std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace tandem::aio
