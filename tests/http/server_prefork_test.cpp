// web::PreforkServer: worker processes sharing one port, a killed worker replaced, a failed boot reported.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "http/support.hpp"
#include "tandem/http/server_run.hpp"

namespace {

namespace aio = tandem::aio;
namespace web = tandem::http::web;
using namespace tandem::http::testing;
using namespace std::chrono_literals;

aio::Task<web::Response> pid(web::Request&) { co_return web::Response::text(std::to_string(::getpid())); }

// Application factories run in the workers: plain functions of this executable.
web::Application pid_app(const std::string&) {
  web::Application app;
  app.add_get("/pid", pid);
  return app;
}
web::Application broken_app(const std::string& why) { throw std::runtime_error(why); }

web::ServerConfig quick_config() {
  web::ServerConfig c;
  c.shutdown_grace = 2s;
  return c;
}

std::set<std::string> pids_answering(std::uint16_t port, int requests, int& ok) {
  std::set<std::string> seen;
  for (int i = 0; i < requests; ++i) {
    auto r = fetch(port, get("/pid"));  // a new connection each time: the kernel picks a worker
    if (r && r->status == 200) {
      ++ok;
      seen.insert(r->body);
    }
  }
  return seen;
}

TEST(WebPrefork, TwoWorkersServeAndAKilledOneIsReplaced) {
  web::PreforkServer server(&pid_app, "", quick_config(), 2);
  server.start();
  std::thread supervisor([&] { server.run(); });
  const auto pids = server.worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_NE(pids[0], pids[1]);
  EXPECT_NE(pids[0], 0);

  int ok = 0;
  auto seen = pids_answering(server.port(), 200, ok);
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(seen, (std::set<std::string>{std::to_string(pids[0]), std::to_string(pids[1])}));

  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(eventually([&] {
    auto now = server.worker_pids();
    return server.restarts() == 1 && now[0] != 0 && now[0] != pids[0];
  }));
  const auto replaced = server.worker_pids();
  EXPECT_EQ(replaced[1], pids[1]);
  ok = 0;
  seen = pids_answering(server.port(), 100, ok);
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(seen.count(std::to_string(pids[0])), 0u);  // the dead one answers nothing

  server.stop();
  supervisor.join();
  EXPECT_EQ(server.worker_pids(), (std::vector<pid_t>{0, 0}));
  EXPECT_EQ(::kill(replaced[0], 0), -1);  // stopped and reaped
  EXPECT_EQ(::kill(replaced[1], 0), -1);
  EXPECT_THROW(RawClient late(server.port()), std::runtime_error);
}

TEST(WebPrefork, AWorkerThatFailsToBootStopsTheStartWithItsReason) {
  web::PreforkServer server(&broken_app, "no application today", quick_config(), 2);
  try {
    server.start();
    FAIL() << "start() returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("failed to boot"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("web-worker-1"), std::string::npos) << e.what();
  }
}

TEST(WebPrefork, ABadConfigurationIsRefusedUpFront) {
  EXPECT_THROW(web::PreforkServer(&pid_app, "", quick_config(), 0), std::invalid_argument);
  EXPECT_THROW(web::PreforkServer(nullptr, "", quick_config(), 2), std::invalid_argument);
}

}  // namespace
