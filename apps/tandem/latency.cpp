// tandem latency — the seed's "latency numbers every programmer should know", measured here.
#include <fmt/core.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "lab/latency.hpp"
#include "lab_options.hpp"

namespace tandem::cli {

namespace {

struct LatencyCliOptions {
  std::string runs = "5";
  bool quick = false;
  bool json = false;
};

std::string format_ns(double ns) {
  if (ns <= 0) return "–";
  if (ns < 10) return fmt::format("{:.2f} ns", ns);
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.1f} µs", ns / 1e3);
  return fmt::format("{:.2f} ms", ns / 1e6);
}

std::string format_size(std::size_t bytes) {
  if (bytes == 0) return "?";
  return bytes >= (1u << 20) ? fmt::format("{} MiB", bytes >> 20) : fmt::format("{} KiB", bytes >> 10);
}

int run_latency(const LatencyCliOptions& o) {
  lab::LatencyOptions options;
  options.runs = static_cast<unsigned>(parse_whole_number("--runs", o.runs, 1, 1000));
  options.quick = o.quick;
  const auto conditions = lab::current_conditions(default_workers());
  const auto caches = lab::cache_sizes();
  const double ghz = lab::cpu_ghz();
  std::vector<lab::LatencyRow> rows;
  {
    ProgressLine progress("latency");
    rows = lab::measure_latency(options, progress.callback());
  }
  const auto warnings = lab::latency_warnings(rows, conditions);
  if (o.json) {
    auto out = nlohmann::json::array();
    for (const auto& row : rows) {
      const bool measured = row.unavailable.empty();
      nlohmann::json r{{"name", row.name},
                       {"measurement_ns", measured ? stats_json(row.stats, {}) : nlohmann::json(nullptr)}};
      r["seed_ns"] = row.seed_ns > 0 ? nlohmann::json(row.seed_ns) : nlohmann::json(nullptr);
      r["cycles"] = ghz > 0 && measured ? nlohmann::json(row.stats.median * ghz) : nlohmann::json(nullptr);
      if (!measured) r["unavailable"] = row.unavailable;
      if (!row.note.empty()) r["note"] = row.note;
      out.push_back(r);
    }
    nlohmann::json doc{{"command", "latency"},
                       {"rows", out},
                       {"cpu_ghz", ghz},
                       {"caches", {{"l1d", caches.l1d}, {"l2", caches.l2}, {"l3", caches.l3}}},
                       {"cores", default_workers()},
                       {"warnings", warnings}};
    if (conditions.load_average) doc["load_average"] = *conditions.load_average;
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  fmt::print("Latency on this machine: {} cores{}, L1d {}, L2 {}, L3 {}; median of {} batches per row\n",
             default_workers(), ghz > 0 ? fmt::format(" at {:.2f} GHz", ghz) : "", format_size(caches.l1d),
             format_size(caches.l2), format_size(caches.l3), options.runs);
  fmt::print("{:<44}  {:>10}  {:>10}  {:>23}  {:>12}\n", "operation", "seed", "here", "min…max", "CPU cycles");
  std::vector<std::string> notes;
  for (const auto& row : rows) {
    if (!row.unavailable.empty()) {
      fmt::print("{:<44}  {:>10}  {:>10}\n", row.name, format_ns(row.seed_ns), "n/a");
      notes.push_back(fmt::format("{}: not measured here: {}", row.name, row.unavailable));
      continue;
    }
    fmt::print("{:<44}  {:>10}  {:>10}  {:>23}  {:>12}\n", row.name, format_ns(row.seed_ns), format_ns(row.stats.median),
               format_ns(row.stats.min) + "…" + format_ns(row.stats.max),
               ghz > 0 ? fmt::format("{:.0f}", row.stats.median * ghz) : "?");
    if (!row.note.empty()) notes.push_back(fmt::format("{}: {}", row.name, row.note));
  }
  fmt::print("(seed: Jeff Dean's and Peter Norvig's figures; CPU cycles: the median at the clock the OS reports)\n");
  for (const auto& note : notes) fmt::print("{}\n", note);
  print_warnings(warnings);
  return 0;
}

}  // namespace

void add_latency(CLI::App& app, Runner& run) {
  auto o = std::make_shared<LatencyCliOptions>();
  auto* sub = app.add_subcommand("latency", "The seed's latency numbers every programmer should know, measured here");
  sub->add_option("--runs", o->runs, "Batches per row; the median is reported")->type_name("UINT")->capture_default_str();
  sub->add_flag("--quick", o->quick, "Smaller batches: a rough table in a few seconds");
  sub->add_flag("--json", o->json, "Print one JSON document");
  sub->callback([o, &run] { run = [o] { return run_latency(*o); }; });
}

}  // namespace tandem::cli
