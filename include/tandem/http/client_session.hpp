// tandem/http/client_session.hpp — the coroutine HTTP client (Python: aiohttp.ClientSession).
//
// Requests are coroutines on the tandem aio loop; many run at once on one thread, the way the seed's
// asyncio downloader does it:
//
// ```cpp
//   tandem::aio::Task<std::size_t> download_site(tandem::http::ClientSession& session, std::string url) {
//     tandem::http::Response r = co_await session.get(url);
//     co_return r.body.size();
//   }
//   tandem::aio::Task<void> download_all_sites(std::vector<std::string> sites) {
//     tandem::http::ClientSession session;                   // one per program, as aiohttp advises
//     std::vector<tandem::aio::Task<std::size_t>> tasks;
//     for (auto& url : sites) tasks.push_back(download_site(session, url));
//     auto sizes = co_await tandem::aio::gather(std::move(tasks));
//   }
//   // tandem::aio::run(download_all_sites(urls));
// ```
//
// How it runs: libcurl's multi interface is driven by the loop itself. libcurl tells the session
// which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); the
// session registers exactly that with the loop's epoll and timer heap, and hands readiness back with
// curl_multi_socket_action. No thread of its own, no polling. Names are resolved by libcurl's
// threaded resolver (this build's libcurl has AsynchDNS; see docs/architecture.md), so a slow DNS
// server never stalls the loop; IP literals and "localhost" need no resolver at all.
//
// Contract:
// - Response, RequestOptions, SessionOptions and the errors are the blocking client's (client.hpp),
//   with the same defaults: redirects followed, certificates verified, 5 minute total timeout.
// - Connections are kept alive and reused. At most `limit` are in use at once (aiohttp's
//   TCPConnector(limit=100), which counts the same), at most `limit_per_host` to one host:port (0: no
//   per-host limit), further requests wait in the session's queue for a free connection. Above 256
//   requests at once (a `limit` over 256, or 0, and no per-host limit) the session spreads them over
//   several libcurl multi handles of 256, each keeping its own idle connections, and hands libcurl
//   at most 256 new ones per loop iteration (see docs/architecture.md: the cost per request stays flat).
// - Cancelling the awaiting task (task.cancel(), aio::timeout, a TaskGroup sibling failing) removes
//   its transfer from libcurl at once: its connection is closed, no callback of it runs afterwards,
//   and the co_await throws CancelledError.
// - close(), or destroying the session, fails every request still in flight with ConnectionError
//   ("the ClientSession was closed …"), closes every connection and unregisters everything from the
//   loop. Requests started afterwards throw ConnectionError too.
// - Loop thread only, like everything in aio. Create it inside a running loop (InvalidStateError
//   otherwise) and close or destroy it before that loop ends.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "tandem/aio/task.hpp"
#include "tandem/http/client.hpp"

namespace tandem::http {

namespace detail {
class MultiDriver;
}  // namespace detail

/// Settings of a ClientSession: request defaults and the connection limits.
struct ClientSessionOptions {
  SessionOptions defaults;
  /// Connections open at once, all hosts together (aiohttp's TCPConnector limit; 0: no limit).
  std::size_t limit = 100;
  /// Connections open at once to one host:port (aiohttp's limit_per_host; 0: only `limit` applies).
  std::size_t limit_per_host = 0;
};

/// Coroutine HTTP client on the running aio loop (Python: aiohttp.ClientSession). Not copyable or
/// movable: requests in flight refer to it.
class ClientSession {
 public:
  /// Binds to the loop running on this thread (InvalidStateError outside one).
  explicit ClientSession(ClientSessionOptions options = {});
  /// close().
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  /// Sends `method` to `url` with `body`; completes when the whole response arrived. Arguments are
  /// taken by value: the coroutine owns them while it is suspended.
  aio::Task<Response> request(std::string method, std::string url, std::string body = {},
                              RequestOptions options = {});
  aio::Task<Response> get(std::string url, RequestOptions options = {});
  aio::Task<Response> post(std::string url, std::string body, RequestOptions options = {});

  /// Fails the requests in flight with ConnectionError and closes every connection; idempotent.
  void close() noexcept;
  bool closed() const noexcept;
  /// Requests started and not finished yet (queued for a connection or transferring).
  std::size_t in_flight() const noexcept;
  /// Sockets the session currently has registered with the loop (tests check nothing lingers).
  std::size_t watched_sockets() const noexcept;

 private:
  std::shared_ptr<detail::MultiDriver> driver_;
};

}  // namespace tandem::http
