// The examples of the http headers' comments, copied verbatim, so that they keep compiling. The ones
// that take their URLs as parameters also run, against the local TestServer.
#include <gtest/gtest.h>

#include <cstdio>

#include "http/test_server.hpp"
#include "tandem/aio.hpp"
#include "tandem/http/client.hpp"
#include "tandem/http/client_session.hpp"
#include "tandem/http/errors.hpp"

namespace {

// ---- client.hpp ----
[[maybe_unused]] void client_hpp_example() {
  tandem::http::Session session;
  tandem::http::Response r = session.get("http://127.0.0.1:8080/jython");
  r.raise_for_status();                                   // HTTPError on 4xx/5xx
  std::printf("Read %zu from %s\n", r.body.size(), r.url.c_str());
  auto type = r.headers.get("content-type");              // case-insensitive, std::optional
  tandem::http::RequestOptions o;
  o.headers.set("Content-Type", "application/json");
  o.timeout = std::chrono::seconds(2);
  session.post("http://127.0.0.1:8080/echo", R"({"n": 1})", o);
}

tandem::http::Session& thread_session() {
  thread_local tandem::http::Session session;            // one per thread, made on first use
  return session;
}

// ---- errors.hpp ----
[[maybe_unused]] void errors_hpp_example(tandem::http::Session& session) {
  try {
    auto r = session.get("http://127.0.0.1:8080/dice");
    r.raise_for_status();
  } catch (const tandem::http::HTTPError& e) {     // the server answered 4xx/5xx
    std::printf("status %d\n", e.status());
  } catch (const tandem::http::Timeout& e) {       // connect or total time limit ran out
  } catch (const tandem::http::ConnectionError& e) {  // refused, reset, DNS, TLS, body cut short
  } catch (const tandem::http::Error& e) {          // anything else the HTTP layer reports
  }
}

// ---- client_session.hpp ----
tandem::aio::Task<std::size_t> download_site(tandem::http::ClientSession& session, std::string url) {
  tandem::http::Response r = co_await session.get(url);
  co_return r.body.size();
}
tandem::aio::Task<void> download_all_sites(std::vector<std::string> sites) {
  tandem::http::ClientSession session;                   // one per program, as aiohttp advises
  std::vector<tandem::aio::Task<std::size_t>> tasks;
  for (auto& url : sites) tasks.push_back(download_site(session, url));
  auto sizes = co_await tandem::aio::gather(std::move(tasks));
}

}  // namespace

TEST(HttpHeaderExamples, ThreadLocalSessionAndDownloadAllSitesRun) {
  tandem::http::testing::TestServer server;
  EXPECT_EQ(thread_session().get(server.url("/bytes/277")).body.size(), 277u);
  std::vector<std::string> sites(10, server.url("/bytes/10394"));
  tandem::aio::run(download_all_sites(sites));
  EXPECT_GE(server.accepts(), 2);  // the blocking session's connection and the coroutine session's
}
