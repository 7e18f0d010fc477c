// Spawn stress for Open MPI 4.1's intermittent MPI_Comm_spawn hang (openpmix/openpmix#2735), as a
// singleton: every pool has another size than the last, so each releases the spawned group and spawns
// anew. Prints a line per pool; a hang ends the process through the spawn watchdog (20 s, exit 70).
//   bench_mpi_spawn_stress [pools]     (default 50; PMIX_MCA_gds in the environment overrides tandem's)
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tandem/mpi/pool.hpp"

namespace {
int square(int x) { return x * x; }
}  // namespace

int main(int argc, char** argv) {
  return tandem::mpi::run_workers_or(argc, argv, [&] {
    const int pools = argc > 1 ? std::atoi(argv[1]) : 50;
    if (pools <= 0 || tandem::mpi::world_size() != 1) {
      std::fprintf(stderr, "usage: bench_mpi_spawn_stress [pools]  (alone, not under mpirun: it spawns)\n");
      return 2;
    }
    for (int i = 0; i < pools; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      tandem::mpi::PoolExecutor::Options o;
      o.max_workers = 1 + static_cast<std::size_t>(i % 2);
      o.spawn_timeout = std::chrono::seconds(20);
      tandem::mpi::PoolExecutor pool(o);
      if (pool.submit(&square, i).result() != i * i) return 1;
      std::printf("spawn %d ok %.3f s\n", i,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::fflush(stdout);
    }
    return 0;
  });
}
