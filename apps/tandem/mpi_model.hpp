// The CLI's `--model mpi`: how a subcommand runs its workload on mpi::PoolExecutor, and how the ranks
// that mpirun starts (or the copies a singleton spawns) become its workers. Kept apart from the other
// models' selection so that a build without MPI compiles it to "not available" stubs.
#pragma once

#include <cstdint>
#include <span>

#include "cli.hpp"
#include "lab/primes.hpp"
#include "lab/sumsq.hpp"
#include "lab/wordcount.hpp"

namespace tandem::cli {

/// Whether this tandem was built with the mpi layer.
bool mpi_available();

/// Runs `run` as the whole program would: when the arguments ask for `--model mpi`, inside
/// mpi::run_workers_or (rank 0 runs it and prints; the other ranks, or spawned copies, serve tasks and
/// print nothing); otherwise directly. `tandem X --model mpi` without MPI is a UsageError.
int run_model_ranks(int argc, char** argv, const Runner& run);

/// The workloads on an mpi::PoolExecutor of `workers` ranks (0: every rank mpirun started, or the
/// cores when spawning). `used` gets the worker count.
lab::PrimesRun primes_on_mpi(unsigned workers, std::span<const std::uint64_t> numbers, const lab::PrimeCallback& row,
                             unsigned& used);
lab::SumsqRun sumsq_on_mpi(unsigned workers, std::uint64_t n, unsigned& used);
lab::WordCounts wordcount_on_mpi(unsigned workers, const lab::WordcountJob& job, unsigned& used);

}  // namespace tandem::cli
