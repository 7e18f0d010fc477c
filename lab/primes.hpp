// lab/primes.hpp — the seed's prime checker (Fluent Python 2e, primes.py / sequential.py / procs.py).
//
// Same numbers, same algorithm (trial division by odd numbers up to isqrt(n)), same answers. The
// parallel version splits each number's divisor range into chunks, so that one big prime does not
// leave the other cores idle: the run approaches sequential time / cores.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tandem/aio/events.hpp"
#include "tandem/executor.hpp"
#include "tandem/futures.hpp"

namespace tandem::lab {

/// The published list (Fluent Python 2e, primes.py): nine of the twenty are prime.
inline constexpr std::array<std::uint64_t, 20> kPrimeNumbers = {
    2,
    142702110479723,
    299593572317531,
    3333333333333301,
    3333333333333333,
    3333335652092209,
    4444444444444423,
    4444444444444444,
    4444444488888889,
    5555553133149889,
    5555555555555503,
    5555555555555555,
    6666666666666666,
    6666666666666719,
    6666667141414921,
    7777777536340681,
    7777777777777753,
    7777777777777777,
    9999999999999917,
    9999999999999999,
};

/// floor(sqrt(n)), exact for every 64-bit n (Python: math.isqrt).
std::uint64_t isqrt(std::uint64_t n);

/// The seed's is_prime, exactly: n < 2 no; 2 yes; even no; else no odd divisor in [3, isqrt(n)].
/// Calls gil_check() every kDivisionsPerCheck divisions (free unless run under the threads-gil model).
bool is_prime(std::uint64_t n);

/// Divisions between two gil_check() calls: a few microseconds of work, far below a 5 ms switch
/// interval, and in blocks so that the division loop itself stays as tight as the seed's.
inline constexpr std::uint64_t kDivisionsPerCheck = 1024;

/// Whether an odd number in [lo, hi] divides n (lo odd), and the seconds spent looking.
/// A plain function of plain values, so any executor (threads, processes, MPI) can run it.
std::pair<bool, double> find_odd_divisor(std::uint64_t n, std::uint64_t lo, std::uint64_t hi);

struct PrimeResult {
  std::uint64_t n = 0;
  bool prime = false;
  double seconds = 0;  // compute time spent on n, summed over its chunks
};

struct PrimesRun {
  std::vector<PrimeResult> results;  // in the order they were decided
  double wall_seconds = 0;
  double work_seconds = 0;  // sum of all chunks' compute time: the sequential cost of the same work
  std::size_t tasks = 0;
};

using PrimeCallback = std::function<void(const PrimeResult&)>;

/// Odd divisors per task. About 2^21 divisions: tens of milliseconds, fine enough to balance 16 cores
/// over the published list, coarse enough that dispatch costs nothing measurable.
inline constexpr std::uint64_t kDivisorsPerChunk = std::uint64_t{1} << 21;

/// The seed's sequential.py: one number after another, in input order.
PrimesRun check_sequential(std::span<const std::uint64_t> numbers, const PrimeCallback& on_result = {});

/// The coroutine model: one aio task per number on one event loop (runs its own loop). is_prime never
/// awaits, so each task runs to its end once started: no overlap and no speedup, by design.
PrimesRun check_coroutines(std::span<const std::uint64_t> numbers, const PrimeCallback& on_result = {},
                           const aio::LoopOptions& loop = {});

namespace detail {
struct Chunk {
  std::size_t number_index;
  std::uint64_t lo, hi;
};
// Decides trivial numbers at once (into `decided`) and splits the others into chunks.
std::vector<Chunk> plan_chunks(std::span<const std::uint64_t> numbers, std::uint64_t divisors_per_chunk,
                               std::vector<int>& open_chunks, std::vector<PrimeResult>& decided);
double seconds_since(std::uint64_t start_ns);
std::uint64_t now_ns();
}  // namespace detail

/// The prime checker on any executor. Results are reported as numbers are decided (a divisor found,
/// or every chunk clean); chunks of a number already known to be composite are cancelled.
template <Executor E>
PrimesRun check_parallel(E& executor, std::span<const std::uint64_t> numbers, const PrimeCallback& on_result = {},
                         std::uint64_t divisors_per_chunk = kDivisorsPerChunk) {
  const auto t0 = detail::now_ns();
  PrimesRun run;
  std::vector<int> open;
  std::vector<PrimeResult> decided;
  auto chunks = detail::plan_chunks(numbers, divisors_per_chunk, open, decided);
  for (auto& r : decided) {
    run.results.push_back(r);
    if (on_result) on_result(r);
  }
  std::vector<Future<std::pair<bool, double>>> futures;
  futures.reserve(chunks.size());
  for (auto& c : chunks) futures.push_back(executor.submit(&find_odd_divisor, numbers[c.number_index], c.lo, c.hi));
  run.tasks = futures.size();

  std::vector<PrimeResult> partial(numbers.size());
  std::vector<bool> finished(numbers.size(), false);
  auto report = [&](std::size_t i, bool prime) {
    finished[i] = true;
    partial[i].n = numbers[i];
    partial[i].prime = prime;
    run.results.push_back(partial[i]);
    if (on_result) on_result(partial[i]);
  };
  for (auto& f : as_completed(futures)) {
    std::size_t k = 0;
    while (!(futures[k] == f)) ++k;  // linear: a few hundred chunks at most
    std::size_t i = chunks[k].number_index;
    --open[i];
    if (f.cancelled()) continue;
    auto [divisor, seconds] = f.result();
    partial[i].seconds += seconds;
    run.work_seconds += seconds;
    if (finished[i]) continue;
    if (divisor) {
      for (std::size_t j = 0; j < chunks.size(); ++j)
        if (chunks[j].number_index == i) futures[j].cancel();
      report(i, false);
    } else if (open[i] == 0) {
      report(i, true);
    }
  }
  run.wall_seconds = detail::seconds_since(t0);
  return run;
}

/// The prime checker as a lab workload (lab/model.hpp): run_model(options, PrimesWorkload{numbers}).
struct PrimesWorkload {
  std::span<const std::uint64_t> numbers;
  PrimeCallback on_result = {};

  PrimesRun sequential() const { return check_sequential(numbers, on_result); }
  template <Executor E>
  PrimesRun parallel(E& executor, unsigned /*workers: the chunks balance themselves*/) const {
    return check_parallel(executor, numbers, on_result);
  }
  PrimesRun coroutines(const aio::LoopOptions& loop = {}) const { return check_coroutines(numbers, on_result, loop); }
};

}  // namespace tandem::lab
