// MPI-pool round trips, as bench/python/mpi_pool.py measures mpi4py.futures' (run both under the same
// `mpirun -n N`: rank 0 submits, the others serve):
//   unbatched:      fs = [pool.submit(echo, i) ...]; [f.result() for f in fs]
//   chunksize 1000: pool.map(echo, range(n), 1000) read to the end
// One JSON line per repetition and mode; bench/run computes medians and ratios.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ranges>
#include <vector>

#include "tandem/mpi/pool.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t echo(std::int64_t x) { return x; }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void emit(const char* mode, std::size_t workers, long tasks, double seconds) {
  std::printf("{\"impl\": \"tandem\", \"mode\": \"%s\", \"workers\": %zu, \"tasks\": %ld, \"seconds\": %.6f}\n", mode,
              workers, tasks, seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  return tandem::mpi::run_workers_or(argc, argv, [&] {
    const long tasks = argc > 1 ? std::atol(argv[1]) : 200'000;
    const long items = argc > 2 ? std::atol(argv[2]) : 20'000'000;
    const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
    if (tasks <= 0 || items <= 0 || reps <= 0) {
      std::fprintf(stderr, "usage: mpirun -n N bench_mpi_pool [tasks] [items] [reps]\n");
      return 2;
    }
    tandem::mpi::PoolExecutor pool;
    for (int i = 0; i < 64; ++i) pool.submit(echo, std::int64_t{i}).result();
    std::vector<tandem::Future<std::int64_t>> futures;
    futures.reserve(static_cast<std::size_t>(tasks));
    for (int r = 0; r < reps; ++r) {
      futures.clear();
      auto t0 = Clock::now();
      for (long i = 0; i < tasks; ++i) futures.push_back(pool.submit(echo, std::int64_t{i}));
      std::int64_t sum = 0;
      for (auto& f : futures) sum += f.result();
      emit("unbatched", pool.max_workers(), tasks, seconds_since(t0));
      if (sum != tasks * (tasks - 1) / 2) return 1;

      t0 = Clock::now();
      std::int64_t n = 0;
      for (std::int64_t v : pool.map(echo, std::views::iota(std::int64_t{0}, std::int64_t{items}), 1000)) n += (v >= 0);
      emit("chunksize 1000", pool.max_workers(), items, seconds_since(t0));
      if (n != items) return 1;
    }
    return 0;
  });
}
