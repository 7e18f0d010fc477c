// lab/sites.hpp — the seed's two web sites as local fixtures (the downloader's default target).
//
// The seed downloads www.jython.org (10,394 bytes) and olympus.realpython.org/dice (277 bytes) 80 times
// each. These machines have no internet, so the lab plays both sites on loopback, each answer held back
// by a chosen latency to stand in for the network round trip (a non-blocking aio sleep: a thousand
// requests waiting on one loop cost no thread each).
//
//   tandem::lab::FixtureServer sites(std::chrono::milliseconds(100));   // own thread, a free port
//   std::string url = sites.url() + "/jython";                          // http://127.0.0.1:40123/jython
//
// Routes: GET /jython (kJythonSize bytes of HTML), GET /dice (kDiceSize bytes), GET /bytes/N (N bytes,
// N up to kMaxFixtureBytes; 400 otherwise). The content is deterministic: the same bytes in every run,
// so downloads under different models can be compared byte for byte.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tandem/http/server.hpp"
#include "tandem/http/server_run.hpp"

namespace tandem::lab {

inline constexpr std::size_t kJythonSize = 10'394;
inline constexpr std::size_t kDiceSize = 277;
inline constexpr std::size_t kMaxFixtureBytes = 16 * 1024 * 1024;

/// The bodies the routes serve.
const std::string& jython_page();
const std::string& dice_page();
std::string fixture_bytes(std::size_t n);

/// The fixture routes, each answer held back by `latency` (0: none).
http::web::Application fixture_routes(std::chrono::nanoseconds latency);
/// The same as a web::AppFactory: `latency_ns` is the latency in nanoseconds, in decimal.
http::web::Application fixture_routes_from(const std::string& latency_ns);

/// Parses a latency as the CLI takes it: "100ms", "0.1s", "250us", "5000ns", "0" (a bare number must be
/// 0; anything else needs a unit). Up to one hour. Throws std::invalid_argument with the accepted forms.
std::chrono::nanoseconds parse_latency(const std::string& text);

/// The fixtures on 127.0.0.1, a free port, in-process on a thread of their own (web::BackgroundServer).
/// Stops (gracefully) when destroyed.
class FixtureServer {
 public:
  explicit FixtureServer(std::chrono::nanoseconds latency = std::chrono::nanoseconds(0),
                         http::web::ServerConfig config = {});
  std::string url() const { return server_.url(); }
  std::uint16_t port() const noexcept { return server_.port(); }
  http::web::BackgroundServer& server() noexcept { return server_; }

 private:
  http::web::BackgroundServer server_;
};

/// `tandem serve`: the fixtures on host:port until SIGINT/SIGTERM (web::run_app), in `processes` worker
/// processes when more than one. `on_started` gets the URL once it listens.
struct ServeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::chrono::nanoseconds latency{0};
  unsigned processes = 1;
};
void serve_fixtures(const ServeOptions& options, std::function<void(const std::string& url)> on_started);

}  // namespace tandem::lab
