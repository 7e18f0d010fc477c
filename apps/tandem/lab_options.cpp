#include "lab_options.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "cli.hpp"

namespace tandem::cli {

CLI::Option* add_model_option(CLI::App& sub, std::string& value, std::span<const lab::Model> models, bool singular) {
  std::vector<lab::Model> allowed(models.begin(), models.end());
  std::string shown = "{";
  for (lab::Model m : models)
    shown += (shown.size() > 1 ? "," : "") + std::string(singular ? lab::singular_name(m) : lab::name(m));
  shown += "}";
  CLI::Validator model_name(
      [allowed, singular, shown](std::string& text) {
        try {
          const lab::Model m = lab::parse_model(text, allowed);
          text = std::string(singular ? lab::singular_name(m) : lab::name(m));
          return std::string();
        } catch (const std::invalid_argument& e) {
          try {
            lab::parse_model(text);  // a model, but not one this program runs under: the lab says so
            return std::string(e.what());
          } catch (const std::invalid_argument&) {
            return "'" + text + "' is not one of " + shown + " (singular or plural)";
          }
        }
      },
      shown, "model");
  return sub.add_option("--model", value, "Execution model (singular or plural names)")
      ->type_name("MODEL")
      ->transform(model_name)
      ->capture_default_str();
}

CLI::Option* add_switch_interval_option(CLI::App& sub, std::string& value) {
  return sub
      .add_option("--switch-interval", value,
                  "threads-gil: milliseconds a thread may hold the emulated GIL while another waits "
                  "(Python's sys.setswitchinterval)")
      ->type_name("MS")
      ->capture_default_str();
}

std::chrono::microseconds parse_switch_interval(const std::string& text) {
  const double ms = parse_decimal("--switch-interval", text, 0.01, 1000);
  return std::chrono::microseconds(std::llround(ms * 1000));
}

void add_measure_options(CLI::App& sub, MeasureCliOptions& o) {
  o.runs_option = sub.add_option("--runs", o.runs, "Measured runs; the median, min…max and every run are reported")
                      ->type_name("UINT")
                      ->capture_default_str();
  o.warmup_option = sub.add_option("--warmup", o.warmup, "Unmeasured runs before them")
                        ->type_name("UINT")
                        ->capture_default_str();
}

lab::MeasureOptions parse_measure_options(const MeasureCliOptions& o) {
  lab::MeasureOptions m;
  m.runs = static_cast<unsigned>(parse_whole_number("--runs", o.runs, 1, 1000));
  m.warmup = static_cast<unsigned>(parse_whole_number("--warmup", o.warmup, 0, 1000));
  return m;
}

// ---- progress ---------------------------------------------------------------------------------------

ProgressLine::ProgressLine(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() { clear(); }

lab::ProgressCallback ProgressLine::callback() {
  if (!enabled_) return {};
  return [this](const lab::Progress& p) {
    if (p.done == p.total || p.elapsed_seconds + p.eta_seconds < 1.0) return clear();
    std::fflush(stdout);  // what the work printed comes first
    const std::string line = fmt::format("{}  {}/{} runs, {:.1f}s elapsed, ETA {:.1f}s", label_, p.done, p.total,
                                         p.elapsed_seconds, p.eta_seconds);
    fmt::print(stderr, "\r{:<{}}", line, width_);
    width_ = std::max(width_, line.size());
  };
}

void ProgressLine::clear() {
  if (width_ == 0) return;
  fmt::print(stderr, "\r{:{}}\r", "", width_);
  width_ = 0;
}

// ---- results ----------------------------------------------------------------------------------------

std::string format_median(const lab::Stats& s) {
  return fmt::format("{:.3f}s ({:.3f}…{:.3f}s, {} run{})", s.median, s.min, s.max, s.seconds.size(),
                     s.seconds.size() == 1 ? "" : "s");
}

std::string format_runs(const lab::Stats& s) {
  std::string out;
  for (std::size_t i = 0; i < s.seconds.size(); ++i)
    out += fmt::format("{}{:.3f}{}", i ? " " : "", s.seconds[i], s.outlier[i] ? "*" : "");
  return out;
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) fmt::print("warning: {}\n", w);
}

nlohmann::json stats_json(const lab::Stats& s, const std::vector<double>& warmup_seconds) {
  auto outliers = nlohmann::json::array();
  for (std::size_t i = 0; i < s.outlier.size(); ++i)
    if (s.outlier[i]) outliers.push_back(i);
  return {{"runs", s.seconds},  {"outliers", outliers}, {"median", s.median},
          {"min", s.min},       {"max", s.max},         {"warmup_runs", warmup_seconds}};
}

}  // namespace tandem::cli
