// tandem/aio/runners.hpp — aio::run(), the entry point (Python: asyncio.run).
#pragma once

#include <utility>

#include "tandem/aio/events.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/errors.hpp"

namespace tandem::aio {

/// Creates an event loop, runs `main` on it until it completes, cancels every task still pending and
/// lets them unwind, closes the loop, and returns main's result (or rethrows its exception).
/// Throws InvalidStateError when called from a running loop (as asyncio.run raises RuntimeError — the
/// error the seed hits inside Jupyter).
///
///   int main() { std::cout << "Answer: " << tandem::aio::run(supervisor()) << '\n'; }
template <class T>
T run(Task<T> main, const LoopOptions& options = {}) {
  if (EventLoop::running_loop())
    throw InvalidStateError("aio::run() cannot be called from a running event loop: co_await the task instead");
  EventLoop loop(options);
  auto handle = loop.create_task(std::move(main), "main");
  handle.add_done_callback([&loop](const TaskHandle<T>&) { loop.stop(); });
  while (!handle.done()) loop.run_forever();
  // asyncio.run's _cancel_all_tasks: what main left behind is cancelled and may clean up.
  detail::LoopAccess::cancel_all_tasks(loop);
  detail::LoopAccess::run_until_no_tasks(loop);
  return std::move(handle).result();
}

}  // namespace tandem::aio
