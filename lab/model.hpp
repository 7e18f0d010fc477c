// lab/model.hpp — the execution models the lab compares, and one way to run a workload under each.
//
// Python's answer to "how do I run this concurrently" is a choice of module; the lab's is a Model:
//
//   sequential    one call after another on the calling thread   (the seed's sequential.py)
//   threads       a ThreadPoolExecutor, `workers` wide           (concurrent.futures.ThreadPoolExecutor)
//   threads-gil   the same pool under an emulated GIL            (CPython's threads: lab/gil.hpp)
//   processes     a ProcessPoolExecutor, `workers` wide          (concurrent.futures.ProcessPoolExecutor)
//   coroutines    tasks on one aio event loop                    (asyncio)
//   mpi           an mpi::PoolExecutor over MPI ranks            (mpi4py.futures.MPIPoolExecutor; only
//                 when tandem was built with MPI, and the program runs under mpi::run_workers_or)
//
// Names are accepted singular or plural everywhere ("thread" / "threads", "thread-gil" /
// "threads-gil", "process" / "processes", "coroutine" / "coroutines"); name() gives the plural.
//
// A workload is a value with the model entry points it supports:
//
//   struct Squares {
//     int sequential() const { return 4; }
//     template <tandem::Executor E>
//     int parallel(E& executor, unsigned /*workers*/) const { return executor.submit(+[] { return 4; }).result(); }
//   };
//   int four = tandem::lab::run_model({.model = tandem::lab::Model::threads, .workers = 2}, Squares{});
//
// `parallel` runs under threads, threads-gil, processes and mpi (the executor is built and shut down
// around the call); `coroutines()` is optional and runs its own event loop. Running a workload under
// a model it does not provide throws std::invalid_argument naming both.
#pragma once

#include <array>
#include <chrono>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lab/gil.hpp"
#include "tandem/aio/events.hpp"
#include "tandem/recorder.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"
#ifdef TANDEM_WITH_MPI
#include "tandem/mpi/pool.hpp"
#endif

namespace tandem::lab {

enum class Model { sequential, threads, threads_gil, processes, coroutines, mpi };

inline constexpr std::array<Model, 6> kAllModels = {Model::sequential, Model::threads, Model::threads_gil,
                                                    Model::processes, Model::coroutines, Model::mpi};

/// Whether this build has the mpi model (tandem built with the optional mpi layer).
bool mpi_available() noexcept;
/// The workers `--model mpi` gets when none are asked for: every rank but the client's under mpirun,
/// the cores when a singleton spawns its workers.
unsigned mpi_default_workers();

/// The plural name: "sequential", "threads", "threads-gil", "processes", "coroutines".
std::string_view name(Model model) noexcept;
/// The singular name the seed's spinner uses: "sequential", "thread", "thread-gil", "process", "coroutine".
std::string_view singular_name(Model model) noexcept;
/// "{sequential,threads,...}" for the given models (help texts and error messages).
std::string choices(std::span<const Model> models);
/// A model's name, singular or plural, among `allowed` ("sync" is sequential too: the seed's name of
/// its sequential downloader). Throws std::invalid_argument:
/// "'fibers' is not one of {sequential,threads,threads-gil,processes,coroutines} (singular or plural)".
Model parse_model(std::string_view text, std::span<const Model> allowed = kAllModels);

/// Whether the model runs on a pool of `workers` (threads, threads-gil, processes, mpi).
bool has_workers(Model model) noexcept;
/// What a worker is under the model: "processes" for processes, "MPI ranks" for mpi, "threads" otherwise.
std::string_view worker_unit(Model model) noexcept;

struct ModelOptions {
  Model model = Model::threads;
  unsigned workers = 1;                                       // threads, threads-gil, processes, mpi
  std::chrono::microseconds switch_interval = kDefaultSwitchInterval;  // threads-gil
  std::string thread_name_prefix = "lab";
  std::size_t process_ring_bytes = 0;  // processes: each worker's task ring (0: the pool's default, 1 MiB)
  /// When set, the pool (threads, threads-gil, processes) or the event loop (coroutines, lane 0, for
  /// workloads whose coroutines() takes aio::LoopOptions) records its tasks (tandem/recorder.hpp).
  Recorder* recorder = nullptr;
  /// threads-gil with a recorder: receives the GIL's holds (Gil::holds) once the pool is shut down.
  std::vector<Gil::Hold>* gil_holds = nullptr;
};

/// Runs `workload` under `options.model`: see the header comment for what a workload provides.
template <class W>
auto run_model(const ModelOptions& options, W&& workload) -> decltype(workload.sequential()) {
  auto unsupported = [&] {
    return std::invalid_argument("this workload has no " + std::string(name(options.model)) + " version");
  };
  switch (options.model) {
    case Model::sequential:
      return workload.sequential();
    case Model::threads: {
      ThreadPoolExecutor::Options o;
      o.max_workers = tandem::detail::worker_count(options.workers, "ThreadPoolExecutor");
      o.thread_name_prefix = options.thread_name_prefix;
      o.recorder = options.recorder;
      ThreadPoolExecutor pool(o);
      return workload.parallel(pool, options.workers);
    }
    case Model::threads_gil: {
      GilThreadPool pool(options.workers, options.switch_interval, options.thread_name_prefix, options.recorder);
      auto result = workload.parallel(pool, options.workers);
      pool.shutdown();
      if (options.recorder && options.gil_holds) *options.gil_holds = pool.gil().holds();
      return result;
    }
    case Model::processes: {
      ProcessPoolExecutor::Options o;
      o.max_workers = options.workers;
      if (options.process_ring_bytes) o.ring_bytes = options.process_ring_bytes;
      o.recorder = options.recorder;
      ProcessPoolExecutor pool(o);
      return workload.parallel(pool, options.workers);
    }
    case Model::coroutines:
      if constexpr (requires(const aio::LoopOptions& loop) { workload.coroutines(loop); }) {
        aio::LoopOptions loop;
        loop.recorder = options.recorder;
        return workload.coroutines(loop);
      } else if constexpr (requires { workload.coroutines(); }) {
        return workload.coroutines();
      } else {
        throw unsupported();
      }
    case Model::mpi: {
#ifdef TANDEM_WITH_MPI
      mpi::PoolExecutor::Options o;
      o.max_workers = options.workers;
      mpi::PoolExecutor pool(o);
      return workload.parallel(pool, static_cast<unsigned>(pool.max_workers()));
#else
      throw std::invalid_argument(
          "--model mpi: this tandem was built without MPI (install openmpi-bin libopenmpi-dev, then rebuild)");
#endif
    }
  }
  throw unsupported();
}

}  // namespace tandem::lab
