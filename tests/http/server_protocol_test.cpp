// web::ConnectionProtocol and serialize_response without sockets: what a connection parses and sends.
#include <gtest/gtest.h>

#include <ctime>
#include <regex>
#include <stdexcept>
#include <string>

#include "tandem/http/server_protocol.hpp"

namespace {

namespace web = tandem::http::web;

const std::string kTwo =
    "POST /echo/x?a=1&b=2 HTTP/1.1\r\nHost: h\r\nX-Mixed-Case: Value\r\nContent-Length: 5\r\n\r\nhello"
    "GET /second HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";

// The response without its Date line, which must be there exactly once, in IMF-fixdate form
// (RFC 9110 §5.6.7) and within a few seconds of now.
std::string without_date(const std::string& out) {
  static const std::regex date_line(
      "Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
      "\\d{4} \\d{2}:\\d{2}:\\d{2} GMT\r\n");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(out, m, date_line)) << out;
  if (m.empty()) return out;
  std::tm tm{};
  EXPECT_NE(strptime(m.str().c_str() + 6, "%a, %d %b %Y %H:%M:%S GMT", &tm), nullptr);
  EXPECT_LE(std::abs(static_cast<long>(timegm(&tm) - std::time(nullptr))), 5L) << m.str();
  std::string rest = m.prefix().str() + m.suffix().str();
  EXPECT_EQ(rest.find("Date:"), std::string::npos) << "two Date lines: " << out;
  return rest;
}

void expect_the_two(web::ConnectionProtocol& p) {
  ASSERT_EQ(p.queued(), 2u);
  auto a = p.next_request();
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.target, "/echo/x?a=1&b=2");
  EXPECT_EQ(a.path, "/echo/x");
  EXPECT_EQ(a.query, "a=1&b=2");
  EXPECT_EQ(a.headers.get("x-mixed-case").value_or(""), "Value");
  EXPECT_EQ(a.headers.get("HOST").value_or(""), "h");
  EXPECT_EQ(a.body, "hello");
  EXPECT_TRUE(a.keep_alive);
  auto b = p.next_request();
  EXPECT_EQ(b.method, "GET");
  EXPECT_EQ(b.path, "/second");
  EXPECT_EQ(b.query, "");
  EXPECT_EQ(b.body, "abc");
  EXPECT_FALSE(p.has_request());
  EXPECT_FALSE(p.error());
}

TEST(WebProtocol, PipelinedRequestsComeOutInOrderHoweverTheBytesAreSplit) {
  web::ConnectionProtocol whole;
  whole.feed(kTwo);
  expect_the_two(whole);
  web::ConnectionProtocol bytewise;
  for (char c : kTwo) bytewise.feed(std::string_view(&c, 1));
  expect_the_two(bytewise);
}

TEST(WebProtocol, TracksWhereTheNextRequestIs) {
  web::ConnectionProtocol p;
  EXPECT_FALSE(p.in_request());
  p.feed("POST / HTTP/1.1\r\nContent-Le");
  EXPECT_TRUE(p.in_request());
  EXPECT_FALSE(p.head_complete());
  p.feed("ngth: 4\r\n\r\nab");
  EXPECT_TRUE(p.head_complete());
  EXPECT_FALSE(p.has_request());
  p.feed("cd");
  EXPECT_TRUE(p.has_request());
  EXPECT_FALSE(p.in_request());
}

TEST(WebProtocol, AbsoluteFormTargetsAndHttp10) {
  web::ConnectionProtocol p;
  p.feed("GET http://example.com/p/q?z HTTP/1.0\r\n\r\n");
  auto r = p.next_request();
  EXPECT_EQ(r.path, "/p/q");
  EXPECT_EQ(r.query, "z");
  EXPECT_EQ(r.version_minor, 0);
  EXPECT_FALSE(r.keep_alive);
  web::ConnectionProtocol k;
  k.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(k.next_request().keep_alive);
  EXPECT_FALSE(k.next_request().keep_alive);
}

