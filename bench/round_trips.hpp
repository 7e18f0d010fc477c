// The round-trip benchmark of every pool that sends tasks to other processes (bench_process_pool,
// bench_mpi_pool), written once; bench/python/round_trips.py is its Python twin for the peers:
//   unbatched:      fs = [pool.submit(echo, i) ...]; [f.result() for f in fs]
//   chunksize 1000: pool.map(echo, range(n), 1000) read to the end
// One JSON line per repetition and mode; bench/run computes medians and ratios.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <ranges>
#include <vector>

#include "tandem/futures.hpp"

namespace tandem::bench {

/// The task: a plain function, so that it crosses to a worker by name (same binary on both sides).
inline std::int64_t echo(std::int64_t x) { return x; }

struct RoundTripArgs {
  long tasks = 200'000;      // unbatched round trips per repetition
  long items = 20'000'000;   // items through map per repetition
  int reps = 5;
};

/// [tasks] [items] [reps] from argv[first...]; nullopt when one of them is not positive.
inline std::optional<RoundTripArgs> parse_round_trip_args(int argc, char** argv, int first) {
  RoundTripArgs a;
  if (argc > first) a.tasks = std::atol(argv[first]);
  if (argc > first + 1) a.items = std::atol(argv[first + 1]);
  if (argc > first + 2) a.reps = std::atoi(argv[first + 2]);
  if (a.tasks <= 0 || a.items <= 0 || a.reps <= 0) return std::nullopt;
  return a;
}

/// Warms `pool` up (64 round trips: every worker started), then measures both modes `a.reps` times.
/// Returns 0, or 1 when a result came back wrong.
template <class Pool>
int run_round_trips(Pool& pool, std::size_t workers, const RoundTripArgs& a) {
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto emit = [&](const char* mode, long tasks, double seconds) {
    std::printf("{\"impl\": \"tandem\", \"mode\": \"%s\", \"workers\": %zu, \"tasks\": %ld, \"seconds\": %.6f}\n",
                mode, workers, tasks, seconds);
    std::fflush(stdout);
  };
  for (std::int64_t i = 0; i < 64; ++i) pool.submit(echo, i).result();
  std::vector<Future<std::int64_t>> futures;
  futures.reserve(static_cast<std::size_t>(a.tasks));
  for (int r = 0; r < a.reps; ++r) {
    futures.clear();
    auto t0 = Clock::now();
    for (long i = 0; i < a.tasks; ++i) futures.push_back(pool.submit(echo, std::int64_t{i}));
    std::int64_t sum = 0;
    for (auto& f : futures) sum += f.result();
    emit("unbatched", a.tasks, seconds_since(t0));
    if (sum != std::int64_t{a.tasks} * (a.tasks - 1) / 2) return 1;

    t0 = Clock::now();
    std::int64_t n = 0;
    for (std::int64_t v : pool.map(echo, std::views::iota(std::int64_t{0}, std::int64_t{a.items}), 1000)) n += (v >= 0);
    emit("chunksize 1000", a.items, seconds_since(t0));
    if (n != a.items) return 1;
  }
  return 0;
}

}  // namespace tandem::bench
