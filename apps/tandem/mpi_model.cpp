// tandem's `--model mpi` (see mpi_model.hpp).
#include "mpi_model.hpp"

#include <cstring>

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

}  // namespace

int run_model_ranks(int argc, char** argv, const Runner& run) {
  if (!asks_for_mpi(argc, argv)) return run();
#ifdef TANDEM_WITH_MPI
  return mpi::run_workers_or(argc, argv, run);
#else
  throw UsageError("--model mpi: this tandem was built without MPI (install openmpi-bin libopenmpi-dev, then rebuild)");
#endif
}

}  // namespace tandem::cli
