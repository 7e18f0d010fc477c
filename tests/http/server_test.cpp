// web::Server as a client meets it over a raw socket: keep-alive, pipelining, bodies, limits, timeouts,
// failures, the connection cap, abandoned connections and a graceful stop.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/support.hpp"
#include "tandem/aio.hpp"
#include "tandem/http/server.hpp"
#include "tandem/http/server_run.hpp"

namespace {

namespace aio = tandem::aio;
namespace web = tandem::http::web;
using namespace tandem::http::testing;
using namespace std::chrono_literals;

std::atomic<int> slow_entered{0};

aio::Task<web::Response> hello(web::Request&) { co_return web::Response::text("hello"); }
aio::Task<web::Response> echo(web::Request& r) { co_return web::Response::text(r.body); }
aio::Task<web::Response> slow(web::Request& r) {
  ++slow_entered;
  // Computed before the co_await: GCC 12 mishandles a temporary std::string inside a co_await expression.
  const int ms = r.query.empty() ? 200 : std::stoi(r.query);
  co_await aio::sleep(std::chrono::milliseconds(ms));
  co_return web::Response::text("slow " + r.path);
}
aio::Task<web::Response> fails(web::Request&) {
  throw std::runtime_error("the handler broke on purpose");
  co_return web::Response::text("unreachable");
}
aio::Task<web::Response> teapot(web::Request&) {
  throw web::HTTPException(418, "short and stout");
  co_return web::Response::text("unreachable");
}
aio::Task<web::Response> split(web::Request&) {
  web::Response r = web::Response::text("x");
  r.headers.add("X-Evil", "a\r\nSet-Cookie: stolen=1");
  co_return r;
}

web::Application test_app() {
  web::Application app;
  app.add_get("/hello", hello);
  app.add_post("/echo", echo);
  app.add_get("/slow", slow);
  app.add_prefix_route("GET", "/slow/", slow);
  app.add_get("/fail", fails);
  app.add_get("/teapot", teapot);
  app.add_get("/split", split);
  return app;
}

web::ServerConfig quick_config() {
  web::ServerConfig c;
  c.header_timeout = 500ms;
  c.body_timeout = 500ms;
  c.keep_alive_timeout = 5s;
  c.shutdown_grace = 5s;
  return c;
}

TEST(WebServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/hello")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello");
    EXPECT_FALSE(r->has_header("Connection: close")) << r->head;
  }
  auto stats = server.stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.connections, 1u);  // all three on the one connection
}

TEST(WebServer, PipelinedRequestsAreAnsweredInTheirOrder) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  // The first is slow: answering them concurrently would put "hello" first.
  ASSERT_TRUE(c.send(get("/slow/first", "") + get("/hello") + get("/slow/third")));
  auto a = c.read_response(), b = c.read_response(), d = c.read_response();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->body, "slow /slow/first");
  EXPECT_EQ(b->body, "hello");
  EXPECT_EQ(d->body, "slow /slow/third");
  // A client that half-closes after its last request still gets every answer.
  RawClient h(server.port());
  ASSERT_TRUE(h.send(get("/slow/one") + get("/hello")));
  ::shutdown(h.fd(), SHUT_WR);
  auto one = h.read_response(), two = h.read_response();
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->body, "slow /slow/one");
  EXPECT_EQ(two->body, "hello");
  EXPECT_TRUE(h.closed_by_server());
}

