// tandem lab — the whole matrix (programs × models, the workers sweep, the latency table), measured,
// written to DIR/results.json and DIR/trace.json, summarised on stdout. The runs live in lab/lab_run.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "lab/lab_run.hpp"
#include "lab/report.hpp"
#include "lab_options.hpp"

namespace tandem::cli {

namespace {

struct LabCliOptions {
  std::string out = "tandem-lab";
  bool quick = false;
  bool json = false;
  bool python = false;
  std::string workers;
  std::string size;  // hidden: tiny (tests), quick, full
  MeasureCliOptions measure;
};

lab::LabSize parse_size(const LabCliOptions& o) {
  if (o.size.empty()) return o.quick ? lab::LabSize::quick : lab::LabSize::full;
  if (o.quick) throw UsageError("--quick and --size both choose the inputs' size: give one");
  if (o.size == "full") return lab::LabSize::full;
  if (o.size == "quick") return lab::LabSize::quick;
  if (o.size == "tiny") return lab::LabSize::tiny;
  throw UsageError(fmt::format("--size must be one of {{full,quick,tiny}}, got '{}'", o.size));
}

std::string seconds_text(double s) { return s < 1 ? fmt::format("{:.1f} ms", s * 1e3) : fmt::format("{:.3f} s", s); }

void print_summary(const nlohmann::json& results, const std::string& out_dir) {
  const auto& m = results["machine"];
  fmt::print("tandem lab: {} cores ({}), {} measured runs + {} warmup per case{}\n", m["cores"].get<unsigned>(),
             m["cpu_model"].get<std::string>(), results["runs"].get<unsigned>(), results["warmup"].get<unsigned>(),
             results["quick"].get<bool>() ? ", quick inputs" : "");
  const auto& shared = results["warnings"];  // printed once, not under every case
  for (const auto& w : shared) fmt::print("warning: {}\n", w.get<std::string>());
  for (const auto& p : results["programs"]) {
    fmt::print("\n{}\n", p["title"].get<std::string>());
    fmt::print("  {:<12} {:>7}  {:>10}  {:>21}  {:>7}\n", "model", "workers", "median", "min…max", "speedup");
    for (const auto& c : p["cases"]) {
      fmt::print("  {:<12} {:>7}  {:>10}  {:>21}  {:>6.2f}x\n", c["model"].get<std::string>(),
                 c["workers"].get<unsigned>(), seconds_text(c["median_s"].get<double>()),
                 seconds_text(c["min_s"].get<double>()) + "…" + seconds_text(c["max_s"].get<double>()),
                 c["speedup"].get<double>());
      for (const auto& w : c["warnings"])
        if (std::find(shared.begin(), shared.end(), w) == shared.end())
          fmt::print("    warning: {}\n", w.get<std::string>());
    }
    if (!p["sweep"].empty()) {
      fmt::print("  workers sweep:");
      for (const auto& e : p["sweep"])
        fmt::print(" {} {}: {:.2f}x;", e["model"].get<std::string>(), e["workers"].get<unsigned>(),
                   e["speedup"].get<double>());
      fmt::print("\n");
    }
  }
  fmt::print("\nLatency ({} rows): see results.json\n", results["latency"].size());
  if (const auto& py = results["python"]; !py.is_null()) {
    fmt::print("\nCPython {} (smaller inputs; speedups compared, not times):\n", py["version"].get<std::string>());
    for (const auto& row : py["comparison"]) fmt::print("  {}\n", row["sentence"].get<std::string>());
  }
  fmt::print("Wrote {0}/report.html, {0}/results.json and {0}/trace.json (open trace.json in "
             "https://ui.perfetto.dev or chrome://tracing)\n",
             out_dir);
}

int run_lab_command(const LabCliOptions& o, const std::string& version) {
  lab::LabOptions options;
  options.size = parse_size(o);
  const auto measure = parse_measure_options(o.measure);
  options.runs = o.measure.runs_option->count() ? measure.runs : (options.size == lab::LabSize::full ? 5u : 3u);
  options.warmup = o.measure.warmup_option->count() ? measure.warmup : (options.size == lab::LabSize::full ? 1u : 0u);
  options.cores = default_workers();
  options.workers = o.workers.empty() ? std::max(2u, options.cores) : parse_workers(o.workers);
  options.sweep_max = std::min(options.cores, 4u);
  if (options.size == lab::LabSize::tiny) options.sweep_max = std::min(options.sweep_max, 2u);
  options.tandem_version = version;
  try {
    lab::check_output_dir(o.out);  // before minutes of measuring
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }

  lab::LabOutput output;
  {
    ProgressLine progress("lab");
    output = lab::run_lab(options, progress.callback());
  }
  if (o.python) {
    ProgressLine progress("lab: CPython");
    output.results["python"] =
        lab::run_lab_python(options, output.results["programs"], std::nullopt, progress.callback());
  }
  lab::write_lab_output(output, o.out);
  // The report reads back only the two files just written (lab/report.hpp), as a later
  // `lab::write_report` over a kept results.json/trace.json would.
  const std::filesystem::path out(o.out);
  lab::write_report(out / "results.json", out / "trace.json", out / "report.html");
  if (o.json) {
    fmt::print("{}\n", output.results.dump(2));
    return 0;
  }
  print_summary(output.results, o.out);
  return 0;
}

}  // namespace

void add_lab(CLI::App& app, Runner& run, std::string version) {
  auto o = std::make_shared<LabCliOptions>();
  auto* sub = app.add_subcommand("lab", "Every program under every model, measured: report.html, results.json and trace.json");
  sub->add_option("--out", o->out, "Directory for results.json and trace.json (created if missing)")
      ->type_name("DIR")
      ->capture_default_str();
  sub->add_flag("--quick", o->quick, "Small inputs, 3 runs, no warmup: the whole lab in under a minute on 2 cores");
  sub->add_option("--workers", o->workers, "Pool width of every pooled case (default: the cores, at least 2)")
      ->type_name("UINT");
  o->measure.warmup = "1";  // shown in --help; --quick makes it 0 (and --runs 3) unless given
  add_measure_options(*sub, o->measure);
  sub->add_flag("--python", o->python,
                "Also run the seeds' own Python programs on CPython (/usr/bin/python3, else python3 on PATH) "
                "and compare their speedups with tandem's threads-gil and processes");
  sub->add_flag("--json", o->json, "Print results.json to stdout instead of the summary");
  // Hidden: the tests' inputs (tiny: every case in milliseconds).
  sub->add_option("--size", o->size, "")->group("");
  sub->callback([o, &run, version] { run = [o, version] { return run_lab_command(*o, version); }; });
}

}  // namespace tandem::cli
