// `tandem download` as a user meets it: the seed's output, the --model all table, exit 2 on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>

#include "support/shell.hpp"

namespace {

using tandem::testing::Outcome;

Outcome tandem_download(const std::string& args) {
#ifdef TANDEM_CLI
  return tandem::testing::shell(std::string(TANDEM_CLI) + " download " + args + " 2>&1 </dev/null");
#else
  (void)args;
  return {};
#endif
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
  EXPECT_TRUE(has(r.out, R"(\nDownloaded 160 in \d+\.\d{6} seconds\n$)")) << r.out;
  EXPECT_FALSE(has(r.out, "Read ")) << r.out;
}

TEST_F(DownloadCli, VerbosePrintsTheSeedsReadLines) {
  auto r = tandem_download("--latency 0 --model thread --sites 4 --workers 2 --verbose");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r.out, R"(\nRead 10394 from http://127\.0\.0\.1:\d+/jython\n)")) << r.out;
  EXPECT_TRUE(has(r.out, R"(\nRead 277 from http://127\.0\.0\.1:\d+/dice\n)")) << r.out;
  EXPECT_TRUE(has(r.out, R"(\nDownloaded 4 in \d+\.\d+ seconds\n$)")) << r.out;
}

TEST_F(DownloadCli, ModelAllPrintsOneRowPerModelAndChecksTheBytes) {
  auto r = tandem_download("--model all --latency 0 --sites 20");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const char* row : {R"(\nsync +1 +106710 +\d+\.\d{3} +1\.0x\n)", R"(\nthreads +5 +106710 )",
                          R"(\nprocesses +\d+ +106710 )", R"(\ncoroutines +20 +106710 )"})
    EXPECT_TRUE(has(r.out, row)) << row << "\n" << r.out;
  EXPECT_TRUE(has(r.out, R"(\nEvery model read the same 106710 bytes\n$)")) << r.out;
}

TEST_F(DownloadCli, UrlsAreDownloadedInsteadOfTheFixturesAndAFailureNamesTheUrl) {
  auto r = tandem_download("--url http://127.0.0.1:1/dice --model sync");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r.out, R"(tandem: error: could not download http://127\.0\.0\.1:1/dice: )")) << r.out;
}

TEST_F(DownloadCli, BadInputIsRefusedWithExitCode2) {
  for (const char* args : {"--sites 0", "--sites -3", "--sites x", "--sites 1000001", "--workers 0",
                           "--model threads --workers 5000", "--model fibers", "--latency 10",
                           "--url ftp://example.com/", "--sites ''"}) {
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
