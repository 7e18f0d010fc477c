// The latency table: every row measured, in the seed's order, with the seed's figures where it has one.
#include "lab/latency.hpp"

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

TEST(Latency, HeaderExampleRuns) {
  for (const auto& row : tandem::lab::measure_latency({.runs = 3, .quick = true}))
    std::printf("%-40s %10.1f ns\n", row.name.c_str(), row.stats.median);
}

const tandem::lab::LatencyRow& row_named(const std::vector<tandem::lab::LatencyRow>& rows, const std::string& name) {
  auto it = std::ranges::find(rows, name, &tandem::lab::LatencyRow::name);
  if (it == rows.end()) throw std::runtime_error("no row " + name);
  return *it;
}

TEST(Latency, EveryRowIsMeasuredWithOneSamplePerBatchOrSaysWhyNot) {
  unsigned progress_calls = 0;
  // No folder where O_DIRECT can work: that row must say so, and every other row is measured.
  const auto rows = tandem::lab::measure_latency({.runs = 2, .quick = true, .direct_io_dirs = {"/nonexistent/dir"}},
                                                 [&](const tandem::lab::Progress&) { ++progress_calls; });
  ASSERT_GE(rows.size(), 10u);
  EXPECT_EQ(progress_calls, rows.size() * 2);
  EXPECT_EQ(rows.front().name, "L1 cache reference");
  EXPECT_EQ(rows.front().seed_ns, 0.5);
  const auto& direct = row_named(rows, "Read 1 MB from a file (O_DIRECT)");
  EXPECT_EQ(direct.unavailable, "O_DIRECT: /nonexistent/dir: No such file or directory");
  EXPECT_TRUE(direct.stats.seconds.empty());
  EXPECT_EQ(direct.seed_ns, 1'000'000);  // the seed's "read 1 MB sequentially from SSD"
  for (const auto& row : rows) {
    if (&row == &direct) continue;
    EXPECT_EQ(row.unavailable, "") << row.name;
    EXPECT_EQ(row.stats.seconds.size(), 2u) << row.name;
    EXPECT_GT(row.stats.median, 0.0) << row.name;
  }
}

TEST(Latency, TheFutexRowsStandBesideTheMutexRows) {
  const auto rows = tandem::lab::measure_latency({.runs = 1, .quick = true});
  std::vector<std::string> names;
  for (const auto& row : rows) names.push_back(row.name);
  const auto mutex = std::ranges::find(names, "Mutex lock/unlock (two threads contending)");
  ASSERT_NE(mutex, names.end());
  ASSERT_LT(mutex + 2, names.end());
  EXPECT_EQ(mutex[1], "Futex wake, no waiter");
  EXPECT_EQ(mutex[2], "Futex wake of a sleeping thread");
  // Where a folder takes O_DIRECT, the row is measured and says where it read.
  const auto place = tandem::lab::probe_direct_io(tandem::lab::direct_io_dirs());
  const auto& direct = row_named(rows, "Read 1 MB from a file (O_DIRECT)");
  if (place.place.empty()) {
    EXPECT_EQ(direct.unavailable, place.refusal);
  } else {
    EXPECT_EQ(direct.unavailable, "");
    EXPECT_EQ(direct.note, "read from " + place.place);
    EXPECT_EQ(direct.stats.seconds.size(), 1u);
  }
}

TEST(Latency, ODirectIsNotTriedOnMemoryOrWhereNoFileCanBeMade) {
  const auto none = tandem::lab::probe_direct_io({"/nonexistent/a", "/proc"});
  EXPECT_EQ(none.place, "");
  EXPECT_NE(none.refusal.find("O_DIRECT: /nonexistent/a: No such file or directory; /proc (proc): cannot create a file there ("), std::string::npos)
      << none.refusal;
  struct statfs fs{};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
    const auto shm = tandem::lab::probe_direct_io({"/dev/shm"});
    EXPECT_EQ(shm.refusal, "O_DIRECT: /dev/shm: tmpfs, memory with no disk under it");
  }
  const auto dirs = tandem::lab::direct_io_dirs();
  EXPECT_NE(std::ranges::find(dirs, "/var/tmp"), dirs.end());
  EXPECT_EQ(dirs.back(), "/tmp");
}

TEST(Latency, ZeroRunsIsAnError) {
  EXPECT_THROW(tandem::lab::measure_latency({.runs = 0}), std::invalid_argument);
}

TEST(Latency, CacheSizesGrowWithTheLevel) {
  const auto c = tandem::lab::cache_sizes();
  if (c.l1d == 0 || c.l2 == 0) GTEST_SKIP() << "the OS does not report the cache sizes";
  EXPECT_LT(c.l1d, c.l2);
  EXPECT_GE(tandem::lab::cpu_ghz(), 0.0);
}

TEST(Latency, WarningsNameTheLoadAndTheUnsteadyRows) {
  std::vector<tandem::lab::LatencyRow> rows{{"steady", 0, tandem::lab::summarize({10, 11, 12})},
                                            {"unsteady", 0, tandem::lab::summarize({10, 25})}};
  const auto quiet = tandem::lab::latency_warnings(rows, {0.5, 2});
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0], "'unsteady': the slowest batch took 2.5x as long as the fastest");
  const auto busy = tandem::lab::latency_warnings(rows, {4.0, 2});
  ASSERT_EQ(busy.size(), 2u);
  EXPECT_NE(busy[0].find("the load average (4.00) exceeds the 2 cores"), std::string::npos);
}
