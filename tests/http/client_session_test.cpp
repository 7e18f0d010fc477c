// The coroutine client (tandem/http/client_session.hpp) on the aio loop, against the local TestServer:
// concurrency through gather, connection limits, cancellation and closing with transfers in flight,
// and nothing left behind (sockets, timers, descriptors).
#include "tandem/http/client_session.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <memory>

#include "aio/support.hpp"
#include "http/test_server.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
namespace http = tandem::http;
using http::testing::TestServer;
using namespace std::chrono_literals;

namespace {

std::string pattern(std::size_t n) {
  std::string s(n, ' ');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

/// Lets the loop run until `cond` holds (the test server works on its own threads); false if it never
/// does within a generous bound.
template <class Cond>
aio::Task<bool> eventually(Cond cond) {
  for (int i = 0; i < 5000; ++i) {
    if (cond()) co_return true;
    co_await aio::sleep(1ms);
  }
  co_return cond();
}

/// Awaits a task that was told to cancel; true if it ended with CancelledError.
aio::Task<bool> ends_cancelled(aio::TaskHandle<http::Response>& task) {
  try {
    co_await task;
  } catch (const tandem::CancelledError&) {
    co_return true;
  }
  co_return false;
}

aio::Task<std::size_t> download_site(http::ClientSession& session, std::string url) {
  http::Response r = co_await session.get(std::move(url));
  r.raise_for_status();
  co_return r.body.size();
}

}  // namespace

TEST(HttpClientSession, GetAndPostLikeTheBlockingClient) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    http::Response r = co_await session.get(server.url("/bytes/10"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "abcdefghij");
    EXPECT_EQ(r.headers.get("Content-Length"), "10");
    EXPECT_EQ(r.url, server.url("/bytes/10"));
    http::RequestOptions o;
    o.headers.set("X-Test", "async");
    http::Response echo = co_await session.post(server.url("/echo"), "payload", o);
    EXPECT_EQ(echo.body, "method=POST\nbody=payload\nx-test=async");
    http::Response redirected = co_await session.get(server.url("/redirect/2"));
    EXPECT_EQ(redirected.url, server.url("/redirect/0"));
    EXPECT_EQ(session.in_flight(), 0u);
  }());
  EXPECT_EQ(server.accepts(), 1);  // keep-alive across all of them
}

TEST(HttpClientSession, TwoHundredConcurrentRequestsThroughGatherGetTheirOwnBodies) {
  TestServer server;
  std::vector<std::string> bodies;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    std::vector<aio::Task<http::Response>> requests;
    for (int i = 0; i < 200; ++i) requests.push_back(session.get(server.url("/bytes/" + std::to_string(i * 37 % 1000))));
    auto responses = co_await aio::gather(std::move(requests));
    for (auto& r : responses) bodies.push_back(std::move(r.body));
    EXPECT_EQ(session.in_flight(), 0u);
  }());
  ASSERT_EQ(bodies.size(), 200u);
  for (std::size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(bodies[i], pattern(i * 37 % 1000)) << i;
  EXPECT_LE(server.max_concurrent(), 100);  // aiohttp's default limit
}

TEST(HttpClientSession, TheSeedsDownloadAllSites) {
  TestServer server;
  std::size_t total = aio::run([&]() -> aio::Task<std::size_t> {
    http::ClientSession session;
    std::vector<aio::Task<std::size_t>> tasks;
    for (int i = 0; i < 80; ++i) {
      tasks.push_back(download_site(session, server.url("/bytes/10394")));
      tasks.push_back(download_site(session, server.url("/bytes/277")));
    }
    auto sizes = co_await aio::gather(std::move(tasks));
    std::size_t sum = 0;
    for (auto s : sizes) sum += s;
    co_return sum;
  }());
  EXPECT_EQ(total, 80u * (10394 + 277));
}

TEST(HttpClientSession, PerHostLimitCapsSimultaneousConnections) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSessionOptions o;
    o.limit_per_host = 4;
    http::ClientSession session(o);
    std::vector<aio::Task<http::Response>> requests;
    for (int i = 0; i < 20; ++i) requests.push_back(session.get(server.url("/slow/30")));
    auto responses = co_await aio::gather(std::move(requests));
    for (auto& r : responses) EXPECT_EQ(r.body, "slow");
  }());
  EXPECT_LE(server.max_concurrent(), 4);
  EXPECT_GE(server.max_concurrent(), 2);  // the requests did overlap
  EXPECT_LE(server.accepts(), 4);         // and the queued ones reused the connections
}

