// tandem primes — the seed's prime checker (sequential.py / procs.py) under each model.
#include <fmt/core.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli.hpp"
#include "lab/primes.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::cli {

namespace {

struct PrimesOptions {
  std::string model = "threads";
  std::string workers;
  std::vector<std::string> numbers;
  bool baseline = false;
  bool json = false;
};

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
  const unsigned workers = o.workers.empty() ? default_workers() : parse_workers(o.workers);
  const lab::PrimeCallback row = o.json ? lab::PrimeCallback{} : lab::PrimeCallback{print_row};

  nlohmann::json doc{{"command", "primes"}, {"model", o.model}, {"cores", default_workers()}};
  std::optional<lab::PrimesRun> baseline;
  if (o.baseline && o.model != "sequential") {
    if (!o.json) fmt::print("Baseline: checking {} numbers sequentially ...\n", numbers.size());
    baseline = lab::check_sequential(numbers);
    if (!o.json) fmt::print("Baseline total time: {:.2f}s\n\n", baseline->wall_seconds);
    doc["baseline"] = to_json(*baseline);
  }

  lab::PrimesRun run;
  if (o.model == "sequential") {
    if (!o.json) fmt::print("Checking {} numbers sequentially:\n", numbers.size());
    run = lab::check_sequential(numbers, row);
  } else {
    if (!o.json)
      fmt::print("Checking {} numbers with {} threads ({} odd divisors per task):\n", numbers.size(), workers,
                 lab::kDivisorsPerChunk);
    ThreadPoolExecutor pool(workers, "primes");
    run = lab::check_parallel(pool, numbers, row);
  }
  doc["workers"] = o.model == "sequential" ? 1u : workers;
  doc["run"] = to_json(run);
  if (o.json) {
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  fmt::print("Total time: {:.2f}s\n", run.wall_seconds);
  if (o.model != "sequential") {
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
      ->check(CLI::IsMember({"sequential", "threads"}))
      ->capture_default_str();
  sub->add_option("--workers", o->workers, "Worker threads (default: the cores this process may use)");
  sub->add_flag("--baseline", o->baseline, "Also run sequentially first and report the real speedup");
  sub->add_flag("--json", o->json, "Print one JSON document instead of the table");
  sub->add_option("NUMBER", o->numbers, "Numbers to check (default: the published list)");
  sub->callback([o, &run] { run = [o] { return run_primes(*o); }; });
}

}  // namespace tandem::cli
