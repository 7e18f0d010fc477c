#include "lab/measure.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace tandem::lab {

namespace {

double median_of(std::vector<double> v) {
  std::ranges::sort(v);
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::size_t Stats::outliers() const { return static_cast<std::size_t>(std::ranges::count(outlier, true)); }

Stats summarize(std::vector<double> seconds) {
  if (seconds.empty()) throw std::invalid_argument("no runs to summarize");
  Stats s;
  s.median = median_of(seconds);
  s.min = *std::ranges::min_element(seconds);
  s.max = *std::ranges::max_element(seconds);
  std::vector<double> deviation;
  for (double x : seconds) deviation.push_back(std::abs(x - s.median));
  // The score's scale: the median absolute deviation, or — when more than half the runs sit exactly
  // on the median — the mean absolute deviation (Iglewicz & Hoaglin's fallback, 1.253314·MeanAD).
  double scale = median_of(deviation) / 0.6745;
  if (scale == 0) {
    double sum = 0;
    for (double d : deviation) sum += d;
    scale = 1.253314 * sum / static_cast<double>(deviation.size());
  }
  for (double d : deviation)
    s.outlier.push_back(scale > 0 && d / scale > kOutlierScore && d > kOutlierMinDeviation * s.median);
  s.seconds = std::move(seconds);
  return s;
}

Conditions current_conditions(unsigned cores) {
  Conditions c;
  c.cores = cores;
  double load[1];
  if (::getloadavg(load, 1) == 1) c.load_average = load[0];
  return c;
}

std::optional<std::string> load_warning(const Conditions& conditions) {
  if (!conditions.load_average || *conditions.load_average <= conditions.cores) return std::nullopt;
  return fmt::format("the load average ({:.2f}) exceeds the {} cores: other programs competed for the CPU, so "
                     "the figures are noisy",
                     *conditions.load_average, conditions.cores);
}

std::vector<std::string> warnings(const Stats& stats, const Conditions& conditions) {
  std::vector<std::string> out;
  if (stats.min < kTooShortSeconds)
    out.push_back(fmt::format("a run took {:.1f} ms: under {:.0f} ms the clock and the scheduler's noise are "
                              "of the same order as the work; give it more work to time",
                              stats.min * 1e3, kTooShortSeconds * 1e3));
  if (auto load = load_warning(conditions)) out.push_back(std::move(*load));
  if (stats.min > 0 && stats.max / stats.min > kMaxSpread)
    out.push_back(fmt::format("the slowest run took {:.1f}x as long as the fastest ({:.3f}s…{:.3f}s): the "
                              "machine was busy or the work varies",
                              stats.max / stats.min, stats.min, stats.max));
  if (const auto n = stats.outliers(); n > 0)
    out.push_back(fmt::format("{} of {} runs {} (marked *): something else ran meanwhile", n, stats.seconds.size(),
                              n == 1 ? "is an outlier" : "are outliers"));
  return out;
}

}  // namespace tandem::lab
