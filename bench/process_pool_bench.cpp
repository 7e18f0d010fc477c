// Process-pool round trips (bench/round_trips.hpp), as bench/python/process_pool.py measures CPython's.
#include <cstdio>
#include <cstdlib>

#include "round_trips.hpp"
#include "tandem/process_pool.hpp"

int main(int argc, char** argv) {
  const unsigned workers = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2;
  const auto args = tandem::bench::parse_round_trip_args(argc, argv, 2);
  if (workers == 0 || !args) {
    std::fprintf(stderr, "usage: bench_process_pool [workers] [tasks] [items] [reps]\n");
    return 2;
  }
  tandem::ProcessPoolExecutor pool(workers);
  return tandem::bench::run_round_trips(pool, workers, *args);
}
