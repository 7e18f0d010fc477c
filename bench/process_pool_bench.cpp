// Process-pool round trips, as bench/python/process_pool.py measures CPython's:
//   unbatched:      fs = [pool.submit(echo, i) ...]; [f.result() for f in fs]
//   chunksize 1000: pool.map(echo, range(n), 1000) read to the end
// One JSON line per repetition and mode; bench/run computes medians and ratios.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ranges>
#include <vector>

#include "tandem/process_pool.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t echo(std::int64_t x) { return x; }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void emit(const char* mode, unsigned workers, long tasks, double seconds) {
  std::printf("{\"impl\": \"tandem\", \"mode\": \"%s\", \"workers\": %u, \"tasks\": %ld, \"seconds\": %.6f}\n", mode,
              workers, tasks, seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned workers = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2;
  const long tasks = argc > 2 ? std::atol(argv[2]) : 200'000;
  const long items = argc > 3 ? std::atol(argv[3]) : 20'000'000;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 5;
  if (workers == 0 || tasks <= 0 || items <= 0 || reps <= 0) {
    std::fprintf(stderr, "usage: bench_process_pool [workers] [tasks] [items] [reps]\n");
    return 2;
  }
  tandem::ProcessPoolExecutor pool(workers);
  for (unsigned i = 0; i < workers * 4; ++i) pool.submit(echo, std::int64_t{i}).result();  // workers up
  std::vector<tandem::Future<std::int64_t>> futures;
  futures.reserve(static_cast<std::size_t>(tasks));
  for (int r = 0; r < reps; ++r) {
    futures.clear();
    auto t0 = Clock::now();
    for (long i = 0; i < tasks; ++i) futures.push_back(pool.submit(echo, std::int64_t{i}));
    std::int64_t sum = 0;
    for (auto& f : futures) sum += f.result();
    emit("unbatched", workers, tasks, seconds_since(t0));
    if (sum != tasks * (tasks - 1) / 2) return 1;

    t0 = Clock::now();
    std::int64_t n = 0;
    for (std::int64_t v : pool.map(echo, std::views::iota(std::int64_t{0}, std::int64_t{items}), 1000)) n += (v >= 0);
    emit("chunksize 1000", workers, items, seconds_since(t0));
    if (n != items) return 1;
  }
}
