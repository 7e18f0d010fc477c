// lab/measure.hpp — repeated measurement you can trust (Python: timeit.repeat; the tool: hyperfine).
//
// One run of a busy machine says little: the same `primes --sweep` gave 2.03x, 1.24x and 0.94x on
// three runs. So every timed command runs its work `warmup` times unmeasured, then `runs` times, and
// reports the median with min…max, flags outliers, and says when the numbers should not be trusted.
//
//   tandem::lab::MeasureOptions options{.runs = 5, .warmup = 1};
//   auto m = tandem::lab::measure(options, [](const tandem::lab::RunSlot&) {
//     return tandem::lab::sumsq_sequential(10'000'000);  // anything with a .wall_seconds
//   });
//   double median = m.stats.median;  // m.runs holds every measured run, m.warmup_seconds the others
//   for (auto& w : tandem::lab::warnings(m.stats, tandem::lab::current_conditions(2))) std::puts(w.c_str());
//
// The rules, each with its reason:
//  - median, not mean: one descheduled run moves the mean, not the median;
//  - an outlier is a run whose modified z-score (Iglewicz & Hoaglin: 0.6745·|x − median| / MAD)
//    exceeds 3.5 and that differs from the median by more than 10% (on a quiet machine runs agree to
//    a few per mille, and the score alone would flag a 1% difference);
//  - warnings: a run under 50 ms (timer and scheduler noise are of that order: the seed's trivial
//    input printed "15.33x" for runs of 0.00 s), a load average above the core count (other programs
//    competed), the slowest run more than 2x the fastest (the machine was busy or the work varies).
// Failure: runs == 0 throws std::invalid_argument; an exception from the work propagates at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace tandem::lab {

inline constexpr double kTooShortSeconds = 0.050;
inline constexpr double kMaxSpread = 2.0;
inline constexpr double kOutlierScore = 3.5;
inline constexpr double kOutlierMinDeviation = 0.10;

struct MeasureOptions {
  unsigned runs = 5;    // measured runs, at least 1
  unsigned warmup = 0;  // unmeasured runs before them (caches, page faults, lazily started workers)
};

/// Which run the work is asked for: the work may print only on the first measured one.
struct RunSlot {
  bool warmup = false;
  unsigned index = 0;  // among the warmups, or among the measured runs
  bool first_measured() const noexcept { return !warmup && index == 0; }
};

/// Where a measurement stands after each run (warmups included), for a progress line.
struct Progress {
  unsigned done = 0;
  unsigned total = 0;
  double elapsed_seconds = 0;
  double eta_seconds = 0;  // at the mean pace so far
};
using ProgressCallback = std::function<void(const Progress&)>;

struct Stats {
  std::vector<double> seconds;  // every measured run, in order
  std::vector<bool> outlier;    // per run
  double median = 0;
  double min = 0;
  double max = 0;
  std::size_t outliers() const;
};

/// Median, min, max and outliers of the runs' seconds (std::invalid_argument when empty).
Stats summarize(std::vector<double> seconds);

/// What the machine was doing: the 1-minute load average (none where the OS does not say) and the
/// cores this process may use.
struct Conditions {
  std::optional<double> load_average;
  unsigned cores = 1;
};
Conditions current_conditions(unsigned cores);

/// The reasons not to trust these numbers, as sentences; empty when there are none.
std::vector<std::string> warnings(const Stats& stats, const Conditions& conditions);
/// The load-average warning alone (for measurements whose samples are not seconds).
std::optional<std::string> load_warning(const Conditions& conditions);

template <class R>
struct Measurement {
  std::vector<R> runs;  // every measured run's result, in order
  std::vector<double> warmup_seconds;
  Stats stats;
};

/// Runs `work(slot)` options.warmup + options.runs times, one after another; the result type needs a
/// `wall_seconds` (the work times itself: setup such as starting a pool can stay outside).
template <class F>
auto measure(const MeasureOptions& options, F&& work, const ProgressCallback& progress = {})
    -> Measurement<std::decay_t<std::invoke_result_t<F&, const RunSlot&>>> {
  using R = std::decay_t<std::invoke_result_t<F&, const RunSlot&>>;
  if (options.runs == 0) throw std::invalid_argument("a measurement needs at least one run");
  Measurement<R> m;
  const unsigned total = options.warmup + options.runs;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<double> seconds;
  for (unsigned i = 0; i < total; ++i) {
    const bool warmup = i < options.warmup;
    R r = work(RunSlot{warmup, warmup ? i : i - options.warmup});
    if (warmup) {
      m.warmup_seconds.push_back(r.wall_seconds);
    } else {
      seconds.push_back(r.wall_seconds);
      m.runs.push_back(std::move(r));
    }
    if (progress) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress(Progress{i + 1, total, elapsed, elapsed / (i + 1) * (total - i - 1)});
    }
  }
  m.stats = summarize(std::move(seconds));
  return m;
}

}  // namespace tandem::lab
