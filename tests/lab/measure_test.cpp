// Repeated measurement: median and spread, outliers, the warnings that say when not to trust the
// numbers, and the run/warmup/progress bookkeeping.
#include "lab/measure.hpp"

#include "lab/sumsq.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

using tandem::lab::Conditions;
using tandem::lab::Stats;

namespace {

struct Timed {
  double wall_seconds = 0;
};

bool mentions(const std::vector<std::string>& warnings, const std::string& text) {
  for (auto& w : warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Measure, HeaderExampleRuns) {
  tandem::lab::MeasureOptions options{.runs = 5, .warmup = 1};
  auto m = tandem::lab::measure(options, [](const tandem::lab::RunSlot&) {
    return tandem::lab::sumsq_sequential(10'000'000);  // anything with a .wall_seconds
  });
  double median = m.stats.median;  // m.runs holds every measured run, m.warmup_seconds the others
  for (auto& w : tandem::lab::warnings(m.stats, tandem::lab::current_conditions(2))) std::puts(w.c_str());
  EXPECT_EQ(m.runs.size(), 5u);
  EXPECT_EQ(m.warmup_seconds.size(), 1u);
  EXPECT_GT(median, 0.0);
}

TEST(Summarize, MedianMinMaxKeepEveryRunInOrder) {
  const Stats odd = tandem::lab::summarize({0.3, 0.1, 0.2});
  EXPECT_DOUBLE_EQ(odd.median, 0.2);
  EXPECT_DOUBLE_EQ(odd.min, 0.1);
  EXPECT_DOUBLE_EQ(odd.max, 0.3);
  EXPECT_EQ(odd.seconds, (std::vector<double>{0.3, 0.1, 0.2}));
  EXPECT_DOUBLE_EQ(tandem::lab::summarize({0.4, 0.1, 0.2, 0.3}).median, 0.25);
  EXPECT_THROW(tandem::lab::summarize({}), std::invalid_argument);
}

TEST(Summarize, FlagsARunFarFromTheOthers) {
  const Stats s = tandem::lab::summarize({1.00, 1.01, 1.02, 1.03, 2.00});
  EXPECT_EQ(s.outlier, (std::vector<bool>{false, false, false, false, true}));
  EXPECT_EQ(s.outliers(), 1u);
}

TEST(Summarize, FlagsOutliersWhenMostRunsAreIdentical) {
  // The median absolute deviation is 0 here: the mean absolute deviation takes over.
  const Stats s = tandem::lab::summarize({1.0, 1.0, 1.0, 1.0, 3.0});
  EXPECT_EQ(s.outliers(), 1u);
  EXPECT_TRUE(s.outlier[4]);
  EXPECT_EQ(tandem::lab::summarize({1.0, 1.0, 1.0}).outliers(), 0u);
}

TEST(Summarize, OrdinaryNoiseAndTinyDifferencesAreNotOutliers) {
  EXPECT_EQ(tandem::lab::summarize({1.00, 1.02, 1.05, 0.98, 1.01}).outliers(), 0u);
  // Far in MAD units, but 0.7% off: a quiet machine, not a disturbed run.
  EXPECT_EQ(tandem::lab::summarize({1.000, 1.001, 1.002, 1.003, 1.010}).outliers(), 0u);
}

TEST(Warnings, NoneForLongSteadyRunsOnAnIdleMachine) {
  const auto w = tandem::lab::warnings(tandem::lab::summarize({0.50, 0.51, 0.52}), Conditions{0.5, 2});
  EXPECT_TRUE(w.empty()) << w.front();
}

TEST(Warnings, ARunUnder50MsIsTooShortToTime) {
  const auto w = tandem::lab::warnings(tandem::lab::summarize({0.049, 0.06}), Conditions{0.1, 2});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(mentions(w, "a run took 49.0 ms: under 50 ms")) << w.front();
}

TEST(Warnings, ALoadAverageAboveTheCoresMakesTheFiguresNoisy) {
  const auto w = tandem::lab::warnings(tandem::lab::summarize({0.5, 0.5}), Conditions{3.5, 2});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(mentions(w, "the load average (3.50) exceeds the 2 cores")) << w.front();
  EXPECT_TRUE(tandem::lab::warnings(tandem::lab::summarize({0.5}), Conditions{std::nullopt, 2}).empty())
      << "no load average known: no warning";
}

TEST(Warnings, TheSlowestRunMoreThanTwiceTheFastest) {
  const auto w = tandem::lab::warnings(tandem::lab::summarize({0.1, 0.25}), Conditions{0.0, 2});
  EXPECT_TRUE(mentions(w, "the slowest run took 2.5x as long as the fastest")) << w.front();
  EXPECT_FALSE(mentions(tandem::lab::warnings(tandem::lab::summarize({0.1, 0.2}), Conditions{0.0, 2}), "slowest"));
}

TEST(Warnings, OutliersAreCounted) {
  const auto w = tandem::lab::warnings(tandem::lab::summarize({1.00, 1.01, 1.02, 1.03, 2.00}), Conditions{0.0, 2});
  EXPECT_TRUE(mentions(w, "1 of 5 runs is an outlier (marked *)"));
}

TEST(Measure, RunsWarmupsThenMeasuredRunsAndReportsProgress) {
  std::vector<tandem::lab::RunSlot> slots;
  std::vector<tandem::lab::Progress> progress;
  double next = 0.1;
  auto m = tandem::lab::measure(
      {.runs = 3, .warmup = 2},
      [&](const tandem::lab::RunSlot& slot) {
        slots.push_back(slot);
        next += 0.1;
        return Timed{next};
      },
      [&](const tandem::lab::Progress& p) { progress.push_back(p); });
  ASSERT_EQ(slots.size(), 5u);
  EXPECT_TRUE(slots[0].warmup && slots[0].index == 0);
  EXPECT_TRUE(slots[1].warmup && slots[1].index == 1);
  EXPECT_TRUE(slots[2].first_measured());
  EXPECT_EQ(std::ranges::count_if(slots, [](auto& s) { return s.first_measured(); }), 1);
  EXPECT_EQ(m.warmup_seconds.size(), 2u);
  EXPECT_EQ(m.runs.size(), 3u);
  EXPECT_EQ(m.stats.seconds.size(), 3u);
  EXPECT_DOUBLE_EQ(m.stats.min, m.runs[0].wall_seconds) << "warmups are not measured";
  ASSERT_EQ(progress.size(), 5u);
  for (unsigned i = 0; i < 5; ++i) {
    EXPECT_EQ(progress[i].done, i + 1);
    EXPECT_EQ(progress[i].total, 5u);
  }
  EXPECT_DOUBLE_EQ(progress.back().eta_seconds, 0.0);
}

TEST(Measure, ZeroRunsIsAnErrorAndTheWorksExceptionPropagates) {
  EXPECT_THROW(tandem::lab::measure({.runs = 0}, [](const tandem::lab::RunSlot&) { return Timed{}; }),
               std::invalid_argument);
  int calls = 0;
  EXPECT_THROW(tandem::lab::measure({.runs = 5},
                                    [&](const tandem::lab::RunSlot&) -> Timed {
                                      ++calls;
                                      throw std::runtime_error("boom");
                                    }),
               std::runtime_error);
  EXPECT_EQ(calls, 1) << "a failing run stops the measurement";
}

TEST(Measure, CurrentConditionsKnowTheCores) {
  const auto c = tandem::lab::current_conditions(3);
  EXPECT_EQ(c.cores, 3u);
  ASSERT_TRUE(c.load_average.has_value()) << "Linux reports a load average";
  EXPECT_GE(*c.load_average, 0.0);
}
