// tandem/http/server_run.hpp — running a web::Server from plain code: on a thread of its own, in
// pre-forked worker processes, or until SIGINT/SIGTERM (Python: aiohttp.web.run_app, gunicorn).
//
// ```cpp body
//   namespace web = tandem::http::web;
//   web::Application app;
//   // In-process, on its own thread and loop (tests, an embedded fixture):
//   web::BackgroundServer server(app);                 // app: a web::Application
//   std::cout << server.url() << '\n';                  // http://127.0.0.1:40123
//   server.stop();                                      // graceful; the destructor does it too
//
//   // Pre-fork, gunicorn's model: N worker processes, one port.
//   web::Application make_app(const std::string& argument);     // a plain function: code cannot cross
//   web::PreforkServer prefork(&make_app, "", web::ServerConfig{}, 2);
//   prefork.start();                                   // returns once every worker listens
//   std::thread supervisor([&] { prefork.run(); });    // restarts workers that die, until stop()
//   // ... serve until it is time to stop ...
//   prefork.stop();
//   supervisor.join();
// ```
//
// Pre-fork design. Each worker is a tandem::Process (spawn start method: a fresh copy of this
// executable, safe from a threaded parent; daemon, so workers die with the parent even when it is
// SIGKILLed) that builds its Application by calling `factory(argument)` — the application itself cannot
// cross a process boundary, only a function's place in the shared executable can (see process.hpp). Every
// worker listens on the same port with SO_REUSEPORT, and the kernel spreads new connections over them.
// The parent binds the port first with SO_REUSEPORT and keeps that socket bound but not listening: it
// takes no connections, but holds the port (a chosen port 0 stays this server's while workers come and
// go). A worker reports its port through a pipe once it listens; start() returns when every worker has.
// The parent (run()) watches the workers' pidfds and replaces a worker that ends; connections that
// worker had accepted are lost with it, new ones go to the others meanwhile. A worker that ends before it
// listens (a factory that throws, a port it cannot bind) is a failed boot: start()/run() stop every
// worker and throw, instead of restarting it in a loop (gunicorn halts the same way).
// Stopping: SIGTERM to every worker, which stops its server gracefully (ServerConfig::shutdown_grace),
// then SIGKILL to any worker still running a second after that grace.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tandem/http/server.hpp"

namespace tandem::http::web {

/// A Server on an event loop of its own, on a thread of its own. The constructor returns once it
/// listens (or throws what Server::start threw). Member functions are for the thread that made it.
class BackgroundServer {
 public:
  explicit BackgroundServer(Application app, ServerConfig config = {});
  BackgroundServer(const BackgroundServer&) = delete;
  BackgroundServer& operator=(const BackgroundServer&) = delete;
  /// stop().
  ~BackgroundServer();

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return url_; }
  /// The server's counters, read on its loop (the final ones after stop()).
  ServerStats stats();
  /// Graceful stop (Server::stop), then the thread ends. Idempotent.
  void stop();

  struct State;  // the loop thread's side (server_run.cpp)

 private:
  std::shared_ptr<State> state_;
  std::uint16_t port_ = 0;
  std::string url_;
};

/// Builds the application in a worker process; a plain function (no captures).
using AppFactory = Application (*)(const std::string& argument);

/// N worker processes serving one port (see the file comment).
class PreforkServer {
 public:
  PreforkServer(AppFactory factory, std::string argument, ServerConfig config, unsigned processes);
  PreforkServer(const PreforkServer&) = delete;
  PreforkServer& operator=(const PreforkServer&) = delete;
  /// Stops the workers if they still run (as stop() + the end of run() would).
  ~PreforkServer();

  /// Binds the port and starts the workers; returns once each listens. Throws aio::ConnectionError if
  /// the port cannot be bound, std::runtime_error naming the worker and its exit status if one fails
  /// to boot (the others are stopped then). Call once.
  void start();
  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;
  /// Supervises until stop() (or, with `stop_on_signals`, SIGINT or SIGTERM to this thread's process,
  /// blocked in the calling thread meanwhile): replaces each worker that ends. Then stops the workers and
  /// returns. Throws std::runtime_error if a replacement fails to boot (after stopping the rest).
  void run(bool stop_on_signals = false);
  /// Makes run() return. Any thread; async-signal-safe.
  void stop() noexcept;

  /// The workers' pids now (0 for a slot between a death and its replacement).
  std::vector<pid_t> worker_pids() const;
  /// Workers replaced so far.
  std::size_t restarts() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  std::uint16_t port_ = 0;
};

/// What run_app() serves and how.
struct RunOptions {
  ServerConfig server;
  /// 1: one process, one loop. More: PreforkServer with this many workers.
  unsigned processes = 1;
  /// Called once the server listens, with its URL ("http://127.0.0.1:8080").
  std::function<void(const std::string& url)> on_started;
};

/// Serves `factory(argument)` until SIGINT or SIGTERM, then stops gracefully and returns (Python:
/// aiohttp.web.run_app). The signals are blocked in the calling thread while it runs; call it from a
/// program's main thread before starting others. Throws what Server::start or PreforkServer::start throw.
void run_app(AppFactory factory, const std::string& argument, RunOptions options);

}  // namespace tandem::http::web
