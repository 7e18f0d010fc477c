// tandem/http/server_protocol.hpp — HTTP/1.1 requests and responses, and one connection's protocol
// state machine without sockets (Python: aiohttp.web's Request/Response, aiohttp's HttpRequestParser).
//
// ```cpp body
//   namespace web = tandem::http::web;
//   web::ConnectionProtocol protocol;                       // one per connection
//   protocol.feed("GET /dice HTTP/1.1\r\nHost: x\r\n\r\nGET /jython HTTP/1.1\r\nHost: x\r\n\r\n");
//   while (protocol.has_request()) {
//     web::Request request = protocol.next_request();      // in the order they arrived
//     std::string wire;
//     web::serialize_response(wire, web::Response::text("hi"), request, request.keep_alive);  // "HTTP/1.1 200 OK..."
//   }
//   if (protocol.error()) { /* answer protocol.error()->status, then close */ }
// ```
//
// Parsing is Debian's http-parser (nodejs/http-parser 2.9), not hand-written code. This layer owns no
// socket, no clock and no coroutine, so that a fuzzer (tests/http/fuzz_server.cpp) can drive exactly the
// code a connection runs, from a buffer. The server (server.hpp) adds reading, timeouts and writing.
//
// Failure rules: malformed input, a request line plus headers over kMaxHeadSize (8 KiB) and a body over
// ProtocolLimits::max_body_size are not exceptions: the protocol stops parsing and error() says which
// status to answer (400, 431, 413) after the requests that completed before the bad one. A connection
// that reached an error or an upgrade (CONNECT, Upgrade:) takes no more bytes; the server closes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/http/headers.hpp"

namespace tandem::http::web {

/// Request line plus headers may take this many bytes; beyond it the answer is 431 (nginx and aiohttp
/// use 8 KiB as well). One value for the whole process: http-parser keeps its limit in a global.
inline constexpr std::size_t kMaxHeadSize = 8 * 1024;

/// The http layer's one header type (headers.hpp): web::Headers is http::Headers.
using Headers = tandem::http::Headers;
using tandem::http::iequals;

/// One parsed request (Python: aiohttp.web.Request, with the body already read).
struct Request {
  std::string method;  // "GET", "POST", ... as http-parser names them
  std::string target;  // the request-target as sent: "/bytes/10?x=1"
  std::string path;    // its path, percent-decoded as aiohttp's request.path: "/a b" for "/a%20b"
                       // ("*" for OPTIONS *); a '%' without two hex digits is answered 400.
                       // `target` keeps the raw form (aiohttp's raw_path).
  std::string query;   // after '?', without it: "x=1" ("" when none)
  Headers headers;
  std::string body;    // Content-Length or de-chunked body ("" when none)
  int version_major = 1, version_minor = 1;
  /// Whether the client lets the connection stay open after this request (HTTP/1.1 without
  /// "Connection: close", or HTTP/1.0 with "Connection: keep-alive").
  bool keep_alive = true;
  /// For a prefix route, the rest of the path after the prefix ("10" for /bytes/ and /bytes/10).
  std::string match_tail;
  /// "host:port" of the client ("" outside a server).
  std::string peer;
};

/// What a handler returns (Python: aiohttp.web.Response). Content-Length, Connection and
/// Transfer-Encoding are the server's: set here, they are replaced. The server adds `Server: tandem` and a
/// `Date` (RFC 9110 §6.6.1) unless the handler set its own Date.
struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  /// A text/plain response (UTF-8).
  static Response text(std::string body, int status = 200);
  /// A response with the given body and Content-Type.
  static Response bytes(std::string body, std::string content_type, int status = 200);
};

/// The reason phrase of a status ("Not Found"), "Unknown" for codes http-parser does not name.
std::string_view reason_phrase(int status) noexcept;

/// "%41b%20c" → "Ab c" (RFC 3986 percent-decoding; '+' stays '+', as in a path). nullopt when a '%'
/// is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s);

/// Appends `response` to `out` in HTTP/1.1 wire form, as the answer to `request`: no body for HEAD,
/// 1xx, 204 and 304; "Connection: close" unless `keep_alive` (HTTP/1.0 clients get "Connection:
/// keep-alive" when it stays open). Throws std::invalid_argument for a status outside 100..999 or a
/// header with CR, LF or NUL in it (response splitting); `out` is unchanged then.
void serialize_response(std::string& out, const Response& response, const Request& request, bool keep_alive);
/// The same without a request: an HTTP/1.1 answer to a GET (error answers before any request parsed).
void serialize_response(std::string& out, const Response& response, bool keep_alive);

/// Limits of one connection's parser.
struct ProtocolLimits {
  /// Largest request body (Content-Length or the sum of the chunks); beyond it the answer is 413.
  /// aiohttp's client_max_size default.
  std::size_t max_body_size = 1024 * 1024;
};

/// Why the protocol stopped: the status to answer with, and a message for the body.
struct ProtocolError {
  int status = 400;
  std::string message;
};

/// One connection's request stream: bytes in, complete requests out, in order.
class ConnectionProtocol {
 public:
  explicit ConnectionProtocol(ProtocolLimits limits = {});
  ~ConnectionProtocol();
  ConnectionProtocol(const ConnectionProtocol&) = delete;
  ConnectionProtocol& operator=(const ConnectionProtocol&) = delete;

  /// Parses `data` (any split is fine: a request may arrive a byte at a time). Ignored once error()
  /// or upgraded() is set.
  void feed(std::string_view data);
  /// The peer closed its side: a request cut short becomes error 400; nothing otherwise.
  void feed_eof();

  bool has_request() const noexcept { return !ready_.empty(); }
  /// The oldest complete request. Precondition: has_request().
  Request next_request();
  /// Complete requests waiting.
  std::size_t queued() const noexcept { return ready_.size(); }

  /// Bytes of a next request have arrived, but it is not complete yet.
  bool in_request() const noexcept { return in_message_; }
  /// ... and its request line and headers are complete (the body is on its way).
  bool head_complete() const noexcept { return in_message_ && head_done_; }
  /// The request being received asked "Expect: 100-continue" and its headers are complete, but its
  /// body is not and no interim answer went out yet: the server may send "100 Continue" now (once
  /// the answers to the requests before it are out), then calls continue_sent().
  bool wants_continue() const noexcept { return head_complete() && expect_continue_ && !continue_sent_; }
  void continue_sent() noexcept { continue_sent_ = true; }
  /// Set once the input was malformed or over a limit; no request after it will come.
  const std::optional<ProtocolError>& error() const noexcept { return error_; }
  /// The last request asked to switch protocols (Upgrade:, CONNECT); bytes after it are not HTTP.
  bool upgraded() const noexcept { return upgraded_; }
  /// No more requests can come from this connection (error, upgrade, or EOF was fed).
  bool finished() const noexcept { return error_.has_value() || upgraded_ || eof_; }

 private:
  struct Parser;
  friend struct Parser;
  void fail(int status, std::string message);

  ProtocolLimits limits_;
  std::unique_ptr<Parser> parser_;
  Request current_;
  std::string field_, value_;  // the header being assembled (either may come in pieces)
  bool in_value_ = false;
  bool in_message_ = false;
  bool head_done_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool upgraded_ = false;
  bool eof_ = false;
  std::optional<ProtocolError> error_;
  std::deque<Request> ready_;
};

}  // namespace tandem::http::web
