// What the lab's subcommands share: the --model choice, the emulated GIL's switch interval, and the
// measurement options with their output (median, min…max, outliers, warnings, progress line, JSON).
// The rules themselves live in lab/ (model.hpp, measure.hpp); this file only parses and prints.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "lab/measure.hpp"
#include "lab/model.hpp"

namespace tandem::cli {

/// Adds --model: one of `models`, singular or plural; the value is stored under its canonical name
/// (plural, or singular when `singular`), so that the run code can lab::parse_model it as is.
CLI::Option* add_model_option(CLI::App& sub, std::string& value, std::span<const lab::Model> models,
                              bool singular = false);

/// Adds --switch-interval MS (the emulated GIL's, as sys.setswitchinterval; default 5).
CLI::Option* add_switch_interval_option(CLI::App& sub, std::string& value);
/// The interval as given (milliseconds, decimals allowed, 0.01 to 1000), or UsageError.
std::chrono::microseconds parse_switch_interval(const std::string& text);

struct MeasureCliOptions {
  std::string runs = "5";
  std::string warmup = "0";
  CLI::Option* runs_option = nullptr;
  CLI::Option* warmup_option = nullptr;
  bool given() const { return runs_option->count() > 0 || warmup_option->count() > 0; }
};
/// Adds --runs N (1..1000) and --warmup K (0..1000).
void add_measure_options(CLI::App& sub, MeasureCliOptions& options);
lab::MeasureOptions parse_measure_options(const MeasureCliOptions& options);

/// The progress line: "label  3/5 runs, 2.1s elapsed, ETA 1.4s", redrawn in place on stderr, shown
/// only when stderr is a terminal and the measurement looks longer than a second. clear() (and the
/// destructor) erase it before anything else is printed.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();
  lab::ProgressCallback callback();
  void clear();

 private:
  std::string label_;
  bool enabled_;
  std::size_t width_ = 0;  // of the line now on screen
};

/// "0.451s (0.447…0.612s, 5 runs)" — the median, then min…max.
std::string format_median(const lab::Stats& stats);
/// "0.451 0.447 0.612* 0.449 0.450" — every run, outliers marked with '*'.
std::string format_runs(const lab::Stats& stats);
/// Prints each warning as "warning: ...".
void print_warnings(const std::vector<std::string>& warnings);

/// {"runs": [seconds...], "outliers": [indices], "median", "min", "max", "warmup_runs": [seconds...]}
nlohmann::json stats_json(const lab::Stats& stats, const std::vector<double>& warmup_seconds);
/// A 64-bit integer as JSON text: jq and JavaScript read numbers as doubles and lose digits past 2^53
/// (9999999999999999 became 1e+16), so integers that can be that large are written as strings.
inline nlohmann::json u64_json(std::uint64_t v) { return std::to_string(v); }

}  // namespace tandem::cli
