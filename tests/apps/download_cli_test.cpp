// `tandem download` as a user meets it: the seed's output, the --model all table, exit 2 on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <nlohmann/json.hpp>
#include <string>

#include "support/shell.hpp"

namespace {

using tandem::testing::Outcome;

Outcome tandem_download(const std::string& args) {
  return tandem::testing::shell(tandem::testing::kTandemCli + " download " + args + " 2>&1 </dev/null");
}
// stdout alone (a JSON document), stderr dropped.
Outcome tandem_testing_json(const std::string& args) {
  return tandem::testing::shell(tandem::testing::kTandemCli + " download " + args + " 2>/dev/null </dev/null");
}

class DownloadCli : public testing::Test {
 protected:
  void SetUp() override {
#ifndef TANDEM_CLI
    GTEST_SKIP() << "the CLI is not part of this build (TANDEM_BUILD_APPS=OFF)";
#endif
  }
};

bool has(const std::string& text, const char* pattern) { return std::regex_search(text, std::regex(pattern)); }

TEST_F(DownloadCli, DefaultRunDownloadsTheSeeds160Sites) {
  auto r = tandem_download("--latency 0");
  EXPECT_EQ(r.code, 0) << r.out;
  // The seed's line with the median of the runs (5 by default, as every timed command), then the runs.
  EXPECT_TRUE(has(r.out, R"(\nDownloaded 160 in \d+\.\d{6} seconds\n  median of \d+\.\d+s \(\d+\.\d+…\d+\.\d+s, 5 runs\))"))
      << r.out;
  EXPECT_FALSE(has(r.out, "Read ")) << r.out;
}

TEST_F(DownloadCli, VerbosePrintsTheSeedsReadLines) {
  auto r = tandem_download("--latency 0 --model thread --sites 4 --workers 2 --verbose --runs 3 --warmup 1");
  EXPECT_EQ(r.code, 0) << r.out;
  // Once, for the first measured run: not for the warmup nor the other two.
  std::size_t reads = 0;
  for (auto at = r.out.find("Read "); at != std::string::npos; at = r.out.find("Read ", at + 1)) ++reads;
  EXPECT_EQ(reads, 4u) << r.out;
  EXPECT_TRUE(has(r.out, R"(\nRead 10394 from http://127\.0\.0\.1:\d+/jython\n)")) << r.out;
  EXPECT_TRUE(has(r.out, R"(\nRead 277 from http://127\.0\.0\.1:\d+/dice\n)")) << r.out;
  EXPECT_TRUE(has(r.out, R"(\nDownloaded 4 in \d+\.\d+ seconds\n  median of .*3 runs\))")) << r.out;
}

TEST_F(DownloadCli, ModelAllPrintsOneRowPerModelAndChecksTheBytes) {
  auto r = tandem_download("--model all --latency 0 --sites 20 --runs 2");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const char* row : {R"(\nsync +1 +106710 +\d+\.\d{3} +\d+\.\d{3}…\d+\.\d{3} +1\.0x\n)", R"(\nthreads +5 +106710 )",
                          R"(\nprocesses +\d+ +106710 )", R"(\ncoroutines +20 +106710 )"})
    EXPECT_TRUE(has(r.out, row)) << row << "\n" << r.out;
  EXPECT_TRUE(has(r.out, R"(\nEvery model read the same 106710 bytes\n$)")) << r.out;
}

TEST_F(DownloadCli, JsonHoldsEveryRunOfEveryModel) {
  auto r = tandem_testing_json("--model all --latency 0 --sites 6 --runs 2 --warmup 1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["command"], "download");
  EXPECT_EQ(doc["sites"], "6");
  EXPECT_TRUE(doc["same_bytes"].get<bool>());
  ASSERT_EQ(doc["models"].size(), 4u);
  for (const auto& m : doc["models"]) {
    EXPECT_EQ(m["bytes"], "32013") << m.dump();  // 3 x 10394 + 3 x 277, as strings (64-bit counts)
    EXPECT_EQ(m["measurement"]["runs"].size(), 2u) << m.dump();
    EXPECT_EQ(m["measurement"]["warmup_runs"].size(), 1u) << m.dump();
    EXPECT_LE(m["measurement"]["min"].get<double>(), m["wall_seconds"].get<double>());
  }
  EXPECT_EQ(doc["models"][0]["model"], "sync");
  EXPECT_EQ(doc["models"][0]["speedup"], 1.0);
}

TEST_F(DownloadCli, UrlsAreDownloadedInsteadOfTheFixturesAndAFailureNamesTheUrl) {
  auto r = tandem_download("--url http://127.0.0.1:1/dice --model sync");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r.out, R"(tandem: error: could not download http://127\.0\.0\.1:1/dice: )")) << r.out;
}

TEST_F(DownloadCli, BadInputIsRefusedWithExitCode2) {
  for (const char* args : {"--sites 0", "--sites -3", "--sites x", "--sites 1000001", "--workers 0",
                           "--model threads --workers 5000", "--model fibers", "--latency 10",
                           "--url ftp://example.com/", "--sites ''", "--runs 0", "--json --verbose"}) {
    auto r = tandem_download(std::string("--latency 0 ") + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_FALSE(has(r.out, "Downloaded")) << args << "\n" << r.out;
  }
  auto r = tandem_download("--model fibers");
  EXPECT_NE(r.out.find("--model: 'fibers' is not one of {sequential,threads,processes,coroutines} (singular or "
                       "plural) (or sync, or all for a table)"),
            std::string::npos)
      << r.out;
}

}  // namespace
