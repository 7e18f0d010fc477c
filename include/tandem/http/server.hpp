// tandem/http/server.hpp — an HTTP/1.1 server on the event loop (Python: aiohttp.web).
//
// ```cpp body
//   namespace web = tandem::http::web;
//   namespace aio = tandem::aio;
//   web::Application app;
//   app.add_get("/dice", [](web::Request&) -> aio::Task<web::Response> {
//     co_await aio::sleep(std::chrono::milliseconds(100));      // never a thread sleep on the loop
//     co_return web::Response::text("4");
//   });
//   aio::run([&]() -> aio::Task<void> {
//     auto server = co_await web::Server::start(app, {});         // 127.0.0.1, a free port
//     std::cout << server.url() << '\n';                           // http://127.0.0.1:40123
//     co_await aio::sleep(std::chrono::seconds(60));
//     co_await server.stop();                                      // graceful: see stop()
//   }());
// ```
//
// What it speaks: HTTP/1.1 with keep-alive and pipelining (requests on one connection are answered one
// after the other, in order), Content-Length and chunked request bodies (parsed by http-parser, see
// server_protocol.hpp), "Expect: 100-continue" (answered "100 Continue" once the headers are in and
// within limits; a body over the limit gets 413 instead), HEAD wherever GET is routed. Not spoken: TLS,
// HTTP/2, Upgrade/WebSocket (the request is answered, then the connection closed).
//
// Failure rules (each answered, then the connection is closed):
//   * request line + headers over 8 KiB → 431; a body over ServerConfig::max_body_size → 413;
//     malformed request → 400;
//   * a client that does not deliver a request line and headers within header_timeout (slowloris), or
//     its body within body_timeout → 408; a kept-alive connection that stays silent for
//     keep_alive_timeout is closed without an answer (a client about to reuse it would take a 408 for
//     the answer to its next request);
//   * a handler that throws HTTPException → its status; any other exception → 500, reported to the
//     loop's report sink (stderr by default); the server keeps serving, and the connection too;
//   * more than max_connections open connections → each new one gets 503 with "Retry-After: 1" and is
//     closed at once (nginx closes silently; an answer tells the client why);
//   * a client that does not read its responses for write_timeout is disconnected.
// Threading: a Server belongs to the loop that started it (like every aio object).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/aio/task.hpp"
#include "tandem/http/server_protocol.hpp"

namespace tandem::http::web {

/// Thrown by a handler to answer with `status` and `message` as a text body (Python:
/// aiohttp.web.HTTPException: `raise web.HTTPNotFound()`).
class HTTPException : public std::runtime_error {
 public:
  HTTPException(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// A request handler: a coroutine that reads the request and returns the response. The request lives
/// until the coroutine finishes.
using Handler = std::function<aio::Task<Response>(Request&)>;

/// Routes by method and path (Python: aiohttp.web.Application + its UrlDispatcher). Exact routes win
/// over prefix routes; among prefixes the longest wins. A path that matches with another method →
/// 405 with an Allow header; no match → 404. A GET route answers HEAD too (aiohttp's allow_head).
class Application {
 public:
  /// Exact route: `method` ("GET", "POST", ...; "*" for any) and `path` ("/dice").
  void add_route(std::string method, std::string path, Handler handler);
  /// Prefix route: every path starting with `prefix` ("/bytes/"); Request::match_tail holds the rest.
  void add_prefix_route(std::string method, std::string prefix, Handler handler);
  void add_get(std::string path, Handler handler) { add_route("GET", std::move(path), std::move(handler)); }
  void add_post(std::string path, Handler handler) { add_route("POST", std::move(path), std::move(handler)); }

  /// Finds the handler for `request` (setting match_tail); nullptr with `status` 404 or 405 and `allow`
  /// (for 405) when there is none.
  const Handler* resolve(Request& request, int& status, std::string& allow) const;

 private:
  struct Route {
    std::string method, path;
    bool prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
};

/// Where and how a Server listens. `ServerConfig c; c.port = 8080; c.max_body_size = 10 << 20;`
struct ServerConfig {
  std::string host = "127.0.0.1";  // loopback unless told otherwise; "0.0.0.0" or "::" for everyone
  std::uint16_t port = 0;          // 0: a free port, see Server::port()
  int backlog = 4096;
  /// Share the port with other sockets that set it too (SO_REUSEPORT): pre-fork workers.
  bool reuse_port = false;
  std::size_t max_body_size = 1024 * 1024;  // → 413 (aiohttp's client_max_size)
  std::size_t max_connections = 10'000;     // → 503 and close, beyond it
  std::chrono::milliseconds header_timeout{10'000};      // request line + headers, from the first byte
  std::chrono::milliseconds body_timeout{30'000};        // the body, from the end of the headers
  std::chrono::milliseconds keep_alive_timeout{15'000};  // silence between requests
  std::chrono::milliseconds write_timeout{30'000};       // a response the client does not read
  std::chrono::milliseconds shutdown_grace{10'000};      // stop(): how long in-flight requests may take
};

/// Counters of a running server (for tests and monitoring).
struct ServerStats {
  std::size_t connections = 0;       // open now
  std::size_t requests = 0;          // answered by a handler or the router, ever
  std::size_t handler_errors = 0;    // handlers that threw something other than HTTPException → 500
  std::size_t protocol_errors = 0;   // 400, 413, 431 answers
  std::size_t timeouts = 0;          // 408 answers and silent keep-alive closes
  std::size_t rejected = 0;          // connections turned away with 503 (max_connections)
};

/// "http://host:port", with brackets around an IPv6 host ("http://[::1]:8080").
std::string url_of(const std::string& host, std::uint16_t port);

namespace detail {
class ServerState;
}

/// A listening HTTP server on the running loop (Python: aiohttp.web.AppRunner + TCPSite). Copies share it.
class Server {
 public:
  Server() = default;
  explicit Server(std::shared_ptr<detail::ServerState> s) : s_(std::move(s)) {}

  /// Binds and starts serving `app` (copied) on the running loop. Throws aio::ConnectionError when the
  /// address cannot be bound (in use, not local), InvalidStateError outside a loop.
  static aio::Task<Server> start(Application app, ServerConfig config);

  /// The port it listens on (the one chosen when ServerConfig::port was 0).
  std::uint16_t port() const;
  /// "http://127.0.0.1:40123" ("http://[::1]:40123" for IPv6 hosts).
  std::string url() const;
  ServerStats stats() const;

  /// Graceful stop: stops accepting, closes idle keep-alive connections, lets requests in flight finish
  /// (their answers say "Connection: close") for up to ServerConfig::shutdown_grace, then cancels what
  /// is left; returns when every connection is closed. A second call waits for the first.
  aio::Task<void> stop();

 private:
  std::shared_ptr<detail::ServerState> s_;
};

}  // namespace tandem::http::web
