// tandem sumsq — the seed's CPU-bound demo: Σ i² for i in [0, N), exact.
#include <fmt/core.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "lab/sumsq.hpp"
#include "mpi_model.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::cli {

namespace {

struct SumsqOptions {
  std::string n = "100000000";
  std::string model = "threads";
  std::string workers;
  bool json = false;
};

int run_sumsq(const SumsqOptions& o) {
  const std::uint64_t n = parse_positive_u64("N", o.n);
  if (n > (std::uint64_t{1} << 40))
    throw UsageError(fmt::format("N must be at most 2^40 (the loop would run for hours), got {}", n));
  unsigned workers = o.workers.empty() ? default_workers() : parse_workers(o.workers);
  lab::SumsqRun run;
  if (o.model == "mpi") {
    run = sumsq_on_mpi(o.workers.empty() ? 0 : workers, n, workers);
  } else if (o.model == "sequential") {
    run = lab::sumsq_sequential(n);
  } else if (o.model == "processes") {
    ProcessPoolExecutor pool(workers);
    run = lab::sumsq_parallel(pool, n, workers);
  } else {
    ThreadPoolExecutor pool(workers, "sumsq");
    run = lab::sumsq_parallel(pool, n, workers);
  }
  const auto expected = lab::sum_squares_formula(n);
  if (run.sum != expected)
    throw std::runtime_error(fmt::format("internal error: loop gave {}, formula {}", lab::to_string(run.sum),
                                         lab::to_string(expected)));
  if (o.json) {
    nlohmann::json doc{{"command", "sumsq"},    {"model", o.model},
                       {"n", n},                {"workers", o.model == "sequential" ? 1u : workers},
                       {"sum", lab::to_string(run.sum)}, {"seed_sum", lab::to_string(lab::seed_sum_squares(n))},
                       {"tasks", run.tasks},    {"wall_seconds", run.wall_seconds}};
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  if (o.model == "sequential")
    fmt::print("sum of i*i for i in [0, {}), sequentially:\n", n);
  else
    fmt::print("sum of i*i for i in [0, {}), {} {}:\n", n, workers, o.model);
  fmt::print("{}\n", lab::to_string(run.sum));
  fmt::print("took {:.3f}s\n", run.wall_seconds);
  fmt::print("(the seed prints {}: its slice(..., -1) drops i = {})\n", lab::to_string(lab::seed_sum_squares(n)),
             n - 1);
  return 0;
}

}  // namespace

void add_sumsq(CLI::App& app, Runner& run) {
  auto o = std::make_shared<SumsqOptions>();
  auto* sub = app.add_subcommand("sumsq", "Sum of squares below N (the seed's CPU-bound demo)");
  sub->add_option("N", o->n, "Upper bound (exclusive)")->capture_default_str();
  sub->add_option("--model", o->model, "Execution model")
      ->check(CLI::IsMember({"sequential", "threads", "processes", "mpi"}))
      ->capture_default_str();
  sub->add_option("--workers", o->workers, "Worker threads (default: the cores this process may use)");
  sub->add_flag("--json", o->json, "Print one JSON document");
  sub->callback([o, &run] { run = [o] { return run_sumsq(*o); }; });
}

}  // namespace tandem::cli
