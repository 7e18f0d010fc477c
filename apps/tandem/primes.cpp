// tandem primes — the seed's prime checker (sequential.py / procs.py) under each model.
#include <fmt/core.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <vector>

#include "cli.hpp"
#include "lab/primes.hpp"
#include "lab/python_peers.hpp"
#include "lab_options.hpp"

namespace tandem::cli {

namespace {

struct PrimesOptions {
  std::string model = "threads";
  std::string workers;
  std::string switch_interval = "5";
  std::vector<std::string> numbers;
  bool baseline = false;
  bool sweep = false;
  bool json = false;
  bool python = false;
  MeasureCliOptions measure;
  CLI::Option* switch_interval_option = nullptr;
};

// Everything the run needs, parsed and checked against each other.
struct PrimesPlan {
  lab::ModelOptions model;
  std::vector<std::uint64_t> numbers;
  lab::MeasureOptions measure;
  lab::Conditions conditions;
};

void print_row(const lab::PrimeResult& r) {
  fmt::print("{:16}  {} {:9.6f}s\n", r.n, r.prime ? 'P' : ' ', r.seconds);
  std::fflush(stdout);
}

nlohmann::json results_json(const lab::PrimesRun& run) {
  auto rows = nlohmann::json::array();
  for (auto& r : run.results) rows.push_back({{"n", u64_json(r.n)}, {"prime", r.prime}, {"seconds", r.seconds}});
  return {{"results", rows}, {"wall_seconds", run.wall_seconds}, {"work_seconds", run.work_seconds},
          {"tasks", run.tasks}};
}

// "Checking 20 numbers with 2 threads ...:", the line above the seed's table.
void print_check_header(const PrimesPlan& plan) {
  const lab::Model model = plan.model.model;
  const std::size_t count = plan.numbers.size();
  if (model == lab::Model::sequential)
    fmt::print("Checking {} numbers sequentially:\n", count);
  else if (model == lab::Model::coroutines)
    fmt::print("Checking {} numbers as coroutines on one event loop:\n", count);
  else
    fmt::print("Checking {} numbers with {} {}{} ({} odd divisors per task):\n", count, plan.model.workers,
               lab::worker_unit(model), model == lab::Model::threads_gil ? " under the emulated GIL" : "",
               lab::kDivisorsPerChunk);
}

// The check under `model`, measured: the first measured run prints its rows (when `rows`), the
// others run silently.
lab::Measurement<lab::PrimesRun> measure_check(const PrimesPlan& plan, const lab::ModelOptions& model, bool rows,
                                               const std::string& label) {
  ProgressLine progress(label);
  return lab::measure(
      plan.measure,
      [&](const lab::RunSlot& slot) {
        lab::PrimesWorkload work{plan.numbers, rows && slot.first_measured() ? lab::PrimeCallback{print_row}
                                                                              : lab::PrimeCallback{}};
        return lab::run_model(model, work);
      },
      progress.callback());
}

nlohmann::json measurement_json(const lab::Measurement<lab::PrimesRun>& m) {
  auto doc = results_json(m.runs.front());
  doc["wall_seconds"] = m.stats.median;
  doc["measurement"] = stats_json(m.stats, m.warmup_seconds);
  return doc;
}

// The seed's run_procs.sh: the same check on 1..N workers, median seconds and speedup per count.
int run_sweep(const PrimesOptions& o, const PrimesPlan& plan) {
  const lab::Model model = plan.model.model;
  const unsigned max_workers = plan.model.workers;
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::string> warnings;
  if (!o.json)
    fmt::print("Sweep: {} numbers on 1..{} {} ({} cores), median of {} runs\n{:>7}  {:>8}  {:>17}  {:>7}  {}\n",
               plan.numbers.size(), max_workers, lab::worker_unit(model), default_workers(), plan.measure.runs,
               "workers", "median", "min…max", "speedup", "runs");
  double first = 0;
  for (unsigned w = 1; w <= max_workers; ++w) {
    auto options = plan.model;
    options.workers = w;
    const auto m = measure_check(plan, options, false, fmt::format("{} {}", w, lab::worker_unit(model)));
    if (w == 1) first = m.stats.median;
    const double speedup = m.stats.median > 0 ? first / m.stats.median : 0;
    for (auto& text : lab::warnings(m.stats, plan.conditions))
      if (std::ranges::find(warnings, text) == warnings.end()) warnings.push_back(text);
    rows.push_back({{"workers", w}, {"seconds", m.stats.median}, {"speedup", speedup},
                    {"measurement", stats_json(m.stats, m.warmup_seconds)}});
    if (!o.json) {
      fmt::print("{:>7}  {:>7.3f}s  {:>17}  {:>6.2f}x  {}\n", w, m.stats.median,
                 fmt::format("{:.3f}…{:.3f}s", m.stats.min, m.stats.max), speedup, format_runs(m.stats));
      std::fflush(stdout);
    }
  }
  if (o.json) {
    nlohmann::json doc{{"command", "primes"}, {"model", lab::name(model)}, {"sweep", rows},
                       {"cores", default_workers()}, {"warnings", warnings}};
    if (plan.conditions.load_average) doc["load_average"] = *plan.conditions.load_average;
    fmt::print("{}\n", doc.dump(2));
  } else {
    print_warnings(warnings);
  }
  return 0;
}

// --python: the seed's own programs on CPython (sequential.py, and threads.py or procs.py beside
// threads-gil or processes), the same numbers, workers and runs, and the two speedups compared.
struct PythonPeers {
  nlohmann::json section;     // lab::python::run_python_peers' result
  nlohmann::json comparison;  // lab::python::compare_speedup's row
};

PythonPeers run_python(const PrimesPlan& plan, double tandem_speedup, bool json) {
  const lab::Model model = plan.model.model;
  const std::string python_model = model == lab::Model::threads_gil ? "threads" : "processes";
  lab::python::PeerOptions options;
  options.numbers = plan.numbers;
  options.workers = {plan.model.workers};
  options.programs = {"primes"};
  options.models = {python_model};
  options.measure = plan.measure;
  if (!json) fmt::print("\nCPython: the seed's sequential.py and {}.py on the same numbers, {} runs ...\n",
                        python_model == "threads" ? "threads" : "procs", plan.measure.runs);
  std::fflush(stdout);
  PythonPeers out;
  {
    ProgressLine progress("CPython");
    options.progress = progress.callback();
    out.section = lab::python::run_python_peers(options);
  }
  const auto& cases = out.section["cases"];
  const auto& peer = cases.at(1);
  out.comparison = lab::python::compare_speedup("primes", plan.model.workers, python_model,
                                                peer["speedup"].get<double>(), std::string(lab::name(model)),
                                                tandem_speedup);
  return out;
}

void print_python(const PythonPeers& python) {
  const auto& s = python.section;
  for (const auto& c : s["cases"])
    fmt::print("CPython {} ({}): {:<10} median {:.3f}s ({:.3f}…{:.3f}s, {} runs), speedup {:.2f}x\n",
               s["version"].get<std::string>(), c["script"].get<std::string>(), c["model"].get<std::string>(),
               c["median_s"].get<double>(), c["min_s"].get<double>(), c["max_s"].get<double>(), c["runs_s"].size(),
               c["speedup"].get<double>());
  fmt::print("{}\n", python.comparison["sentence"].get<std::string>());
}

// --baseline: the sequential check and the model's, each measured, and the speedup of the medians.
int run_baseline(const PrimesOptions& o, const PrimesPlan& plan) {
  const auto& numbers = plan.numbers;
  const lab::Model model = plan.model.model;
  const unsigned workers = plan.model.workers;
  if (!o.json) fmt::print("Baseline: checking {} numbers sequentially, {} runs ...\n", numbers.size(), plan.measure.runs);
  lab::ModelOptions sequential = plan.model;
  sequential.model = lab::Model::sequential;
  const auto base = measure_check(plan, sequential, false, "baseline");
  if (!o.json) fmt::print("Baseline: median {}\n\n", format_median(base.stats));

  if (!o.json) print_check_header(plan);
  const auto m = measure_check(plan, plan.model, !o.json, std::string(lab::name(model)));
  const double speedup = m.stats.median > 0 ? base.stats.median / m.stats.median : 0;
  auto warnings = lab::warnings(base.stats, plan.conditions);
  for (auto& text : lab::warnings(m.stats, plan.conditions))
    if (std::ranges::find(warnings, text) == warnings.end()) warnings.push_back(text);
  std::optional<PythonPeers> python;
  // CPython's runs come after tandem's output (text) or before the document (JSON); their warnings
  // join tandem's, marked, unless tandem's already say the same (the load average).
  auto run_python_peers = [&] {
    python = run_python(plan, speedup, o.json);
    for (const auto& c : python->section["cases"])
      for (const auto& w : c["warnings"]) {
        const auto text = w.get<std::string>();
        if (std::ranges::find(warnings, text) != warnings.end()) continue;
        if (auto marked = "CPython: " + text; std::ranges::find(warnings, marked) == warnings.end())
          warnings.push_back(std::move(marked));
      }
  };
  if (o.json) {
    if (o.python) run_python_peers();
    nlohmann::json doc{{"command", "primes"},
                       {"model", lab::name(model)},
                       {"workers", lab::has_workers(model) ? workers : 1u},
                       {"cores", default_workers()},
                       {"baseline", measurement_json(base)},
                       {"run", measurement_json(m)},
                       {"speedup", speedup},
                       {"warnings", warnings}};
    if (plan.conditions.load_average) doc["load_average"] = *plan.conditions.load_average;
    if (python) {
      doc["python"] = python->section;
      doc["python_comparison"] = python->comparison;
    }
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  const auto& first = m.runs.front();
  fmt::print("Total time: median {}\n", format_median(m.stats));
  fmt::print("Runs (s): baseline {}; {} {}\n", format_runs(base.stats), lab::name(model), format_runs(m.stats));
  if (lab::has_workers(model)) {
    const double parallelism = first.wall_seconds > 0 ? first.work_seconds / first.wall_seconds : 0;
    fmt::print("{} tasks, {:.2f}s of work in {:.2f}s: {:.2f} cores busy on average (of {} workers, {} cores; first run)\n",
               first.tasks, first.work_seconds, first.wall_seconds, parallelism, workers, default_workers());
  }
  fmt::print("Speedup over sequential: {:.2f}x ({:.3f}s -> {:.3f}s, medians; limit {}x)\n", speedup,
             base.stats.median, m.stats.median,
             model == lab::Model::threads || model == lab::Model::processes ? std::min(workers, default_workers()) : 1u);
  if (model == lab::Model::threads_gil)
    fmt::print("One thread at a time holds the GIL: threads overlap waiting, not computation (Python's threads).\n");
  if (o.python) {
    run_python_peers();
    print_python(*python);
  }
  print_warnings(warnings);
  return 0;
}

// One run, the seed's table as numbers are decided.
int run_once(const PrimesOptions& o, const PrimesPlan& plan) {
  const auto& numbers = plan.numbers;
  const lab::Model model = plan.model.model;
  const unsigned workers = plan.model.workers;
  if (!o.json) print_check_header(plan);
  lab::PrimesWorkload work{numbers, o.json ? lab::PrimeCallback{} : lab::PrimeCallback{print_row}};
  const lab::PrimesRun run = lab::run_model(plan.model, work);
  if (o.json) {
    nlohmann::json doc{{"command", "primes"}, {"model", lab::name(model)}, {"cores", default_workers()},
                       {"workers", lab::has_workers(model) ? workers : 1u}, {"run", results_json(run)}};
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  fmt::print("Total time: {:.2f}s\n", run.wall_seconds);
  if (model == lab::Model::coroutines)
    fmt::print("One loop thread runs one coroutine at a time, and is_prime never awaits: no speedup, by design.\n"
               "Coroutines overlap waiting (I/O, sleeps), not computation: use --model threads for CPU work.\n");
  if (lab::has_workers(model)) {
    const double parallelism = run.wall_seconds > 0 ? run.work_seconds / run.wall_seconds : 0;
    fmt::print("{} tasks, {:.2f}s of work in {:.2f}s: {:.2f} cores busy on average (of {} workers, {} cores)\n",
               run.tasks, run.work_seconds, run.wall_seconds, parallelism, workers, default_workers());
  }
  return 0;
}

int run_primes(const PrimesOptions& o) {
  PrimesPlan plan;
  for (auto& text : o.numbers) plan.numbers.push_back(parse_positive_u64("NUMBER", text));
  if (plan.numbers.empty()) plan.numbers.assign(lab::kPrimeNumbers.begin(), lab::kPrimeNumbers.end());
  plan.model.model = lab::parse_model(o.model);
  plan.model.thread_name_prefix = "primes";
  plan.model.workers = !o.workers.empty()                    ? parse_workers(o.workers)
                    : plan.model.model == lab::Model::mpi ? lab::mpi_default_workers()
                                                      : default_workers();
  plan.model.switch_interval = parse_switch_interval(o.switch_interval);
  plan.measure = parse_measure_options(o.measure);

  // A flag the combination would ignore is an error, not silence.
  const lab::Model model = plan.model.model;
  if (o.sweep && !lab::has_workers(model))
    throw UsageError("--sweep compares worker counts: use --model threads, threads-gil or processes");
  if (o.sweep && o.baseline)
    throw UsageError("--sweep and --baseline: choose one (the sweep's 1-worker row is its baseline)");
  if (o.baseline && model == lab::Model::sequential)
    throw UsageError("--baseline compares a model with sequential; with --model sequential there is nothing to compare");
  if (!o.workers.empty() && !lab::has_workers(model))
    throw UsageError(fmt::format("--workers sizes a pool; --model {} has none", lab::name(model)));
  if (o.switch_interval_option->count() > 0 && model != lab::Model::threads_gil)
    throw UsageError("--switch-interval is the emulated GIL's: use it with --model threads-gil");
  if (o.python && !o.baseline)
    throw UsageError("--python sets CPython's speedup beside tandem's: add --baseline");
  if (o.python && model != lab::Model::threads_gil && model != lab::Model::processes)
    throw UsageError("--python compares CPython's threads with --model threads-gil and its processes with "
                     "--model processes");
  if (o.measure.given() && !o.baseline && !o.sweep)
    throw UsageError("--runs and --warmup repeat a timed comparison: add --baseline or --sweep");

  if (o.sweep || o.baseline) plan.conditions = lab::current_conditions(default_workers());
  if (o.sweep) return run_sweep(o, plan);
  if (o.baseline) return run_baseline(o, plan);
  return run_once(o, plan);
}

}  // namespace

void add_primes(CLI::App& app, Runner& run) {
  auto o = std::make_shared<PrimesOptions>();
  auto* sub = app.add_subcommand("primes", "Check the seed's 20 numbers (or yours) for primality");
  add_model_option(*sub, o->model, lab::kAllModels);
  sub->add_option("--workers", o->workers, "Workers (default: the cores this process may use)")->type_name("UINT");
  o->switch_interval_option = add_switch_interval_option(*sub, o->switch_interval);
  sub->add_flag("--baseline", o->baseline, "Also run sequentially first and report the real speedup (measured)");
  sub->add_flag("--sweep", o->sweep,
                "Run on 1..N workers (N: --workers or the cores) and print the speedup per count (measured)");
  sub->add_flag("--python", o->python,
                "With --baseline: also run the seed's own programs on CPython (sequential.py, threads.py or "
                "procs.py; Debian's /usr/bin/python3, else python3 on PATH) and compare the speedups");
  add_measure_options(*sub, o->measure);
  sub->add_flag("--json", o->json, "Print one JSON document instead of the table");
  sub->add_option("NUMBER", o->numbers, "Numbers to check (default: the published list)")->type_name("UINT");
  sub->callback([o, &run] { run = [o] { return run_primes(*o); }; });
}

}  // namespace tandem::cli
