// The prime checker as coroutines: one aio task per number on one event loop.
#include <chrono>
#include <vector>

#include "lab/primes.hpp"
#include "tandem/aio/runners.hpp"
#include "tandem/aio/tasks.hpp"

namespace tandem::lab {

namespace {

namespace aio = tandem::aio;

aio::Task<void> check_one(std::uint64_t n, PrimesRun& run, const PrimeCallback& on_result) {
  const auto t = detail::now_ns();
  PrimeResult r{n, is_prime(n), 0.0};  // never awaits: the loop runs nothing else meanwhile
  r.seconds = detail::seconds_since(t);
  run.work_seconds += r.seconds;
  run.results.push_back(r);
  if (on_result) on_result(r);
  co_return;
}

aio::Task<PrimesRun> check_on_loop(std::span<const std::uint64_t> numbers, const PrimeCallback& on_result) {
  const auto t0 = detail::now_ns();
  PrimesRun run;
  std::vector<aio::TaskHandle<void>> tasks;
  for (auto n : numbers) tasks.push_back(aio::create_task(check_one(n, run, on_result)));
  co_await aio::gather(std::move(tasks));
  run.tasks = numbers.size();
  run.wall_seconds = detail::seconds_since(t0);
  co_return run;
}

}  // namespace

PrimesRun check_coroutines(std::span<const std::uint64_t> numbers, const PrimeCallback& on_result,
                           const aio::LoopOptions& loop) {
  return aio::run(check_on_loop(numbers, on_result), loop);
}

}  // namespace tandem::lab
