// The CLI's `--model mpi`: how the ranks that mpirun starts (or the copies a singleton spawns) become
// the workers of the mpi::PoolExecutor that lab::run_model builds (lab/model.hpp). Kept apart so that
// a build without MPI compiles it to a "not available" stub.
#pragma once

#include "cli.hpp"

namespace tandem::cli {

/// Runs `run` as the whole program would: when the arguments ask for `--model mpi`, inside
/// mpi::run_workers_or (rank 0 runs it and prints; the other ranks, or spawned copies, serve tasks and
/// print nothing); otherwise directly. `tandem X --model mpi` without MPI is a UsageError.
int run_model_ranks(int argc, char** argv, const Runner& run);

}  // namespace tandem::cli
