// The latency table: every row measured, in the seed's order, with the seed's figures where it has one.
#include "lab/latency.hpp"

#include <gtest/gtest.h>

#include <cstdio>

TEST(Latency, HeaderExampleRuns) {
  for (const auto& row : tandem::lab::measure_latency({.runs = 3, .quick = true}))
    std::printf("%-40s %10.1f ns\n", row.name.c_str(), row.stats.median);
}

TEST(Latency, EveryRowIsMeasuredWithOneSamplePerBatch) {
  unsigned progress_calls = 0;
  const auto rows = tandem::lab::measure_latency({.runs = 2, .quick = true},
                                                 [&](const tandem::lab::Progress&) { ++progress_calls; });
  ASSERT_GE(rows.size(), 10u);
  EXPECT_EQ(progress_calls, rows.size() * 2);
  EXPECT_EQ(rows.front().name, "L1 cache reference");
  EXPECT_EQ(rows.front().seed_ns, 0.5);
  for (const auto& row : rows) {
    EXPECT_EQ(row.stats.seconds.size(), 2u) << row.name;
    EXPECT_GT(row.stats.median, 0.0) << row.name;
  }
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
