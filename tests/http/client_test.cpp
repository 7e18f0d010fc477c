// The blocking client (tandem/http/client.hpp) against the local TestServer: bodies and headers,
// keep-alive, redirects, and each failure as its typed error.
#include "tandem/http/client.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "http/test_server.hpp"

namespace http = tandem::http;
using http::testing::RefusingPort;
using http::testing::TestServer;
using namespace std::chrono_literals;

TEST(HttpSession, GetReturnsStatusBodyHeadersAndFinalUrl) {
  TestServer server;
  http::Session session;
  auto r = session.get(server.url("/bytes/10"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.body, "abcdefghij");
  EXPECT_EQ(r.url, server.url("/bytes/10"));
  EXPECT_EQ(r.headers.get("content-length"), "10");
  EXPECT_EQ(r.headers.get("CONTENT-LENGTH"), "10");  // names are case-insensitive
  EXPECT_FALSE(r.headers.get("X-Missing").has_value());
  EXPECT_TRUE(r.ok());
}

TEST(HttpSession, PostSendsTheBodyAndTheRequestHeaders) {
  TestServer server;
  http::Session session;
  http::RequestOptions o;
  o.headers.set("X-Test", "from-request");
  auto r = session.post(server.url("/echo"), "hello, server", o);
  EXPECT_EQ(r.body, "method=POST\nbody=hello, server\nx-test=from-request");
  EXPECT_EQ(r.headers.get("x-echo-method"), "POST");
}

TEST(HttpSession, SessionHeadersAreSentAndARequestHeaderOverridesThem) {
  TestServer server;
  http::SessionOptions so;
  so.headers.set("X-Test", "from-session");
  http::Session session(so);
  EXPECT_EQ(session.get(server.url("/echo")).body, "method=GET\nbody=\nx-test=from-session");
  http::RequestOptions o;
  o.headers.set("x-test", "from-request");
  EXPECT_EQ(session.get(server.url("/echo"), o).body, "method=GET\nbody=\nx-test=from-request");
}

TEST(HttpSession, OtherMethodsAreSentAsNamed) {
  TestServer server;
  http::Session session;
  EXPECT_EQ(session.request("put", server.url("/echo"), "data").body, "method=PUT\nbody=data\nx-test=");
  EXPECT_EQ(session.request("DELETE", server.url("/echo")).body, "method=DELETE\nbody=\nx-test=");
  auto head = session.request("HEAD", server.url("/bytes/5"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST(HttpSession, ConsecutiveRequestsReuseOneConnection) {
  TestServer server;
  http::Session session;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(session.get(server.url("/bytes/3")).body, "abc");
  session.post(server.url("/echo"), "x");
  EXPECT_EQ(server.accepts(), 1);
}

TEST(HttpSession, RedirectsAreFollowedUpToTheLimit) {
  TestServer server;
  http::Session session;
  auto r = session.get(server.url("/redirect/3"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "redirected");
  EXPECT_EQ(r.url, server.url("/redirect/0"));

  http::RequestOptions no_follow;
  no_follow.allow_redirects = false;
  auto first = session.get(server.url("/redirect/3"), no_follow);
  EXPECT_EQ(first.status, 302);
  EXPECT_EQ(first.headers.get("location"), "/redirect/2");

  http::RequestOptions two;
  two.max_redirects = 2;
  EXPECT_THROW(session.get(server.url("/redirect/3"), two), http::TooManyRedirects);
}

TEST(HttpSession, RaiseForStatusThrowsHTTPErrorWithTheStatus) {
  TestServer server;
  http::Session session;
  auto r = session.get(server.url("/status/404"));  // a status is not an error by itself
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.ok());
  try {
    r.raise_for_status();
    FAIL() << "no HTTPError";
  } catch (const http::HTTPError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.url(), server.url("/status/404"));
    EXPECT_NE(std::string(e.what()).find("404 Client Error: Not Found"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(session.get(server.url("/status/200")).raise_for_status());
  EXPECT_THROW(session.get(server.url("/status/503")).raise_for_status(), http::HTTPError);
}

TEST(HttpSession, RefusedConnectionIsAConnectionErrorNamingTheUrl) {
  RefusingPort nobody;
  http::Session session;
  try {
    session.get(nobody.url());
    FAIL() << "no ConnectionError";
  } catch (const http::ConnectionError& e) {
    EXPECT_EQ(e.url(), nobody.url());
    std::string what = e.what();
    EXPECT_NE(what.find("GET " + nobody.url()), std::string::npos) << what;
    EXPECT_NE(what.find("refused"), std::string::npos) << what;
  }
}

TEST(HttpSession, ServerClosingMidBodyIsAConnectionError) {
  TestServer server;
  http::Session session;
  try {
    session.get(server.url("/truncate"));
    FAIL() << "no ConnectionError";
  } catch (const http::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("mid-body (received 500 of 1000 bytes)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(session.get(server.url("/reset")), http::ConnectionError);
  EXPECT_THROW(session.get(server.url("/close")), http::ConnectionError);
  EXPECT_EQ(session.get(server.url("/bytes/2")).body, "ab");  // the session is still usable
}

TEST(HttpSession, SlowServerRaisesTimeoutAndTheConnectionIsDropped) {
  TestServer server;
  http::Session session;
  http::RequestOptions o;
  o.timeout = 200ms;
  EXPECT_THROW(session.get(server.url("/hold"), o), http::Timeout);  // /hold never answers: only the timeout ends it
  for (int i = 0; i < 500 && server.closed_by_client() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.closed_by_client(), 1);
}

TEST(HttpSession, BadUrlsAreInvalidURL) {
  http::Session session;
  EXPECT_THROW(session.get("not a url"), http::InvalidURL);
  EXPECT_THROW(session.get("file:///etc/passwd"), http::InvalidURL);  // only http and https
}

TEST(HttpSession, VerificationIsOnByDefault) {
  http::Session session;
  EXPECT_TRUE(session.options().verify);
  EXPECT_TRUE(http::SessionOptions{}.verify);
  EXPECT_FALSE(http::RequestOptions{}.verify.has_value());  // a request inherits the session's
}

TEST(HttpSession, MovedSessionKeepsItsConnection) {
  TestServer server;
  http::Session a;
  a.get(server.url("/bytes/1"));
  http::Session b = std::move(a);
  b.get(server.url("/bytes/1"));
  EXPECT_EQ(server.accepts(), 1);
  EXPECT_THROW(a.get(server.url("/bytes/1")), tandem::InvalidStateError);  // NOLINT(bugprone-use-after-move)
}

TEST(HttpSession, ThreadLocalSessionsServeAThreadPool) {
  TestServer server;
  std::atomic<std::size_t> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      thread_local http::Session session;  // the seed's threading.local() pattern
      for (int i = 0; i < 5; ++i) total += session.get(server.url("/bytes/100")).body.size();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(total.load(), 2000u);
  EXPECT_EQ(server.accepts(), 4);  // one connection per thread, reused
}