TEST(WebProtocol, ErrorsComeAfterTheRequestsBeforeThem) {
  web::ConnectionProtocol p;
  p.feed("GET /ok HTTP/1.1\r\n\r\nBLAH\x01 / HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
  ASSERT_EQ(p.queued(), 1u);
  EXPECT_EQ(p.next_request().path, "/ok");
  ASSERT_TRUE(p.error());
  EXPECT_EQ(p.error()->status, 400);
  EXPECT_TRUE(p.finished());
  p.feed("GET /ignored HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(p.has_request());
}

TEST(WebProtocol, LimitsGiveTheirStatus) {
  web::ConnectionProtocol head;
  head.feed("GET / HTTP/1.1\r\nX: " + std::string(web::kMaxHeadSize, 'a') + "\r\n\r\n");
  ASSERT_TRUE(head.error());
  EXPECT_EQ(head.error()->status, 431);
  web::ConnectionProtocol body(web::ProtocolLimits{10});
  body.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  ASSERT_TRUE(body.error());
  EXPECT_EQ(body.error()->status, 413);
  web::ConnectionProtocol chunks(web::ProtocolLimits{10});
  chunks.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
  ASSERT_TRUE(chunks.error());
  EXPECT_EQ(chunks.error()->status, 413);
}

TEST(WebProtocol, EofInsideARequestIs400AndBetweenRequestsIsNothing) {
  web::ConnectionProtocol cut;
  cut.feed("GET / HTTP/1.1\r\nHo");
  cut.feed_eof();
  ASSERT_TRUE(cut.error());
  EXPECT_EQ(cut.error()->status, 400);
  web::ConnectionProtocol clean;
  clean.feed("GET / HTTP/1.1\r\n\r\n");
  clean.feed_eof();
  EXPECT_FALSE(clean.error());
  EXPECT_TRUE(clean.finished());
  EXPECT_TRUE(clean.has_request());
}

TEST(WebProtocol, AnUpgradeEndsTheConnection) {
  web::ConnectionProtocol p;
  p.feed("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
  ASSERT_TRUE(p.has_request());
  EXPECT_FALSE(p.next_request().keep_alive);
  EXPECT_TRUE(p.upgraded());
  EXPECT_TRUE(p.finished());
  // With a body, the switch happens at the end of the body, not at the headers (fuzzer finding).
  web::ConnectionProtocol body;
  body.feed("POST /x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: foo\r\nContent-Length: 4\r\n\r\nab");
  EXPECT_FALSE(body.upgraded());
  EXPECT_TRUE(body.in_request());
  body.feed("cd\x00\x01not http");
  ASSERT_TRUE(body.has_request());
  EXPECT_EQ(body.next_request().body, "abcd");
  EXPECT_TRUE(body.upgraded());
  EXPECT_FALSE(body.error());
}

TEST(WebResponse, SerializesWithLengthAndConnectionTheServerOwns) {
  web::Request get;
  web::Response r = web::Response::text("hi", 200);
  r.headers.add("Content-Length", "999");  // replaced by the real one
  std::string out;
  web::serialize_response(out, r, get, true);
  EXPECT_EQ(without_date(out),
            "HTTP/1.1 200 OK\r\nServer: tandem\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 2\r\n\r\nhi");
  web::Request head;
  head.method = "HEAD";
  out.clear();
  web::serialize_response(out, r, head, false);
  EXPECT_TRUE(out.ends_with("Content-Length: 2\r\nConnection: close\r\n\r\n")) << out;
  web::Request old;
  old.version_minor = 0;
  out.clear();
  web::serialize_response(out, web::Response{204, {}, "dropped"}, old, true);
  EXPECT_EQ(without_date(out), "HTTP/1.1 204 No Content\r\nServer: tandem\r\nContent-Type: application/octet-stream\r\n"
                 "Connection: keep-alive\r\n\r\n");
}

TEST(WebResponse, AHandlersOwnDateIsKeptAndNotDoubled) {
  web::Response r = web::Response::text("x");
  r.headers.add("Date", "Tue, 15 Nov 1994 08:12:31 GMT");
  std::string out;
  web::serialize_response(out, r, true);
  EXPECT_NE(out.find("\r\nDate: Tue, 15 Nov 1994 08:12:31 GMT\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("Date:"), out.rfind("Date:")) << out;
}

TEST(WebProtocol, PathsArePercentDecodedAndTheTargetKeptRaw) {
  web::ConnectionProtocol p;
  p.feed("GET /a%20b/%C3%A9%2f+?q=%20 HTTP/1.1\r\n\r\n");
  auto r = p.next_request();
  EXPECT_EQ(r.path, "/a b/\xC3\xA9/+");
  EXPECT_EQ(r.query, "q=%20");  // the query is left to the handler, as aiohttp's query_string
  EXPECT_EQ(r.target, "/a%20b/%C3%A9%2f+?q=%20");
  for (const char* bad : {"/%", "/%4", "/%zz", "/a%2"}) {
    web::ConnectionProtocol q;
    q.feed(std::string("GET ") + bad + " HTTP/1.1\r\n\r\n");
    EXPECT_FALSE(q.has_request()) << bad;
    ASSERT_TRUE(q.error()) << bad;
    EXPECT_EQ(q.error()->status, 400) << bad;
  }
  EXPECT_EQ(web::percent_decode("%41%62c"), "Abc");
  EXPECT_EQ(web::percent_decode("100%"), std::nullopt);
}

TEST(WebResponse, RefusesWhatWouldSplitTheResponse) {
  std::string out = "kept";
  web::Response bad = web::Response::text("x");
  bad.headers.add("X", "a\r\nInjected: 1");
  EXPECT_THROW(web::serialize_response(out, bad, true), std::invalid_argument);
  EXPECT_THROW(web::serialize_response(out, web::Response{42, {}, ""}, true), std::invalid_argument);
  EXPECT_EQ(out, "kept");
  EXPECT_EQ(web::reason_phrase(404), "Not Found");
  EXPECT_EQ(web::reason_phrase(799), "Unknown");
}

TEST(WebHeaders, LookUpIgnoringCaseAndReplace) {
  web::Headers h{{"Accept", "a"}, {"accept", "b"}};
  EXPECT_EQ(h.get("ACCEPT").value_or(""), "a");
  h.set("AcCePt", "c");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.get("accept").value_or(""), "c");
  EXPECT_EQ(h.remove("accept"), 1u);
  EXPECT_FALSE(h.contains("Accept"));
}

}  // namespace
