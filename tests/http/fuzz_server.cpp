// libFuzzer target over the server's request handling: web::ConnectionProtocol (http-parser and the
// limits around it) and serialize_response — the code every connection runs on the bytes it receives.
// Built and run by scripts/fuzz-http (clang only); the seed corpus is tests/http/fuzz_corpus/.
//
// The first input byte picks how the rest is split into feed() calls; the rest is the connection's
// input. Checked on every input (a violation traps, which libFuzzer reports as a crash):
//  * the same bytes give the same requests and the same error whether fed at once or in pieces;
//  * no body passes the limit, every request has a method and a path, nothing comes after an error;
//  * every request can be answered (serialize_response never throws for a valid response).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/http/server_protocol.hpp"

namespace web = tandem::http::web;

namespace {

constexpr std::size_t kBodyLimit = 4096;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Outcome {
  std::vector<std::string> requests;  // a digest of each request
  int error = 0;
  bool upgraded = false;
};

std::string digest(const web::Request& r) {
  std::string d = r.method + ' ' + r.target + ' ' + r.path + '?' + r.query + ' ' + std::to_string(r.version_major) +
                  '.' + std::to_string(r.version_minor) + (r.keep_alive ? " k " : " c ");
  for (const auto& [name, value] : r.headers) d += name + ':' + value + '\n';
  return d + '|' + r.body;
}

void drain(web::ConnectionProtocol& p, Outcome& o) {
  while (p.has_request()) {
    check(!o.error);
    web::Request r = p.next_request();
    check(!r.method.empty());
    check(!r.path.empty());
    check(r.body.size() <= kBodyLimit);
    std::string out;
    web::Response answer = web::Response::text(r.path + " " + r.body);
    web::serialize_response(out, answer, r, r.keep_alive);
    check(out.starts_with("HTTP/1.1 200 OK\r\n"));
    o.requests.push_back(digest(r));
  }
  if (p.error()) {
    const int s = p.error()->status;
    check(s == 400 || s == 413 || s == 431);
    o.error = s;
  }
  o.upgraded = p.upgraded();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 97;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Outcome whole, pieces;
  {
    web::ConnectionProtocol p(web::ProtocolLimits{kBodyLimit});
    p.feed(input);
    drain(p, whole);
    p.feed_eof();
    drain(p, whole);
  }
  {
    web::ConnectionProtocol p(web::ProtocolLimits{kBodyLimit});
    for (std::size_t i = 0; i < input.size(); i += step) {
      p.feed(input.substr(i, step));
      drain(p, pieces);
    }
    p.feed_eof();
    drain(p, pieces);
  }
  check(whole.requests == pieces.requests);
  check(whole.error == pieces.error);
  check(whole.upgraded == pieces.upgraded);
  return 0;
}