TEST(HttpClientSession, TotalLimitCapsSimultaneousConnections) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSessionOptions o;
    o.limit = 3;
    http::ClientSession session(o);
    std::vector<aio::Task<http::Response>> requests;
    for (int i = 0; i < 12; ++i) requests.push_back(session.get(server.url("/slow/30")));
    co_await aio::gather(std::move(requests));
  }());
  EXPECT_LE(server.max_concurrent(), 3);
  EXPECT_GE(server.max_concurrent(), 2);
}

TEST(HttpClientSession, CancellingTheAwaitingTaskRemovesItsTransfer) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    auto& loop = aio::get_running_loop();
    http::ClientSession session;
    auto task = aio::create_task(session.get(server.url("/hold")));
    const bool held = co_await eventually([&] { return server.holding() == 1; });
    CO_ASSERT_TRUE(held);
    EXPECT_EQ(session.in_flight(), 1u);
    task.cancel();
    const bool cancelled = co_await ends_cancelled(task);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(session.in_flight(), 0u);
    EXPECT_EQ(session.watched_sockets(), 0u);  // its connection was closed, the loop forgot the fd
    const bool seen = co_await eventually([&] { return server.closed_by_client() == 1; });
    EXPECT_TRUE(seen);  // the server saw the connection go
    // The session is still usable, and nothing of the cancelled transfer fires later.
    http::Response r = co_await session.get(server.url("/bytes/3"));
    EXPECT_EQ(r.body, "abc");
    co_await aio::sleep(20ms);
    session.close();
    EXPECT_EQ(loop.timer_count(), 0u);
  }());
}

TEST(HttpClientSession, TimeoutScopeCancelsTheRequest) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    bool timed_out = false;
    try {
      co_await aio::timeout(100ms, session.get(server.url("/hold")));
    } catch (const tandem::TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(session.in_flight(), 0u);
  }());
}

TEST(HttpClientSession, ErrorsAreTheBlockingClientsErrors) {
  TestServer server;
  http::testing::RefusingPort nobody;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    auto outcome = [&](std::string url, http::RequestOptions o = {}) -> aio::Task<std::string> {
      try {
        http::Response r = co_await session.get(std::move(url), std::move(o));
        r.raise_for_status();
        co_return "ok";
      } catch (const http::Timeout&) {
        co_return "Timeout";
      } catch (const http::HTTPError& e) {
        co_return "HTTPError " + std::to_string(e.status());
      } catch (const http::ConnectionError& e) {
        co_return std::string("ConnectionError ") + e.what();
      }
    };
    std::string refused = co_await outcome(nobody.url());
    EXPECT_TRUE(refused.starts_with("ConnectionError GET http://127.0.0.1:")) << refused;
    std::string truncated = co_await outcome(server.url("/truncate"));
    EXPECT_NE(truncated.find("mid-body"), std::string::npos) << truncated;
    std::string reset = co_await outcome(server.url("/reset"));
    EXPECT_TRUE(reset.starts_with("ConnectionError")) << reset;
    std::string nothing = co_await outcome(server.url("/close"));
    EXPECT_TRUE(nothing.starts_with("ConnectionError")) << nothing;
    EXPECT_EQ(co_await outcome(server.url("/status/404")), "HTTPError 404");
    http::RequestOptions quick;
    quick.timeout = 150ms;
    EXPECT_EQ(co_await outcome(server.url("/hold"), quick), "Timeout");
    EXPECT_EQ(co_await outcome(server.url("/bytes/1")), "ok");
  }());
}

TEST(HttpClientSession, ClosingWithTransfersInFlightFailsThemWithConnectionError) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    auto& loop = aio::get_running_loop();
    auto session = std::make_unique<http::ClientSession>();
    std::vector<aio::TaskHandle<http::Response>> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(aio::create_task(session->get(server.url("/hold"))));
    const bool held = co_await eventually([&] { return server.holding() == 5; });
    CO_ASSERT_TRUE(held);
    session.reset();  // RAII close with five transfers in flight
    int failed = 0;
    for (auto& t : tasks) {
      try {
        co_await t;
      } catch (const http::ConnectionError& e) {
        EXPECT_NE(std::string(e.what()).find("ClientSession was closed"), std::string::npos) << e.what();
        ++failed;
      }
    }
    EXPECT_EQ(failed, 5);
    const bool seen = co_await eventually([&] { return server.closed_by_client() == 5; });
    EXPECT_TRUE(seen);
    EXPECT_EQ(loop.timer_count(), 0u);
  }());
}

