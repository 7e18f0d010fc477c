// tandem download — the seed's site downloader (Real Python's download_all_sites) under each model.
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "lab/download.hpp"
#include "lab/sites.hpp"
#include "lab_options.hpp"

namespace tandem::cli {

namespace {

struct DownloadCliOptions {
  std::string model = "coroutines";
  std::string sites;  // empty: 160 fixtures, or each --url once
  std::string workers;
  std::string latency = "100ms";
  std::vector<std::string> urls;
  bool verbose = false;
  bool json = false;
  MeasureCliOptions measure;
};

// One download of every site, timed by the downloader itself (pool or loop start included).
struct TimedDownload {
  lab::DownloadRun run;
  double wall_seconds = 0;
};

constexpr std::uint64_t kMaxSites = 1'000'000;
constexpr std::uint64_t kMaxConnections = 100'000;
constexpr std::uint64_t kMaxThreadsOrProcesses = 4096;

std::vector<lab::Model> chosen_models(const std::string& name) {
  if (name == "all") return {lab::kDownloadModels.begin(), lab::kDownloadModels.end()};
  try {
    return {lab::parse_model(name, lab::kDownloadModels)};
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--model: {} (or sync, or all for a table)", e.what()));
  }
}

// The seed's names for its programs: its sequential downloader is sync.py.
std::string_view label(lab::Model m) { return m == lab::Model::sequential ? "sync" : lab::name(m); }

// The seed's line, with the median of the runs; then every run and the warnings, as primes and sumsq.
void print_downloaded(const lab::Measurement<TimedDownload>& m, const std::vector<std::string>& warnings) {
  fmt::print("Downloaded {} in {:.6f} seconds\n", m.runs.front().run.bytes.size(), m.stats.median);
  if (m.runs.size() > 1) fmt::print("  median of {}; runs (s): {}\n", format_median(m.stats), format_runs(m.stats));
  print_warnings(warnings);
  std::fflush(stdout);
}

int run_download(const DownloadCliOptions& o) {
  const auto models = chosen_models(o.model);
  std::size_t workers = 0;
  if (!o.workers.empty()) {
    workers = parse_whole_number("--workers", o.workers, 1, kMaxConnections);
    for (auto m : models)
      if (m != lab::Model::coroutines && m != lab::Model::sequential && workers > kMaxThreadsOrProcesses)
        throw UsageError(fmt::format("--workers for threads and processes must be at most {} (more is only for "
                                     "--model coroutines, where it is the connection limit), got '{}'",
                                     kMaxThreadsOrProcesses, o.workers));
  }
  std::optional<std::size_t> sites;
  if (!o.sites.empty()) sites = parse_whole_number("--sites", o.sites, 1, kMaxSites);
  std::chrono::nanoseconds latency{0};
  try {
    latency = lab::parse_latency(o.latency);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--") + e.what());
  }

  const auto measure_options = parse_measure_options(o.measure);
  if (o.json && o.verbose)
    throw UsageError("--verbose prints the seed's 'Read N from URL' lines, which --json leaves out: give one");

  std::unique_ptr<lab::FixtureServer> server;  // only without --url
  std::vector<std::string> urls;
  if (o.urls.empty()) {
    server = std::make_unique<lab::FixtureServer>(latency);
    urls = lab::seed_sites(server->url(), sites.value_or(160));
    if (!o.json)
      fmt::print("Serving the seed's sites at {} with {:g} ms latency\n", server->url(),
                 static_cast<double>(latency.count()) / 1e6);
  } else {
    for (const auto& url : o.urls)
      if (!url.starts_with("http://") && !url.starts_with("https://"))
        throw UsageError(fmt::format("--url must start with http:// or https://, got '{}'", url));
    const std::size_t n = sites.value_or(o.urls.size());  // --sites cycles through the URLs given
    for (std::size_t i = 0; i < n; ++i) urls.push_back(o.urls[i % o.urls.size()]);
  }
  std::fflush(stdout);

  const lab::OnRead on_read = [](const std::string& url, std::size_t bytes) {
    fmt::print("Read {} from {}\n", bytes, url);
  };
  const auto conditions = lab::current_conditions(default_workers());
  struct Measured {
    lab::Measurement<TimedDownload> m;
    std::vector<std::string> warnings;
    const lab::DownloadRun& run() const { return m.runs.front().run; }
  };
  std::vector<Measured> results;
  for (auto model : models) {
    // Without the embedded server a connection costs this process one descriptor, not two.
    const std::size_t w = workers == 0 && !server && model == lab::Model::coroutines
                              ? lab::kept_in_flight(urls.size(), 1)
                              : workers;
    Measured r;
    {
      ProgressLine progress(fmt::format("download {}", label(model)));
      r.m = lab::measure(
          measure_options,
          [&](const lab::RunSlot& slot) {
            // The seed's "Read N from URL" lines once, on the first measured run.
            auto run = lab::download_all_sites(model, urls, w,
                                               o.verbose && slot.first_measured() ? on_read : lab::OnRead{});
            const double seconds = run.seconds;
            return TimedDownload{std::move(run), seconds};
          },
          progress.callback());
    }
    for (const auto& t : r.m.runs)
      if (t.run.bytes != r.run().bytes)
        throw std::runtime_error(fmt::format("{} read {} bytes in one run and {} in another", label(model),
                                             r.run().total, t.run.total));
    r.warnings = lab::warnings(r.m.stats, conditions);
    if (!o.json) print_downloaded(r.m, r.warnings);
    results.push_back(std::move(r));
  }
  const auto& first = results.front().run();
  const auto odd = std::find_if(results.begin(), results.end(),
                                [&](const Measured& r) { return r.run().bytes != first.bytes; });
  const bool same = odd == results.end();

  if (o.json) {
    nlohmann::json doc{{"command", "download"},
                       {"sites", u64_json(urls.size())},
                       {"urls", o.urls.empty() ? "embedded" : "given"},
                       {"cores", default_workers()},
                       {"models", nlohmann::json::array()}};
    if (server) doc["latency_ms"] = static_cast<double>(latency.count()) / 1e6;
    if (conditions.load_average) doc["load_average"] = *conditions.load_average;
    for (const auto& r : results)
      doc["models"].push_back({{"model", std::string(label(r.run().model))},
                               {"workers", u64_json(r.run().workers)},
                               {"bytes", u64_json(r.run().total)},
                               {"wall_seconds", r.m.stats.median},
                               {"speedup", r.m.stats.median > 0 ? results.front().m.stats.median / r.m.stats.median : 0.0},
                               {"measurement", stats_json(r.m.stats, r.m.warmup_seconds)},
                               {"warnings", r.warnings}});
    doc["same_bytes"] = same;
    fmt::print("{}\n", doc.dump(2));
  }
  if (!same)
    throw std::runtime_error(fmt::format("the models disagree: {} read {} bytes in all, {} read {}",
                                         label(first.model), first.total, label(odd->run().model), odd->run().total));
  if (results.size() == 1 || o.json) return 0;

  const double base = results.front().m.stats.median;
  fmt::print("\n{:<11} {:>8} {:>12} {:>10} {:>21} {:>8}\n", "model", "workers", "bytes", "median s", "min…max s",
             "speedup");
  for (const auto& r : results)
    fmt::print("{:<11} {:>8} {:>12} {:>10.3f} {:>21} {:>7.1f}x\n", label(r.run().model), r.run().workers,
               r.run().total, r.m.stats.median, fmt::format("{:.3f}…{:.3f}", r.m.stats.min, r.m.stats.max),
               r.m.stats.median > 0 ? base / r.m.stats.median : 0.0);
  fmt::print("Every model read the same {} bytes\n", first.total);
  return 0;
}

}  // namespace

void add_download(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DownloadCliOptions>();
  auto* sub = app.add_subcommand("download", "The seed's site downloader under each model, against the seed's "
                                             "sites played on loopback (or --url)");
  sub->add_option("--model", o->model, "sync, threads, processes, coroutines (singular too), or all for a table")
      ->capture_default_str();
  sub->add_option("--sites", o->sites, "Sites to download: the seed's two alternating (default 160, 80 x 2); "
                                       "with --url, the URLs repeated to this count");
  sub->add_option("--workers", o->workers,
                  "Threads (default 5, the seed's), processes (default: the CPUs) or, for coroutines, "
                  "connections open at once (default: all sites, within the descriptor limit)");
  sub->add_option("--latency", o->latency, "The embedded server holds each answer back this long: 100ms, 0.1s, 0")
      ->capture_default_str();
  sub->add_option("--url", o->urls, "Download these URLs (http or https) instead of the embedded sites");
  sub->add_flag("--verbose", o->verbose, "Print the seed's 'Read N from URL' line per site (first measured run)");
  add_measure_options(*sub, o->measure);
  sub->add_flag("--json", o->json, "Print one JSON document: every model's runs, median, min…max, warnings");
  sub->callback([o, &run] { run = [o] { return run_download(*o); }; });
}

}  // namespace tandem::cli
