// The seed's sites as fixtures: sizes, determinism, /bytes/N bounds, the latency syntax the CLI takes.
#include <gtest/gtest.h>

#include <stdexcept>

#include "http/support.hpp"
#include "lab/sites.hpp"

namespace {

using namespace tandem::http::testing;
using namespace std::chrono_literals;
namespace lab = tandem::lab;

TEST(Sites, PagesHaveTheSeedsSizesAndNeverChange) {
  EXPECT_EQ(lab::jython_page().size(), 10'394u);
  EXPECT_EQ(lab::dice_page().size(), 277u);
  EXPECT_TRUE(lab::jython_page().starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(lab::dice_page().ends_with("</html>\n"));
  EXPECT_EQ(lab::fixture_bytes(30), "abcdefghijklmnopqrstuvwxyzabcd");
}

TEST(Sites, FixtureServerServesTheRoutesWithLatency) {
  lab::FixtureServer sites(5ms);
  EXPECT_TRUE(sites.url().starts_with("http://127.0.0.1:"));
  RawClient c(sites.port());
  ASSERT_TRUE(c.send(get("/jython") + get("/dice") + get("/bytes/12345") + get("/bytes/99999999") + get("/bytes/x")));
  auto jython = c.read_response(), dice = c.read_response(), bytes = c.read_response(), huge = c.read_response(),
       bad = c.read_response();
  ASSERT_TRUE(jython && dice && bytes && huge && bad);
  EXPECT_EQ(jython->body, lab::jython_page());
  EXPECT_EQ(dice->body, lab::dice_page());
  EXPECT_EQ(bytes->body, lab::fixture_bytes(12345));
  EXPECT_EQ(huge->status, 400);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(sites.server().stats().requests, 5u);
}

TEST(Sites, LatencyTakesUnitsAndRefusesTheRest) {
  EXPECT_EQ(lab::parse_latency("100ms"), 100ms);
  EXPECT_EQ(lab::parse_latency("0.1s"), 100ms);
  EXPECT_EQ(lab::parse_latency("250us"), 250us);
  EXPECT_EQ(lab::parse_latency("5000ns"), 5us);
  EXPECT_EQ(lab::parse_latency("0"), 0ns);
  EXPECT_EQ(lab::parse_latency(".5s"), 500ms);
  EXPECT_EQ(lab::parse_latency("3600s"), 1h);
  for (const char* bad : {"", "100", "-1ms", "1.ms", "1.5.s", "5x", "1e3ms", " 1ms", "3601s", "99999999999999s", "ms"})
    EXPECT_THROW(lab::parse_latency(bad), std::invalid_argument) << bad;
}

}  // namespace
