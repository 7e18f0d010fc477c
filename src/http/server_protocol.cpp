// One connection's HTTP/1.1 protocol without sockets (see tandem/http/server_protocol.hpp).
//
// Data flow:  bytes --feed()--> http_parser_execute --callbacks--> current_ (a Request being filled)
//             --on_message_complete--> ready_ (complete requests, in order) --next_request()--> server
// A callback that finds a limit crossed records the status in error_ and returns -1, which stops the
// parser; a parser error of its own becomes 400 (431 for HPE_HEADER_OVERFLOW). Nothing here throws on
// bad input, so a fuzzer can feed anything.
#include "tandem/http/server_protocol.hpp"

#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <limits>
#include <mutex>
#include <stdexcept>

namespace tandem::http::web {

namespace {


void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool has_control(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// RFC 9110 §6.6.1: an origin server with a clock sends Date. The text changes once a second, so each
// thread formats it only when the second changes (a vDSO clock read per response otherwise).
std::string_view http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);  // "C" locale names
    cached_second = now;
  }
  return {text, length};
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// ---- Response ---------------------------------------------------------------------------------------------

Response Response::text(std::string body, int status) {
  return bytes(std::move(body), "text/plain; charset=utf-8", status);
}

Response Response::bytes(std::string body, std::string content_type, int status) {
  Response r;
  r.status = status;
  r.headers.add("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

std::string_view reason_phrase(int status) noexcept {
  if (status < 100 || status > 999) return "Unknown";
  std::string_view s = http_status_str(static_cast<http_status>(status));
  return s == "<unknown>" ? std::string_view("Unknown") : s;
}

namespace {

void serialize(std::string& out, const Response& r, bool head_request, int version_minor, bool keep_alive) {
  if (r.status < 100 || r.status > 999)
    throw std::invalid_argument("web::Response: status " + std::to_string(r.status) +
                                " is not a three-digit HTTP status code");
  for (const auto& [name, value] : r.headers)
    if (name.empty() || has_control(name) || has_control(value) || name.find(':') != std::string::npos)
      throw std::invalid_argument("web::Response: header '" + name +
                                  "' has an empty name, a colon in its name, or CR/LF/NUL in it (response "
                                  "splitting); refusing to send it");
  const bool no_body = head_request || r.status < 200 || r.status == 204 || r.status == 304;
  const std::size_t start = out.size();
  out.reserve(start + 128 + r.body.size());
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(r.status));
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\nServer: tandem\r\n";
  bool has_type = false, has_date = false;
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection") || iequals(name, "Transfer-Encoding"))
      continue;
    has_date = has_date || iequals(name, "Date");
    has_type = has_type || iequals(name, "Content-Type");
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!has_type && !r.body.empty()) out += "Content-Type: application/octet-stream\r\n";
  if (!has_date) {
    out += "Date: ";
    out += http_date();
    out += "\r\n";
  }
  if (r.status >= 200 && r.status != 204) {
    out += "Content-Length: ";
    append_number(out, r.body.size());
    out += "\r\n";
  }
  if (!keep_alive)
    out += "Connection: close\r\n";
  else if (version_minor == 0)
    out += "Connection: keep-alive\r\n";
  out += "\r\n";
  if (!no_body) out += r.body;
}

}  // namespace

void serialize_response(std::string& out, const Response& response, const Request& request, bool keep_alive) {
  serialize(out, response, request.method == "HEAD", request.version_major == 1 ? request.version_minor : 1,
            keep_alive);
}

void serialize_response(std::string& out, const Response& response, bool keep_alive) {
  serialize(out, response, false, 1, keep_alive);
}

// ---- the parser ------------------------------------------------------------------------------------

struct ConnectionProtocol::Parser {
  http_parser p{};

  static ConnectionProtocol& self(http_parser* p) { return *static_cast<ConnectionProtocol*>(p->data); }

  static void end_field(ConnectionProtocol& c) {
    if (!c.field_.empty() || c.in_value_) c.current_.headers.add(std::move(c.field_), std::move(c.value_));
    c.field_.clear();
    c.value_.clear();
    c.in_value_ = false;
  }

