// tandem sumsq — the seed's CPU-bound demo: Σ i² for i in [0, N), exact, measured.
#include <fmt/core.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "lab/sumsq.hpp"
#include "lab_options.hpp"

namespace tandem::cli {

namespace {

// sumsq has no coroutine version: a loop that never awaits gains nothing from an event loop.
constexpr std::array<lab::Model, 5> kSumsqModels = {lab::Model::sequential, lab::Model::threads,
                                                    lab::Model::threads_gil, lab::Model::processes, lab::Model::mpi};

struct SumsqOptions {
  std::string n = "100000000";
  std::string model = "threads";
  std::string workers;
  std::string switch_interval = "5";
  bool json = false;
  MeasureCliOptions measure;
  CLI::Option* switch_interval_option = nullptr;
};

int run_sumsq(const SumsqOptions& o) {
  const std::uint64_t n = parse_positive_u64("N", o.n);
  if (n > (std::uint64_t{1} << 40))
    throw UsageError(fmt::format("N must be at most 2^40 (the loop would run for hours), got {}", n));
  lab::ModelOptions model;
  model.model = lab::parse_model(o.model, kSumsqModels);
  model.workers = !o.workers.empty()                    ? parse_workers(o.workers)
                    : model.model == lab::Model::mpi ? lab::mpi_default_workers()
                                                      : default_workers();
  model.switch_interval = parse_switch_interval(o.switch_interval);
  model.thread_name_prefix = "sumsq";
  const auto measure_options = parse_measure_options(o.measure);
  if (!o.workers.empty() && !lab::has_workers(model.model))
    throw UsageError(fmt::format("--workers sizes a pool; --model {} has none", lab::name(model.model)));
  if (o.switch_interval_option->count() > 0 && model.model != lab::Model::threads_gil)
    throw UsageError("--switch-interval is the emulated GIL's: use it with --model threads-gil");

  const auto conditions = lab::current_conditions(default_workers());
  const auto expected = lab::sum_squares_formula(n);
  lab::Measurement<lab::SumsqRun> m;
  {
    ProgressLine progress("sumsq");
    m = lab::measure(
        measure_options,
        [&](const lab::RunSlot&) {
          auto run = lab::run_model(model, lab::SumsqWorkload{n});
          if (run.sum != expected)
            throw std::runtime_error(fmt::format("internal error: loop gave {}, formula {}", lab::to_string(run.sum),
                                                 lab::to_string(expected)));
          return run;
        },
        progress.callback());
  }
  const unsigned workers = lab::has_workers(model.model) ? model.workers : 1u;
  const auto warnings = lab::warnings(m.stats, conditions);
  if (o.json) {
    nlohmann::json doc{{"command", "sumsq"},
                       {"model", lab::name(model.model)},
                       {"n", u64_json(n)},
                       {"workers", workers},
                       {"sum", lab::to_string(expected)},
                       {"seed_sum", lab::to_string(lab::seed_sum_squares(n))},
                       {"tasks", m.runs.front().tasks},
                       {"wall_seconds", m.stats.median},
                       {"measurement", stats_json(m.stats, m.warmup_seconds)},
                       {"cores", default_workers()},
                       {"warnings", warnings}};
    if (conditions.load_average) doc["load_average"] = *conditions.load_average;
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  if (model.model == lab::Model::sequential)
    fmt::print("sum of i*i for i in [0, {}), sequentially:\n", n);
  else
    fmt::print("sum of i*i for i in [0, {}), {} {}:\n", n, workers, lab::name(model.model));
  fmt::print("{}\n", lab::to_string(expected));
  fmt::print("took a median of {}\n", format_median(m.stats));
  fmt::print("runs (s): {}\n", format_runs(m.stats));
  fmt::print("(the seed prints {}: its slice(..., -1) drops i = {})\n", lab::to_string(lab::seed_sum_squares(n)),
             n - 1);
  print_warnings(warnings);
  return 0;
}

}  // namespace

void add_sumsq(CLI::App& app, Runner& run) {
  auto o = std::make_shared<SumsqOptions>();
  auto* sub = app.add_subcommand("sumsq", "Sum of squares below N (the seed's CPU-bound demo)");
  sub->add_option("N", o->n, "Upper bound (exclusive)")->type_name("UINT")->capture_default_str();
  add_model_option(*sub, o->model, kSumsqModels);
  sub->add_option("--workers", o->workers, "Worker threads or processes (default: the cores this process may use)")
      ->type_name("UINT");
  o->switch_interval_option = add_switch_interval_option(*sub, o->switch_interval);
  add_measure_options(*sub, o->measure);
  sub->add_flag("--json", o->json, "Print one JSON document");
  sub->callback([o, &run] { run = [o] { return run_sumsq(*o); }; });
}

}  // namespace tandem::cli
