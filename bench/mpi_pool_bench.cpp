// MPI-pool round trips (bench/round_trips.hpp), as bench/python/mpi_pool.py measures mpi4py.futures'; run
// both under the same `mpirun -n N`: rank 0 submits, the others serve.
#include <cstdio>

#include "round_trips.hpp"
#include "tandem/mpi/pool.hpp"

int main(int argc, char** argv) {
  return tandem::mpi::run_workers_or(argc, argv, [&] {
    const auto args = tandem::bench::parse_round_trip_args(argc, argv, 1);
    if (!args) {
      std::fprintf(stderr, "usage: mpirun -n N bench_mpi_pool [tasks] [items] [reps]\n");
      return 2;
    }
    tandem::mpi::PoolExecutor pool;
    return tandem::bench::run_round_trips(pool, pool.max_workers(), *args);
  });
}
