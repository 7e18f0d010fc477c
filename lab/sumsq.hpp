// lab/sumsq.hpp — the seed's CPU-bound demo: the sum of i² for i in [0, N), exact in 128 bits.
//
// The seed (Real Python notes, test_multiple_process_computing.py) splits range(N) with
// slice(..., -1) for its last part and so drops the last element: for N = 100,000,000 it prints
// 333333318333333549999999; the true sum is 333333328333333350000000. tandem prints the true sum.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tandem/executor.hpp"

namespace tandem::lab {

using u128 = unsigned __int128;

/// Σ i² for i in [lo, hi), by the loop the seed runs (the workload), not by formula.
/// Returned as (high, low) 64-bit halves so that it crosses process boundaries as plain integers.
/// Never inlined: the sequential baseline must run the same machine code as each parallel task
/// (inlined into sumsq_sequential, GCC scheduled the loop differently and it ran 30% slower, which
/// made two threads look 2.6x faster than one).
[[gnu::noinline]] std::pair<std::uint64_t, std::uint64_t> sum_squares_range(std::uint64_t lo, std::uint64_t hi);

/// Closed form (n-1)·n·(2n-1)/6, to check the loop against.
u128 sum_squares_formula(std::uint64_t n);

/// The seed's own answer, dropping i = n-1 as its slice(..., -1) does.
inline u128 seed_sum_squares(std::uint64_t n) {
  return n == 0 ? 0 : sum_squares_formula(n) - u128(n - 1) * (n - 1);
}

std::string to_string(u128 v);

inline u128 join_halves(std::pair<std::uint64_t, std::uint64_t> h) { return (u128(h.first) << 64) | h.second; }

struct SumsqRun {
  u128 sum = 0;
  double wall_seconds = 0;
  std::size_t tasks = 0;
};

SumsqRun sumsq_sequential(std::uint64_t n);

/// Splits [0, n) into `parts` ranges (the last takes the remainder: nothing is dropped).
template <Executor E>
SumsqRun sumsq_parallel(E& executor, std::uint64_t n, std::size_t parts) {
  if (parts == 0) parts = 1;
  SumsqRun run;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Future<std::pair<std::uint64_t, std::uint64_t>>> futures;
  const std::uint64_t step = n / parts;
  for (std::size_t p = 0; p < parts; ++p) {
    std::uint64_t lo = p * step, hi = (p + 1 == parts) ? n : lo + step;
    futures.push_back(executor.submit(&sum_squares_range, lo, hi));
  }
  for (auto& f : futures) run.sum += join_halves(f.result());
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.tasks = parts;
  return run;
}

/// The sum of squares as a lab workload (lab/model.hpp): one range per worker.
struct SumsqWorkload {
  std::uint64_t n = 0;

  SumsqRun sequential() const { return sumsq_sequential(n); }
  template <Executor E>
  SumsqRun parallel(E& executor, unsigned workers) const {
    return sumsq_parallel(executor, n, workers);
  }
};

}  // namespace tandem::lab