TEST(HttpClientSession, ARequestQueuedBehindTheLimitCanBeCancelledAndTheQueueMovesOn) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSessionOptions o;
    o.limit = 1;
    http::ClientSession session(o);
    auto holder = aio::create_task(session.get(server.url("/hold")));
    const bool held = co_await eventually([&] { return server.holding() == 1; });
    CO_ASSERT_TRUE(held);
    auto queued = aio::create_task(session.get(server.url("/bytes/3")));
    auto next = aio::create_task(session.get(server.url("/bytes/4")));
    co_await aio::sleep(5ms);
    EXPECT_EQ(session.in_flight(), 3u);
    queued.cancel();
    const bool cancelled = co_await ends_cancelled(queued);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(session.in_flight(), 2u);
    holder.cancel();  // frees the one connection slot: `next` goes ahead
    http::Response r = co_await next;
    EXPECT_EQ(r.body, "abcd");
    EXPECT_TRUE(holder.cancelled());
    EXPECT_EQ(session.in_flight(), 0u);
  }());
  EXPECT_EQ(server.accepts(), 2);  // /hold's connection, closed by the cancel, then one for /bytes/4
}

TEST(HttpClientSession, ClosingFailsQueuedRequestsToo) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSessionOptions o;
    o.limit = 2;
    http::ClientSession session(o);
    std::vector<aio::TaskHandle<http::Response>> tasks;
    for (int i = 0; i < 4; ++i) tasks.push_back(aio::create_task(session.get(server.url("/hold"))));
    const bool held = co_await eventually([&] { return server.holding() == 2; });
    CO_ASSERT_TRUE(held);
    EXPECT_EQ(session.in_flight(), 4u);
    session.close();
    EXPECT_EQ(session.in_flight(), 0u);
    int failed = 0;
    for (auto& t : tasks) {
      try {
        co_await t;
      } catch (const http::ConnectionError&) {
        ++failed;
      }
    }
    EXPECT_EQ(failed, 4);
  }());
  EXPECT_EQ(server.accepts(), 2);
}

TEST(HttpClientSession, RequestsAfterCloseFail) {
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    session.close();
    session.close();  // idempotent
    EXPECT_TRUE(session.closed());
    bool failed = false;
    try {
      co_await session.get(server.url("/bytes/1"));
    } catch (const http::ConnectionError&) {
      failed = true;
    }
    EXPECT_TRUE(failed);
  }());
}

TEST(HttpClientSession, DescriptorsReturnToTheirCountAfterTheSessionCloses) {
  const int before = http::testing::open_fd_count();
  {
    TestServer server;
    aio::run([&]() -> aio::Task<void> {
      http::ClientSession session;
      std::vector<aio::Task<http::Response>> requests;
      for (int i = 0; i < 50; ++i) requests.push_back(session.get(server.url("/bytes/100")));
      co_await aio::gather(std::move(requests));
      auto cancelled = aio::create_task(session.get(server.url("/hold")));
      co_await aio::sleep(10ms);
      cancelled.cancel();
      const bool ended_cancelled = co_await ends_cancelled(cancelled);
      EXPECT_TRUE(ended_cancelled);
      EXPECT_EQ(session.watched_sockets(), 0u);  // idle connections are not watched by the loop…
      EXPECT_GT(http::testing::open_fd_count(), before);  // …but stay open in libcurl's cache
    }());
    server.stop();
  }
  EXPECT_EQ(http::testing::open_fd_count(), before);
}

TEST(HttpClientSession, OutsideARunningLoopIsAnInvalidStateError) {
  EXPECT_THROW(http::ClientSession{}, tandem::InvalidStateError);
}

// The session leaves name lookups to libcurl; that keeps the loop free only with an asynchronous
// resolver (the threaded one in Debian's libcurl4-openssl). If a libcurl without it is ever linked,
// this says so rather than letting a slow DNS server freeze the loop unnoticed.
TEST(HttpClientSession, LibcurlResolvesNamesWithoutBlockingAndLocalhostWorks) {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  EXPECT_TRUE(info->features & CURL_VERSION_ASYNCHDNS) << "libcurl " << info->version << " has no AsynchDNS";
  TestServer server;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSession session;
    http::Response r = co_await session.get("http://localhost:" + std::to_string(server.port()) + "/bytes/2");
    EXPECT_EQ(r.body, "ab");
  }());
}

