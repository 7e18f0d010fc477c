// The seed's downloader: every model reads the fixture sites with the right sizes, agrees with the
// others byte for byte, and names the URL that failed.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab/download.hpp"
#include "lab/sites.hpp"

namespace {

namespace lab = tandem::lab;
using lab::Model;
using namespace std::chrono_literals;

class EveryModel : public testing::TestWithParam<Model> {};

std::string name_of(const testing::TestParamInfo<Model>& info) { return std::string(lab::name(info.param)); }

TEST(DownloadModels, NamesAreTheLabsSingularAndPluralAndTheSeedsSync) {
  const auto models = lab::kDownloadModels;
  EXPECT_EQ(lab::parse_model("sync", models), Model::sequential);
  EXPECT_EQ(lab::parse_model("sequential", models), Model::sequential);
  EXPECT_EQ(lab::parse_model("thread", models), Model::threads);
  EXPECT_EQ(lab::parse_model("threads", models), Model::threads);
  EXPECT_EQ(lab::parse_model("process", models), Model::processes);
  EXPECT_EQ(lab::parse_model("processes", models), Model::processes);
  EXPECT_EQ(lab::parse_model("coroutine", models), Model::coroutines);
  EXPECT_EQ(lab::parse_model("coroutines", models), Model::coroutines);
  EXPECT_THROW(lab::parse_model("Threads", models), std::invalid_argument);
  EXPECT_THROW(lab::parse_model("", models), std::invalid_argument);
  EXPECT_THROW(lab::parse_model("all", models), std::invalid_argument);
  EXPECT_THROW(lab::parse_model("threads-gil", models), std::invalid_argument);
  EXPECT_EQ(lab::choices(models), "{sequential,threads,processes,coroutines}");
}

TEST(DownloadModels, SeedSitesAlternateTheTwoSites) {
  auto urls = lab::seed_sites("http://h", 5);
  EXPECT_EQ(urls, (std::vector<std::string>{"http://h/jython", "http://h/dice", "http://h/jython", "http://h/dice",
                                            "http://h/jython"}));
  EXPECT_TRUE(lab::seed_sites("http://h", 0).empty());
}

TEST(DownloadModels, DefaultWorkersAreTheSeeds) {
  EXPECT_EQ(lab::default_download_workers(Model::sequential, 160), 1u);
  EXPECT_EQ(lab::default_download_workers(Model::threads, 160), 5u);
  EXPECT_GE(lab::default_download_workers(Model::processes, 160), 1u);
  EXPECT_EQ(lab::default_download_workers(Model::coroutines, 160), 160u);  // all in flight
  EXPECT_EQ(lab::kept_in_flight(0), 1u);
  EXPECT_GE(lab::kept_in_flight(10'000), 1u);
}

// Every URL in flight, within the descriptor limit: half of what is left above 256 descriptors with
// an in-process server, all of it against another process.
TEST(DownloadModels, KeptInFlightIsEveryUrlWithinTheDescriptorLimit) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 1256;
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < low.rlim_cur) GTEST_SKIP() << "hard limit below 1,256";
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  const std::size_t in_process = lab::kept_in_flight(10'000);
  const std::size_t other_process = lab::kept_in_flight(10'000, 1);
  const std::size_t few = lab::kept_in_flight(300);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(in_process, 500u);
  EXPECT_EQ(other_process, 1000u);
  EXPECT_EQ(few, 300u);
}

TEST_P(EveryModel, DownloadsTheSeedsSitesWithTheirSizes) {
  lab::FixtureServer sites;
  const auto urls = lab::seed_sites(sites.url(), 40);
  std::vector<std::string> read;
  std::size_t read_bytes = 0;
  auto run = lab::download_all_sites(GetParam(), urls, 3, [&](const std::string& url, std::size_t n) {
    read.push_back(url);  // the callback is serialised: no lock needed here
    read_bytes += n;
  });
  EXPECT_EQ(run.model, GetParam());
  ASSERT_EQ(run.bytes.size(), urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i)
    EXPECT_EQ(run.bytes[i], i % 2 == 0 ? lab::kJythonSize : lab::kDiceSize) << urls[i];
  EXPECT_EQ(run.total, 20 * (lab::kJythonSize + lab::kDiceSize));
  EXPECT_EQ(read_bytes, run.total);
  EXPECT_EQ(std::multiset<std::string>(read.begin(), read.end()), std::multiset<std::string>(urls.begin(), urls.end()));
  EXPECT_EQ(run.workers, GetParam() == Model::sequential ? 1u : 3u);
  EXPECT_GT(run.seconds, 0.0);
}

TEST_P(EveryModel, BytesUrlsComeBackInOrder) {
  lab::FixtureServer sites(1ms);
  std::vector<std::string> urls;
  for (int n : {5, 0, 70000, 1, 4096}) urls.push_back(sites.url() + "/bytes/" + std::to_string(n));
  auto run = lab::download_all_sites(GetParam(), urls);
  EXPECT_EQ(run.bytes, (std::vector<std::size_t>{5, 0, 70000, 1, 4096}));
  EXPECT_EQ(run.total, 74102u);
}

TEST_P(EveryModel, ARefusedSiteIsAnErrorNamingItsUrl) {
  std::string refused;
  {
    lab::FixtureServer gone;
    refused = gone.url() + "/dice";
  }  // stopped: its port now refuses connections
  lab::FixtureServer sites;
  std::vector<std::string> urls = lab::seed_sites(sites.url(), 6);
  urls.insert(urls.begin() + 3, refused);
  try {
    lab::download_all_sites(GetParam(), urls, 2);
    FAIL() << "no error for " << refused;
  } catch (const lab::DownloadError& e) {
    EXPECT_EQ(e.url(), refused);
    EXPECT_NE(std::string(e.what()).find("could not download " + refused + ": "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
}

TEST_P(EveryModel, AnErrorStatusIsAnErrorNamingItsUrl) {
  lab::FixtureServer sites;
  const std::string missing = sites.url() + "/no-such-page";
  try {
    lab::download_all_sites(GetParam(), {sites.url() + "/dice", missing});
    FAIL() << "no error for " << missing;
  } catch (const lab::DownloadError& e) {
    EXPECT_EQ(e.url(), missing);
    EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Download, EveryModel, testing::ValuesIn(lab::kDownloadModels), name_of);

TEST(DownloadModels, AllModelsReadTheSameBytes) {
  lab::FixtureServer sites;
  const auto urls = lab::seed_sites(sites.url(), 16);
  std::vector<std::vector<std::size_t>> all;
  for (auto m : lab::kDownloadModels) all.push_back(lab::download_all_sites(m, urls).bytes);
  for (const auto& bytes : all) EXPECT_EQ(bytes, all.front());
}

TEST(DownloadModels, ABadModelValueIsRefused) {
  EXPECT_THROW(lab::download_all_sites(Model::threads_gil, {}), std::invalid_argument);  // not a downloader model
}

}  // namespace
