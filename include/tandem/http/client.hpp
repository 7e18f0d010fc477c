// tandem/http/client.hpp — the blocking HTTP client (Python: requests.Session, requests.Response).
//
// A Session keeps one libcurl handle, so consecutive requests to the same host reuse the open
// connection (HTTP keep-alive), as requests.Session does:
//
// ```cpp body
//   tandem::http::Session session;
//   tandem::http::Response r = session.get("http://127.0.0.1:8080/jython");
//   r.raise_for_status();                                   // HTTPError on 4xx/5xx
//   std::printf("Read %zu from %s\n", r.body.size(), r.url.c_str());
//   auto type = r.headers.get("content-type");              // case-insensitive, std::optional
//   tandem::http::RequestOptions o;
//   o.headers.set("Content-Type", "application/json");
//   o.timeout = std::chrono::seconds(2);
//   session.post("http://127.0.0.1:8080/echo", R"({"n": 1})", o);
// ```
//
// Threads: a Session is not thread-safe, by design (neither is requests.Session in practice). Give
// each thread its own, as the seed's downloader does with threading.local():
//
// ```cpp
//   tandem::http::Session& thread_session() {
//     thread_local tandem::http::Session session;            // one per thread, made on first use
//     return session;
//   }
//   // pool.map([](const std::string& url) { return thread_session().get(url).body.size(); }, urls);
// ```
//
// Contract:
// - Redirects are followed (at most 30 by default; TooManyRedirects beyond), and the Response
//   describes the last one (`url` is where it ended).
// - HTTPS verifies the server's certificate and host name against the system's CA store unless
//   `verify` is turned off; `ca_file` / `ca_path` name other trust anchors. A failed verification
//   throws SSLError.
// - Time limits: `connect_timeout` (default 30 s) and `timeout` for the whole request (default
//   5 minutes, aiohttp's; zero means none). Past either, the request throws Timeout and its
//   connection is closed.
// - A refused, reset or truncated connection (the server closed it mid-body) throws ConnectionError;
//   every error names the method and URL (see errors.hpp). A non-2xx status is not an error until
//   raise_for_status().
// - Signals are never used for timeouts (CURLOPT_NOSIGNAL), so a Session works in any thread.
// - The coroutine client with the same Response and errors is in client_session.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/http/errors.hpp"
#include "tandem/http/headers.hpp"

namespace tandem::http {

/// The response to one request (Python: requests.Response). A plain value: copy or move it freely.
struct Response {
  int status = 0;        ///< 200, 404, …
  std::string reason;    ///< "OK", "Not Found", … as the server sent it (empty for HTTP/2)
  Headers headers;       ///< of the final response (after redirects)
  std::string body;      ///< decoded (gzip/deflate/br are undone, as requests does)
  std::string url;       ///< the final URL, after redirects

  /// True unless the status is 4xx or 5xx (Python: Response.ok).
  bool ok() const noexcept { return status < 400; }
  /// Throws HTTPError (status(), url(), "404 Not Found for GET http://…") on 4xx or 5xx.
  void raise_for_status() const;
};

/// Defaults for every request of a session (Python: the attributes of requests.Session).
struct SessionOptions {
  /// Sent with every request; a request's own header of the same name wins.
  Headers headers;
  /// Limit for the whole request, connect to last byte (zero: none). aiohttp's default.
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  /// Limit for establishing the connection, TLS handshake included (zero: libcurl's 300 s).
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(30);
  bool allow_redirects = true;
  long max_redirects = 30;  ///< requests' default
  /// Verify the server's TLS certificate and host name. Turn off only for a server you trust.
  bool verify = true;
  std::string ca_file;  ///< PEM bundle of trusted CAs instead of the system's (empty: system)
  std::string ca_path;  ///< directory of hashed CA certificates (empty: system)
};

/// Per-request settings; each one left unset takes the session's value.
struct RequestOptions {
  Headers headers;  ///< merged over the session's (same name: this one wins)
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::milliseconds> connect_timeout;
  std::optional<bool> allow_redirects;
  std::optional<long> max_redirects;
  std::optional<bool> verify;
  std::optional<std::string> ca_file;
  std::optional<std::string> ca_path;
};

/// Blocking HTTP client with connection reuse (Python: requests.Session). Movable, not copyable;
/// not thread-safe (one per thread, see the file comment).
class Session {
 public:
  explicit Session(SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Sends `method` (GET, POST, PUT, DELETE, HEAD, …) with `body` (may be empty) and waits for the
  /// whole response. Throws the errors of errors.hpp; never returns a half-read body.
  Response request(std::string_view method, const std::string& url, std::string body = {},
                   const RequestOptions& options = {});
  Response get(const std::string& url, const RequestOptions& options = {}) {
    return request("GET", url, {}, options);
  }
  Response post(const std::string& url, std::string body, const RequestOptions& options = {}) {
    return request("POST", url, std::move(body), options);
  }

  /// The defaults; changing them affects later requests (Python: session.headers.update(...)).
  SessionOptions& options() noexcept;
  const SessionOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::http