// asyncio.run's shutdown: main returns with a request still running in another task. The session (in
// main's frame) closes and fails it with ConnectionError, which the loop reports as never retrieved
// (as asyncio would). Nothing crashes, the server sees the connection go, and no fd is left open.
TEST(HttpClientSession, ARequestLeftRunningWhenMainReturnsEndsCleanly) {
  const int before = http::testing::open_fd_count();
  {
    TestServer server;
    aio::run([&]() -> aio::Task<void> {
      http::ClientSession session;
      auto orphan = aio::create_task(session.get(server.url("/hold")));
      const bool held = co_await eventually([&] { return server.holding() == 1; });
      EXPECT_TRUE(held);
    }());
    for (int i = 0; i < 500 && server.closed_by_client() == 0; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(server.closed_by_client(), 1);
    server.stop();
  }
  EXPECT_EQ(http::testing::open_fd_count(), before);
}

// More transfers than one libcurl multi handle takes (the session spreads them over several, each with
// its own connection cache, and admits them a batch per loop iteration): every response is still its
// own, the limit still holds across the handles, and they did run together. (300 connections: the
// in-process server holds the other ends, 600 descriptors in all, within a 1,024 limit.)
TEST(HttpClientSession, ThreeHundredRequestsAtOnceSpanSeveralMultiHandlesAndKeepTheLimit) {
  TestServer server;
  std::vector<std::string> bodies;
  aio::run([&]() -> aio::Task<void> {
    http::ClientSessionOptions o;
    o.limit = 280;
    http::ClientSession session(o);
    std::vector<aio::Task<http::Response>> requests;
    for (int i = 0; i < 300; ++i) requests.push_back(session.get(server.url("/slow/300?" + std::to_string(i))));
    auto responses = co_await aio::gather(std::move(requests));
    for (auto& r : responses) bodies.push_back(std::move(r.body));
    EXPECT_EQ(session.in_flight(), 0u);
  }());
  ASSERT_EQ(bodies.size(), 300u);
  for (const auto& b : bodies) EXPECT_EQ(b, "slow");
  EXPECT_LE(server.max_concurrent(), 280);
  EXPECT_GT(server.max_concurrent(), 256);  // more than one multi handle's worth at once
}

// Closing and cancelling reach transfers in every multi handle: all fail with ConnectionError or
// CancelledError, and no timer, watched socket or descriptor is left.
TEST(HttpClientSession, CloseAndCancelReachEveryMultiHandle) {
  const int before = http::testing::open_fd_count();
  {
    TestServer server;
    aio::run([&]() -> aio::Task<void> {
      auto& loop = aio::get_running_loop();
      http::ClientSessionOptions o;
      o.limit = 0;  // no limit: the 300 go to libcurl a batch per loop iteration
      http::ClientSession session(o);
      std::vector<aio::TaskHandle<http::Response>> tasks;
      for (int i = 0; i < 300; ++i) tasks.push_back(aio::create_task(session.get(server.url("/hold"))));
      const bool held = co_await eventually([&] { return server.holding() == 300; });
      CO_ASSERT_TRUE(held);
      constexpr int kCancelled = 43;  // every 7th: some in each multi handle
      for (std::size_t i = 0; i < 300; i += 7) tasks[i].cancel();
      const bool gone = co_await eventually([&] { return session.in_flight() == 300u - kCancelled; });
      EXPECT_TRUE(gone);
      session.close();
      int failed = 0, cancelled = 0;
      for (auto& t : tasks) {
        try {
          co_await t;
        } catch (const http::ConnectionError&) {
          ++failed;
        } catch (const tandem::CancelledError&) {
          ++cancelled;
        }
      }
      EXPECT_EQ(failed, 300 - kCancelled);
      EXPECT_EQ(cancelled, kCancelled);
      EXPECT_EQ(session.watched_sockets(), 0u);
      EXPECT_EQ(loop.timer_count(), 0u);
      const bool seen = co_await eventually([&] { return server.closed_by_client() == 300; });
      EXPECT_TRUE(seen);
    }());
    server.stop();
  }
  EXPECT_EQ(http::testing::open_fd_count(), before);
}
