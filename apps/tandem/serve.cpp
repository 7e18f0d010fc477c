// tandem serve — the seed's two sites (/jython, /dice) and /bytes/N on loopback, with a chosen latency.
#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "cli.hpp"
#include "lab/sites.hpp"

namespace tandem::cli {

namespace {

struct ServeCliOptions {
  std::string host = "127.0.0.1";
  std::string port = "0";
  std::string latency = "0";
  std::string processes = "1";
};

int run_serve(const ServeCliOptions& o) {
  lab::ServeOptions options;
  options.host = o.host;
  options.port = static_cast<std::uint16_t>(parse_whole_number("--port", o.port, 0, 65535));
  options.processes = static_cast<unsigned>(parse_whole_number("--processes", o.processes, 1, 256));
  try {
    options.latency = lab::parse_latency(o.latency);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--") + e.what());
  }
  const double latency_ms = static_cast<double>(options.latency.count()) / 1e6;
  lab::serve_fixtures(options, [&](const std::string& url) {
    fmt::print("tandem serve: {} (routes /jython, /dice, /bytes/N; latency {:g} ms; {} process{}); Ctrl-C stops\n",
               url, latency_ms, options.processes, options.processes == 1 ? "" : "es");
    std::fflush(stdout);
  });
  fmt::print("tandem serve: stopped\n");
  return 0;
}

}  // namespace

void add_serve(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ServeCliOptions>();
  auto* sub = app.add_subcommand("serve", "Serve the seed's sites (/jython, /dice) and /bytes/N over HTTP");
  sub->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", o->port, "Port (0: any free port; the URL printed says which)")->capture_default_str();
  sub->add_option("--latency", o->latency, "Hold each answer back this long, like a network round trip: "
                                           "100ms, 0.1s, 250us, 0")
      ->capture_default_str();
  sub->add_option("--processes", o->processes, "Worker processes sharing the port (pre-fork, SO_REUSEPORT)")
      ->capture_default_str();
  sub->callback([o, &run] { run = [o] { return run_serve(*o); }; });
}

}  // namespace tandem::cli
