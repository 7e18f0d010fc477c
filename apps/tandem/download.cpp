// tandem download — the seed's site downloader (Real Python's download_all_sites) under each model.
#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "lab/download.hpp"
#include "lab/sites.hpp"

namespace tandem::cli {

namespace {

struct DownloadCliOptions {
  std::string model = "coroutines";
  std::string sites;  // empty: 160 fixtures, or each --url once
  std::string workers;
  std::string latency = "100ms";
  std::vector<std::string> urls;
  bool verbose = false;
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

void print_downloaded(const lab::DownloadRun& run) {
  fmt::print("Downloaded {} in {:.6f} seconds\n", run.bytes.size(), run.seconds);
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

  std::unique_ptr<lab::FixtureServer> server;  // only without --url
  std::vector<std::string> urls;
  if (o.urls.empty()) {
    server = std::make_unique<lab::FixtureServer>(latency);
    urls = lab::seed_sites(server->url(), sites.value_or(160));
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
  std::vector<lab::DownloadRun> runs;
  for (auto model : models) {
    // Without the embedded server a connection costs this process one descriptor, not two.
    const std::size_t w = workers == 0 && !server && model == lab::Model::coroutines
                              ? lab::kept_in_flight(urls.size(), 1)
                              : workers;
    runs.push_back(lab::download_all_sites(model, urls, w, o.verbose ? on_read : lab::OnRead{}));
    print_downloaded(runs.back());
  }
  if (runs.size() == 1) return 0;

  const double base = runs.front().seconds;
  fmt::print("\n{:<11} {:>8} {:>12} {:>10} {:>8}\n", "model", "workers", "bytes", "seconds", "speedup");
  for (const auto& run : runs)
    fmt::print("{:<11} {:>8} {:>12} {:>10.3f} {:>7.1f}x\n", label(run.model), run.workers, run.total,
               run.seconds, run.seconds > 0 ? base / run.seconds : 0.0);
  for (const auto& run : runs)
    if (run.bytes != runs.front().bytes)
      throw std::runtime_error(fmt::format("the models disagree: {} read {} bytes in all, {} read {}",
                                           label(runs.front().model), runs.front().total,
                                           label(run.model), run.total));
  fmt::print("Every model read the same {} bytes\n", runs.front().total);
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
  sub->add_flag("--verbose", o->verbose, "Print the seed's 'Read N from URL' line per site");
  sub->callback([o, &run] { run = [o] { return run_download(*o); }; });
}

}  // namespace tandem::cli
