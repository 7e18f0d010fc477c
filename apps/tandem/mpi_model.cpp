// tandem's `--model mpi` (see mpi_model.hpp).
#include "mpi_model.hpp"

#include <cstring>
#include <string>

#ifdef TANDEM_WITH_MPI
#include "tandem/mpi/pool.hpp"
#endif

namespace tandem::cli {

namespace {

bool asks_for_mpi(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--model=mpi") == 0) return true;
    if (std::strcmp(argv[i], "--model") == 0 && i + 1 < argc && std::strcmp(argv[i + 1], "mpi") == 0) return true;
  }
  return false;
}

#ifdef TANDEM_WITH_MPI
mpi::PoolExecutor::Options pool_options(unsigned workers) {
  mpi::PoolExecutor::Options o;
  o.max_workers = workers;
  return o;
}
#else
[[noreturn]] void no_mpi() {
  throw UsageError("--model mpi: this tandem was built without MPI (install openmpi-bin libopenmpi-dev, then rebuild)");
}
#endif

}  // namespace

#ifdef TANDEM_WITH_MPI
bool mpi_available() { return true; }

int run_model_ranks(int argc, char** argv, const Runner& run) {
  if (!asks_for_mpi(argc, argv)) return run();
  return mpi::run_workers_or(argc, argv, run);
}

lab::PrimesRun primes_on_mpi(unsigned workers, std::span<const std::uint64_t> numbers, const lab::PrimeCallback& row,
                             unsigned& used) {
  mpi::PoolExecutor pool(pool_options(workers));
  used = static_cast<unsigned>(pool.max_workers());
  return lab::check_parallel(pool, numbers, row);
}

lab::SumsqRun sumsq_on_mpi(unsigned workers, std::uint64_t n, unsigned& used) {
  mpi::PoolExecutor pool(pool_options(workers));
  used = static_cast<unsigned>(pool.max_workers());
  return lab::sumsq_parallel(pool, n, used);
}

lab::WordCounts wordcount_on_mpi(unsigned workers, const lab::WordcountJob& job, unsigned& used) {
  mpi::PoolExecutor pool(pool_options(workers));
  used = static_cast<unsigned>(pool.max_workers());
  return lab::wordcount_parallel(pool, job);
}
#else
bool mpi_available() { return false; }

int run_model_ranks(int argc, char** argv, const Runner& run) {
  if (asks_for_mpi(argc, argv)) no_mpi();
  return run();
}

lab::PrimesRun primes_on_mpi(unsigned, std::span<const std::uint64_t>, const lab::PrimeCallback&, unsigned&) { no_mpi(); }
lab::SumsqRun sumsq_on_mpi(unsigned, std::uint64_t, unsigned&) { no_mpi(); }
lab::WordCounts wordcount_on_mpi(unsigned, const lab::WordcountJob&, unsigned&) { no_mpi(); }
#endif

}  // namespace tandem::cli