TEST(WebServer, ContentLengthAndChunkedBodiesReachTheHandler) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
  // Chunked, with a chunk extension and a trailer, split across writes.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel"));
  ASSERT_TRUE(c.send("lo\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

TEST(WebServer, ExpectContinueGetsAnInterimAnswerBeforeTheBodyIsSent) {
  auto config = quick_config();
  config.max_body_size = 1000;
  web::BackgroundServer server(test_app(), config);
  RawClient c(server.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  // Too large: 413 at once, no 100 Continue.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(WebServer, HeadersOver8KiBGet431AndTheConnectionCloses) {
  web::BackgroundServer server(test_app(), quick_config());
  {
    RawClient c(server.port());  // 7 KiB of headers: fine
    ASSERT_TRUE(c.send(get("/hello", "X-Big: " + std::string(7 * 1024, 'a') + "\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  RawClient c(server.port());
  ASSERT_TRUE(c.send(get("/hello", "X-Big: " + std::string(9 * 1024, 'a') + "\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(r->has_header("Connection: close"));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server.stats().protocol_errors, 1u);
}

TEST(WebServer, BodiesOverTheLimitGet413) {
  auto config = quick_config();
  config.max_body_size = 1000;
  web::BackgroundServer server(test_app(), config);
  {
    RawClient c(server.port());  // declared too large: refused before the body is read
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b')));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(server.port());  // chunked: refused once the chunks pass the limit
    std::string chunks;
    for (int i = 0; i < 3; ++i) chunks += "190\r\n" + std::string(400, 'c') + "\r\n";
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  RawClient c(server.port());  // exactly the limit: fine
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'd')));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 1000u);
}

TEST(WebServer, SlowlorisIsCutAtTheHeaderTimeoutWhileOthersAreServed) {
  web::BackgroundServer server(test_app(), quick_config());  // header_timeout 500 ms
  RawClient slowloris(server.port());
  std::atomic<bool> cut{false};
  // Trickles one header byte every 50 ms for up to 30 s: far past the timeout unless the server cuts it.
  std::thread trickle([&] {
    ASSERT_TRUE(slowloris.send("GET /hello HTTP/1.1\r\nHost: t\r\n"));
    for (int i = 0; i < 600 && !cut; ++i) {
      if (!slowloris.send("X")) break;
      std::this_thread::sleep_for(50ms);
    }
  });
  int served = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = fetch(server.port(), get("/hello"));
    if (r && r->status == 200) ++served;
  }
  EXPECT_EQ(served, 5);
  auto r = slowloris.read_response();
  cut = true;
  trickle.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(eventually([&] { return server.stats().timeouts >= 1; }));
}

TEST(WebServer, AConnectionThatSendsNothingGets408) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_by_server());
}

TEST(WebServer, GarbageGets400AndTheConnectionCloses) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  ASSERT_TRUE(c.send("HELLO THERE\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_server());
  // A request before the garbage, in the same write, is still answered first.
  RawClient d(server.port());
  ASSERT_TRUE(d.send(get("/hello") + "\x01\x02 nonsense\r\n\r\n"));
  auto first = d.read_response(), second = d.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 400);
}

TEST(WebServer, AThrowingHandlerGets500AndTheNextRequestIsServed) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  ASSERT_TRUE(c.send(get("/fail")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(c.send(get("/hello")));  // same connection
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(c.send(get("/teapot")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 418);
  EXPECT_NE(r->body.find("short and stout"), std::string::npos);
  ASSERT_TRUE(c.send(get("/split")));  // a header with CRLF in it is not sent
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_FALSE(r->has_header("stolen"));
  EXPECT_EQ(server.stats().handler_errors, 2u);
}

TEST(WebServer, RouterAnswers404And405AndHeadWithoutBody) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  ASSERT_TRUE(c.send(get("/nowhere")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  ASSERT_TRUE(c.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_TRUE(r->has_header("Allow: GET, HEAD")) << r->head;
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello")));
  r = c.read_response();  // Content-Length 5 but no body: the next response follows at once
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->has_header("Content-Length: 5"));
}

TEST(WebServer, Http10ClosesUnlessAskedToKeepAlive) {
  web::BackgroundServer server(test_app(), quick_config());
  RawClient c(server.port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.closed_by_server());
  RawClient k(server.port());
  ASSERT_TRUE(k.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = k.read_response();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_header("Connection: keep-alive"));
  ASSERT_TRUE(k.send("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"));
  r = k.read_response();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_header("Connection: close"));
  EXPECT_TRUE(k.closed_by_server());
}

TEST(WebServer, BeyondTheConnectionCapNewConnectionsGet503) {
  auto config = quick_config();
  config.max_connections = 2;
  web::BackgroundServer server(test_app(), config);
  RawClient a(server.port()), b(server.port());
  for (RawClient* c : {&a, &b}) {  // answered: both are counted
    ASSERT_TRUE(c->send(get("/hello")));
    ASSERT_TRUE(c->read_response());
  }
  RawClient third(server.port());
  auto r = third.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(r->has_header("Retry-After: 1"));
  EXPECT_TRUE(third.closed_by_server());
  a.close();
  ASSERT_TRUE(eventually([&] { return server.stats().connections == 1; }));
  auto ok = fetch(server.port(), get("/hello"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(server.stats().rejected, 1u);
}

TEST(WebServer, ThousandsOfAbandonedConnectionsLeaveNoDescriptorBehind) {
  constexpr int kConnections = 10'000;  // counted, not timed
  web::BackgroundServer server(test_app(), quick_config());
  ASSERT_TRUE(fetch(server.port(), get("/hello")));  // the server's own descriptors are all open now
  ASSERT_TRUE(eventually([&] { return server.stats().connections == 0; }));
  const std::size_t fds_before = open_fd_count();
  constexpr int kBatch = 100;
  for (int done = 0; done < kConnections; done += kBatch) {
    std::vector<std::unique_ptr<RawClient>> batch;
    for (int i = 0; i < kBatch; ++i) {
      batch.push_back(std::make_unique<RawClient>(server.port()));
      if (i % 3 == 1) batch.back()->send("GET /hello HTTP/1.1\r\nHo");  // a request cut short
    }
    for (int i = 0; i < kBatch; ++i)
      if (i % 2) batch[i]->reset();  // half with RST, half with FIN
    batch.clear();
  }
  auto r = fetch(server.port(), get("/hello"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(eventually([&] { return server.stats().connections == 0; })) << server.stats().connections;
  EXPECT_TRUE(eventually([&] { return open_fd_count() == fds_before; }))
      << open_fd_count() << " descriptors open, " << fds_before << " before";
}

TEST(WebServer, GracefulStopFinishesTheRequestInFlightAndClosesIdleConnections) {
  slow_entered = 0;
  web::BackgroundServer server(test_app(), quick_config());
  RawClient idle(server.port());
  ASSERT_TRUE(idle.send(get("/hello")));
  ASSERT_TRUE(idle.read_response());  // now idle, kept alive
  RawClient busy(server.port());
  ASSERT_TRUE(busy.send(get("/slow", "")));  // GET /slow: 200 ms
  ASSERT_TRUE(eventually([] { return slow_entered == 1; }));
  std::thread stopper([&] { server.stop(); });
  auto r = busy.read_response();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow /slow");
  EXPECT_TRUE(r->has_header("Connection: close"));
  EXPECT_TRUE(busy.closed_by_server());
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_THROW(RawClient late(server.port()), std::runtime_error);  // no longer listening
}

TEST(WebServer, StopCancelsWhatOutlivesTheGrace) {
  slow_entered = 0;
  auto config = quick_config();
  config.shutdown_grace = 100ms;
  web::BackgroundServer server(test_app(), config);
  RawClient c(server.port());
  ASSERT_TRUE(c.send("GET /slow?60000 HTTP/1.1\r\nHost: t\r\n\r\n"));  // would need 60 s
  ASSERT_TRUE(eventually([] { return slow_entered == 1; }));
  server.stop();  // returns: the 60 s handler was cancelled
  EXPECT_TRUE(c.closed_by_server());
}

}  // namespace

namespace {

TEST(WebServer, ReusePortLetsServersShareAPortAndOthersAreRefused) {
  aio::run([]() -> aio::Task<void> {
    web::ServerConfig shared;
    shared.reuse_port = true;
    auto a = co_await web::Server::start(test_app(), shared);
    shared.port = a.port();
    auto b = co_await web::Server::start(test_app(), shared);
    EXPECT_EQ(b.port(), a.port());
    web::ServerConfig plain;
    plain.port = a.port();
    bool refused = false;
    try {
      co_await web::Server::start(test_app(), plain);
    } catch (const aio::ConnectionError& e) {
      refused = std::string(e.what()).find("in use") != std::string::npos;
    }
    EXPECT_TRUE(refused);
    co_await a.stop();
    co_await b.stop();
  }());
}

}  // namespace
