// tandem primes — the seed's prime checker (sequential.py / procs.py) under each model.
#include <fmt/core.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "cli.hpp"
#include "lab/primes.hpp"
#include "mpi_model.hpp"
#include "tandem/aio/runners.hpp"
#include "tandem/aio/tasks.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::cli {

namespace {

namespace aio = tandem::aio;

struct PrimesOptions {
  std::string model = "threads";
  std::string workers;
  std::vector<std::string> numbers;
  bool baseline = false;
  bool sweep = false;
  bool json = false;
};

const char* unit_name(const std::string& model) {
  return model == "processes" ? "processes" : model == "mpi" ? "MPI ranks" : "threads";
}

// The coroutine model: one task per number on one loop thread. is_prime never awaits, so each task
// runs to the end once started: no overlap, and no speedup, by design.
aio::Task<lab::PrimesRun> check_on_loop(std::span<const std::uint64_t> numbers, lab::PrimeCallback row) {
  const auto t0 = std::chrono::steady_clock::now();
  lab::PrimesRun run;
  std::vector<aio::TaskHandle<void>> tasks;
  for (auto n : numbers)
    tasks.push_back(aio::create_task([](std::uint64_t n, lab::PrimesRun& run, lab::PrimeCallback& row) -> aio::Task<void> {
      const auto t = std::chrono::steady_clock::now();
      lab::PrimeResult r{n, lab::is_prime(n), 0.0};
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
      run.work_seconds += r.seconds;
      run.results.push_back(r);
      if (row) row(r);
      co_return;
    }(n, run, row)));
  co_await aio::gather(std::move(tasks));
  run.tasks = numbers.size();
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  co_return run;
}

// The parallel check on the model's executor, `workers` wide.
lab::PrimesRun check_on(const std::string& model, unsigned workers, std::span<const std::uint64_t> numbers,
                        const lab::PrimeCallback& row) {
  if (model == "processes") {
    ProcessPoolExecutor pool(workers);
    return lab::check_parallel(pool, numbers, row);
  }
  ThreadPoolExecutor pool(workers, "primes");
  return lab::check_parallel(pool, numbers, row);
}

// The seed's run_procs.sh: the same check on 1..N workers, seconds and speedup per count.
int run_sweep(const PrimesOptions& o, std::span<const std::uint64_t> numbers, unsigned max_workers) {
  nlohmann::json rows = nlohmann::json::array();
  if (!o.json)
    fmt::print("Sweep: {} numbers on 1..{} {} ({} cores)\n{:>7}  {:>9}  {:>7}\n", numbers.size(), max_workers,
               unit_name(o.model), default_workers(), "workers", "seconds", "speedup");
  double first = 0;
  for (unsigned w = 1; w <= max_workers; ++w) {
    auto run = check_on(o.model, w, numbers, {});
    if (w == 1) first = run.wall_seconds;
    const double speedup = run.wall_seconds > 0 ? first / run.wall_seconds : 0;
    rows.push_back({{"workers", w}, {"seconds", run.wall_seconds}, {"speedup", speedup}});
    if (!o.json) {
      fmt::print("{:>7}  {:>8.2f}s  {:>6.2f}x\n", w, run.wall_seconds, speedup);
      std::fflush(stdout);
    }
  }
  if (o.json)
    fmt::print("{}\n", nlohmann::json{{"command", "primes"}, {"model", o.model}, {"sweep", rows},
                                      {"cores", default_workers()}}
                           .dump(2));
  return 0;
}

void print_row(const lab::PrimeResult& r) {
  fmt::print("{:16}  {} {:9.6f}s\n", r.n, r.prime ? 'P' : ' ', r.seconds);
  std::fflush(stdout);
}

nlohmann::json to_json(const lab::PrimesRun& run) {
  auto rows = nlohmann::json::array();
  for (auto& r : run.results) rows.push_back({{"n", r.n}, {"prime", r.prime}, {"seconds", r.seconds}});
  return {{"results", rows}, {"wall_seconds", run.wall_seconds}, {"work_seconds", run.work_seconds},
          {"tasks", run.tasks}};
}

int run_primes(const PrimesOptions& o) {
  std::vector<std::uint64_t> numbers;
  for (auto& text : o.numbers) numbers.push_back(parse_positive_u64("NUMBER", text));
  if (numbers.empty()) numbers.assign(lab::kPrimeNumbers.begin(), lab::kPrimeNumbers.end());
  unsigned workers = o.workers.empty() ? default_workers() : parse_workers(o.workers);
  const lab::PrimeCallback row = o.json ? lab::PrimeCallback{} : lab::PrimeCallback{print_row};
  if (o.sweep) {
    if (o.model != "threads" && o.model != "processes")
      throw UsageError("--sweep compares worker counts: use --model threads or processes");
    return run_sweep(o, numbers, workers);
  }

  nlohmann::json doc{{"command", "primes"}, {"model", o.model}, {"cores", default_workers()}};
  std::optional<lab::PrimesRun> baseline;
  if (o.baseline && o.model != "sequential") {
    if (!o.json) fmt::print("Baseline: checking {} numbers sequentially ...\n", numbers.size());
    baseline = lab::check_sequential(numbers);
    if (!o.json) fmt::print("Baseline total time: {:.2f}s\n\n", baseline->wall_seconds);
    doc["baseline"] = to_json(*baseline);
  }

  lab::PrimesRun run;
  if (o.model == "coroutines") {
    if (!o.json) fmt::print("Checking {} numbers as coroutines on one event loop:\n", numbers.size());
    run = aio::run(check_on_loop(numbers, row));
  } else if (o.model == "sequential") {
    if (!o.json) fmt::print("Checking {} numbers sequentially:\n", numbers.size());
    run = lab::check_sequential(numbers, row);
  } else if (o.model == "mpi") {
    if (!o.json)
      fmt::print("Checking {} numbers on MPI ranks ({} odd divisors per task):\n", numbers.size(), lab::kDivisorsPerChunk);
    run = primes_on_mpi(o.workers.empty() ? 0 : workers, numbers, row, workers);
  } else {
    if (!o.json)
      fmt::print("Checking {} numbers with {} {} ({} odd divisors per task):\n", numbers.size(), workers,
                 unit_name(o.model), lab::kDivisorsPerChunk);
    run = check_on(o.model, workers, numbers, row);
  }
  doc["workers"] = (o.model == "sequential" || o.model == "coroutines") ? 1u : workers;
  doc["run"] = to_json(run);
  if (o.json) {
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  fmt::print("Total time: {:.2f}s\n", run.wall_seconds);
  if (o.model == "coroutines")
    fmt::print("One loop thread runs one coroutine at a time, and is_prime never awaits: no speedup, by design.\n"
               "Coroutines overlap waiting (I/O, sleeps), not computation: use --model threads for CPU work.\n");
  if (o.model != "sequential" && o.model != "coroutines") {
    const double parallelism = run.wall_seconds > 0 ? run.work_seconds / run.wall_seconds : 0;
    fmt::print("{} tasks, {:.2f}s of work in {:.2f}s: {:.2f} cores busy on average (of {} workers, {} cores)\n",
               run.tasks, run.work_seconds, run.wall_seconds, parallelism, workers, default_workers());
    if (baseline)
      fmt::print("Speedup over sequential: {:.2f}x ({:.2f}s -> {:.2f}s; limit {}x)\n",
                 baseline->wall_seconds / run.wall_seconds, baseline->wall_seconds, run.wall_seconds,
                 std::min(workers, default_workers()));
  }
  return 0;
}

}  // namespace

void add_primes(CLI::App& app, Runner& run) {
  auto o = std::make_shared<PrimesOptions>();
  auto* sub = app.add_subcommand("primes", "Check the seed's 20 numbers (or yours) for primality");
  sub->add_option("--model", o->model, "Execution model")
      ->check(CLI::IsMember({"sequential", "threads", "processes", "coroutines", "mpi"}))
      ->capture_default_str();
  sub->add_option("--workers", o->workers, "Workers (default: the cores this process may use)");
  sub->add_flag("--baseline", o->baseline, "Also run sequentially first and report the real speedup");
  sub->add_flag("--sweep", o->sweep, "Run on 1..N workers (N: --workers or the cores) and print the speedup per count");
  sub->add_flag("--json", o->json, "Print one JSON document instead of the table");
  sub->add_option("NUMBER", o->numbers, "Numbers to check (default: the published list)");
  sub->callback([o, &run] { run = [o] { return run_primes(*o); }; });
}

}  // namespace tandem::cli