  static int on_message_begin(http_parser* p) {
    auto& c = self(p);
    c.current_ = Request{};
    c.field_.clear();
    c.value_.clear();
    c.in_value_ = false;
    c.in_message_ = true;
    c.head_done_ = false;
    c.expect_continue_ = false;
    c.continue_sent_ = false;
    return 0;
  }
  static int on_url(http_parser* p, const char* at, std::size_t n) {
    self(p).current_.target.append(at, n);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    auto& c = self(p);
    if (c.in_value_) end_field(c);
    c.field_.append(at, n);
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    auto& c = self(p);
    c.in_value_ = true;
    c.value_.append(at, n);
    return 0;
  }
  static int on_headers_complete(http_parser* p) {
    auto& c = self(p);
    end_field(c);
    Request& r = c.current_;
    r.method = http_method_str(static_cast<http_method>(p->method));
    r.version_major = p->http_major;
    r.version_minor = p->http_minor;
    r.keep_alive = http_should_keep_alive(p) != 0;
    split_target(r, p->method == HTTP_CONNECT);
    if (auto decoded = percent_decode(r.path)) {
      r.path = std::move(*decoded);
    } else {
      c.fail(400, "the request path has a '%' that is not followed by two hex digits");
      return -1;
    }
    // A declared Content-Length over the limit is refused before a byte of the body is read.
    if (!(p->flags & F_CHUNKED) && p->content_length != std::numeric_limits<std::uint64_t>::max() &&
        p->content_length > c.limits_.max_body_size) {
      c.fail(413, "the request body (Content-Length " + std::to_string(p->content_length) + ") is over the limit of " +
                      std::to_string(c.limits_.max_body_size) + " bytes");
      return -1;
    }
    c.head_done_ = true;
    const auto expect = r.headers.get("Expect");
    c.expect_continue_ = expect && iequals(*expect, "100-continue");
    return 0;
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    auto& c = self(p);
    if (c.current_.body.size() + n > c.limits_.max_body_size) {
      c.fail(413, "the request body is over the limit of " + std::to_string(c.limits_.max_body_size) + " bytes");
      return -1;
    }
    c.current_.body.append(at, n);
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    auto& c = self(p);
    // http-parser sets p->upgrade when the headers ask for it, but switches protocols only here, at
    // the end of the request (after a body, if any), and returns at once: what follows is not HTTP.
    // (Reading the flag after any execute() call took a request with a body, cut mid-body by the
    // read, for an upgrade — and fed whole, the same bytes were a 400: found by the fuzzer.)
    if (p->upgrade) {
      c.upgraded_ = true;
      c.current_.keep_alive = false;
    }
    c.ready_.push_back(std::move(c.current_));
    c.current_ = Request{};
    c.in_message_ = false;
    c.head_done_ = false;
    return 0;
  }

  static void split_target(Request& r, bool is_connect) {
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(r.target.data(), r.target.size(), is_connect ? 1 : 0, &u) != 0) {
      r.path = r.target;  // "*" (OPTIONS *) and what the URL parser does not split
      return;
    }
    auto field = [&](int f) {
      return (u.field_set & (1u << f)) ? r.target.substr(u.field_data[f].off, u.field_data[f].len) : std::string();
    };
    r.path = field(UF_PATH);
    if (r.path.empty()) r.path = is_connect ? r.target : "/";
    r.query = field(UF_QUERY);
  }

  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings s{};
      s.on_message_begin = &on_message_begin;
      s.on_url = &on_url;
      s.on_header_field = &on_header_field;
      s.on_header_value = &on_header_value;
      s.on_headers_complete = &on_headers_complete;
      s.on_body = &on_body;
      s.on_message_complete = &on_message_complete;
      return s;
    }();
    return s;
  }
};

ConnectionProtocol::ConnectionProtocol(ProtocolLimits limits) : limits_(limits), parser_(std::make_unique<Parser>()) {
  static std::once_flag head_limit;
  std::call_once(head_limit, [] { http_parser_set_max_header_size(static_cast<std::uint32_t>(kMaxHeadSize)); });
  http_parser_init(&parser_->p, HTTP_REQUEST);
  parser_->p.data = this;
}

ConnectionProtocol::~ConnectionProtocol() = default;

void ConnectionProtocol::fail(int status, std::string message) {
  if (!error_) error_ = ProtocolError{status, std::move(message)};
}

void ConnectionProtocol::feed(std::string_view data) {
  if (finished() || data.empty()) return;
  http_parser& p = parser_->p;
  const std::size_t n = http_parser_execute(&p, &Parser::settings(), data.data(), data.size());
  const auto err = static_cast<http_errno>(p.http_errno);
  if (err != HPE_OK) {
    if (err == HPE_HEADER_OVERFLOW)
      fail(431, "the request line and headers are over " + std::to_string(kMaxHeadSize) + " bytes");
    else
      fail(400, std::string("malformed request: ") + http_errno_description(err));
    return;
  }
  // After an upgrade the bytes belong to another protocol, which this server does not speak: the
  // request is answered (the router says 404/405) and the connection closed.
  if (!upgraded_ && n != data.size()) fail(400, "malformed request: the parser stopped early");
}

void ConnectionProtocol::feed_eof() {
  if (finished()) return;
  eof_ = true;
  if (in_message_) {
    in_message_ = false;
    error_ = ProtocolError{400, "the connection was closed in the middle of a request"};
  }
}

Request ConnectionProtocol::next_request() {
  Request r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

}  // namespace tandem::http::web
