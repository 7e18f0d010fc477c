// lab/report.cpp — results.json + trace.json → report.html (see lab/report.hpp).
//
// Data flow:  read (parse_results, parse_trace: JSON → plain structs, every field checked with its
// path) → derive (fastest model, GIL verdicts, hand-offs, agreement with CPython) → draw (SVG and
// HTML strings, every text escaped). Nothing is drawn from a field that was not checked.
#include "lab/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

namespace tandem::lab {
namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Reading: each accessor names the file and the path of the field when it throws.

class Reader {
 public:
  Reader(const json& value, std::string file, std::string path)
      : value_(value), file_(std::move(file)), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ReportError(fmt::format("{}: {}{}{}", file_, path_, path_.empty() ? "" : ": ", what));
  }
  bool has(const char* key) const { return value_.is_object() && value_.contains(key) && !value_[key].is_null(); }

  Reader at(const char* key) const {
    if (!value_.is_object()) fail("expected an object");
    if (!value_.contains(key)) fail(fmt::format("\"{}\" is missing", key));
    return Reader(value_[key], file_, path_.empty() ? key : fmt::format("{}.{}", path_, key));
  }
  std::vector<Reader> items() const {
    if (!value_.is_array()) fail("expected an array");
    std::vector<Reader> out;
    for (std::size_t i = 0; i < value_.size(); ++i) out.emplace_back(value_[i], file_, fmt::format("{}[{}]", path_, i));
    return out;
  }
  std::vector<Reader> items_or_empty(const char* key) const { return has(key) ? at(key).items() : std::vector<Reader>{}; }

  std::string str() const {
    if (!value_.is_string()) fail("expected a string");
    return value_.get<std::string>();
  }
  std::string str(const char* key, std::string fallback = {}) const { return has(key) ? at(key).str() : fallback; }
  double number() const {
    if (!value_.is_number()) fail("expected a number");
    double v = value_.get<double>();
    if (!std::isfinite(v)) fail("expected a finite number");
    return v;
  }
  double number(const char* key) const { return at(key).number(); }
  std::optional<double> optional_number(const char* key) const {
    return has(key) ? std::optional<double>(at(key).number()) : std::nullopt;
  }
  // 64-bit integers may be written as strings (the CLI's JSON rule) or as numbers.
  long long integer() const {
    if (value_.is_number_integer()) return value_.get<long long>();
    if (value_.is_number_float()) {
      double v = value_.get<double>();
      if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return static_cast<long long>(v);
    }
    if (value_.is_string()) {
      const auto& s = value_.get_ref<const std::string&>();
      std::size_t used = 0;
      try {
        long long v = std::stoll(s, &used);
        if (used == s.size()) return v;
      } catch (const std::exception&) {
      }
    }
    fail("expected an integer (a number or a string of digits)");
  }
  long long integer(const char* key) const { return at(key).integer(); }
  std::optional<long long> optional_integer(const char* key) const {
    return has(key) ? std::optional<long long>(at(key).integer()) : std::nullopt;
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!value_[key].is_boolean()) at(key).fail("expected true or false");
    return value_[key].get<bool>();
  }

 private:
  const json& value_;
  std::string file_;
  std::string path_;
};

struct Timing {
  double median = 0, min = 0, max = 0, speedup = 0;
};

// CPython's cases may have a null speedup (no sequential run to divide by): read as 0, shown as "–".
Timing read_timing(const Reader& r, bool speedup_may_be_null = false) {
  double speedup = speedup_may_be_null && !r.has("speedup") ? 0 : r.number("speedup");
  Timing t{r.number("median_s"), r.number("min_s"), r.number("max_s"), speedup};
  if (t.median < 0 || t.min < 0 || t.max < 0 || t.speedup < 0) r.fail("times and speedups must not be negative");
  return t;
}

struct Case {
  std::string model;
  long long workers = 1;
  std::vector<double> runs;
  Timing t;
  std::vector<std::string> warnings;
  std::optional<long long> trace_pid;
};

struct SweepPoint {
  std::string model;
  long long workers = 1;
  Timing t;
};

struct Program {
  std::string name, title, kind;
  std::vector<Case> cases;
  std::vector<SweepPoint> sweep;
};

struct LatencyRow {
  std::string name;
  double median = 0, min = 0, max = 0;
  std::optional<double> seed, instructions;
};

struct PythonCase {
  std::string program, model;
  long long workers = 1;
  Timing t;
  std::vector<std::string> warnings;  // e.g. CPython's answer differed from tandem's
};

struct Python {
  std::string interpreter, version;
  std::vector<PythonCase> cases;
};

struct Machine {
  std::optional<long long> cores;
  std::string cpu_model;
  std::optional<double> cpu_mhz, load_start, load_end;
};

struct Results {
  std::string version, created;
  bool quick = false;
  std::optional<long long> runs, warmup;
  Machine machine;
  std::vector<Program> programs;
  std::vector<LatencyRow> latency;
  std::optional<Python> python;
  // Optional extensions written by `tandem lab`: warnings about the whole run (the load average)
  // and about the latency table.
  std::vector<std::string> warnings, latency_warnings;
};

json parse_json(std::string_view text, const std::string& file, const json::parser_callback_t& on_parsed = nullptr) {
  try {
    return json::parse(text.begin(), text.end(), on_parsed);
  } catch (const json::parse_error& e) {
    throw ReportError(fmt::format("{}: not valid JSON: {}", file, e.what()));
  }
}

Results parse_results(std::string_view text) {
  const std::string file = "results.json";
  json doc = parse_json(text, file);
  Reader root(doc, file, "");
  if (!doc.is_object()) root.fail("expected a JSON object");
  std::string schema = root.at("schema").str();
  if (schema != "tandem-lab/1")
    root.at("schema").fail(fmt::format("is \"{}\"; this report reads \"tandem-lab/1\"", schema));

  Results r;
  r.version = root.str("tandem_version");
  r.created = root.str("created");
  r.quick = root.boolean("quick", false);
  r.runs = root.optional_integer("runs");
  for (const Reader& w : root.items_or_empty("warnings")) r.warnings.push_back(w.str());
  for (const Reader& w : root.items_or_empty("latency_warnings")) r.latency_warnings.push_back(w.str());
  r.warmup = root.optional_integer("warmup");
  if (root.has("machine")) {
    Reader m = root.at("machine");
    r.machine.cores = m.optional_integer("cores");
    r.machine.cpu_model = m.str("cpu_model");
    r.machine.cpu_mhz = m.optional_number("cpu_mhz");
    r.machine.load_start = m.optional_number("load_average_start");
    r.machine.load_end = m.optional_number("load_average_end");
  }
  for (const Reader& p : root.items_or_empty("programs")) {
    Program program;
    program.name = p.at("name").str();
    program.title = p.str("title", program.name);
    program.kind = p.str("kind", "cpu");
    for (const Reader& c : p.items_or_empty("cases")) {
      Case k;
      k.model = c.at("model").str();
      k.workers = c.has("workers") ? c.integer("workers") : 1;
      for (const Reader& run : c.items_or_empty("runs_s")) k.runs.push_back(run.number());
      k.t = read_timing(c);
      for (const Reader& w : c.items_or_empty("warnings")) k.warnings.push_back(w.str());
      k.trace_pid = c.optional_integer("trace_pid");
      program.cases.push_back(std::move(k));
    }
    for (const Reader& s : p.items_or_empty("sweep")) {
      SweepPoint point{s.at("model").str(), s.integer("workers"), read_timing(s)};
      program.sweep.push_back(std::move(point));
    }
    r.programs.push_back(std::move(program));
  }
  for (const Reader& l : root.items_or_empty("latency")) {
    LatencyRow row{l.at("name").str(), l.number("median_ns"), 0, 0, l.optional_number("seed_ns"),
                   l.optional_number("instructions")};
    row.min = l.has("min_ns") ? l.number("min_ns") : row.median;
    row.max = l.has("max_ns") ? l.number("max_ns") : row.median;
    if (row.seed && *row.seed <= 0) row.seed.reset();  // 0: a row the seed's table does not have
    r.latency.push_back(std::move(row));
  }
  if (root.has("python")) {
    Reader py = root.at("python");
    Python p{py.str("interpreter"), py.str("version"), {}};
    for (const Reader& c : py.items_or_empty("cases")) {
      PythonCase k{c.at("program").str(), c.at("model").str(), c.has("workers") ? c.integer("workers") : 1,
                   read_timing(c, true), {}};
      for (const Reader& w : c.items_or_empty("warnings")) k.warnings.push_back(w.str());
      p.cases.push_back(std::move(k));
    }
    r.python = std::move(p);
  }
  return r;
}

struct Slice {
  double ts = 0, dur = 0;
  std::string name;
  bool gil = false;
};

struct Lane {
  std::string name;
  std::vector<Slice> slices;
};

struct Timeline {
  std::string name;
  std::map<long long, Lane> lanes;  // by tid
};

void add_trace_event(const Reader& e, std::map<long long, Timeline>& timelines) {
  std::string ph = e.at("ph").str();
  long long pid = e.integer("pid");
  long long tid = e.has("tid") ? e.integer("tid") : 0;
  if (ph == "M") {
    std::string what = e.str("name");
    std::string name = e.has("args") && e.at("args").has("name") ? e.at("args").at("name").str() : "";
    if (what == "process_name") timelines[pid].name = name;
    if (what == "thread_name" && tid != 0) timelines[pid].lanes[tid].name = name;
  } else if (ph == "X") {
    if (tid == 0) e.fail("tid 0 is unused; a slice names its lane by tid");
    Slice s{e.number("ts"), e.number("dur"), e.str("name"), e.str("cat") == "gil"};
    if (s.dur < 0) e.at("dur").fail("must not be negative");
    timelines[pid].lanes[tid].slices.push_back(std::move(s));
  }
  // Other phases (instant events, counters) are not drawn.
}

// Each event is taken and dropped as the parser finishes it, so a large trace is never held as a
// JSON tree: a 34 MB trace of 342,000 slices took 433 MB and 3.5 s that way, 102 MB and 1.3 s so.
std::map<long long, Timeline> parse_trace(std::string_view text) {
  std::map<long long, Timeline> timelines;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return timelines;
  const std::string file = "trace.json";
  bool bare_array = false;  // the Chrome trace format's other form: the events array alone
  std::string top_key;
  std::size_t index = 0;
  json::parser_callback_t on_parsed = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 0 && event == json::parse_event_t::array_start) bare_array = true;
    if (depth == 1 && event == json::parse_event_t::key) top_key = parsed.get<std::string>();
    bool in_events = bare_array || top_key == "traceEvents";
    bool is_event = depth == (bare_array ? 1 : 2) && in_events &&
                    (event == json::parse_event_t::object_end || event == json::parse_event_t::value);
    if (!is_event) return true;
    Reader e(parsed, file, fmt::format("{}[{}]", bare_array ? "" : "traceEvents", index++));
    if (!parsed.is_object()) e.fail("expected an object");
    add_trace_event(e, timelines);
    return false;
  };
  parse_json(text, file, on_parsed);
  for (auto& [pid, timeline] : timelines)
    for (auto& [tid, lane] : timeline.lanes)
      std::stable_sort(lane.slices.begin(), lane.slices.end(), [](const Slice& a, const Slice& b) { return a.ts < b.ts; });
  return timelines;
}

// ---------------------------------------------------------------------------------------------
// Formatting.

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string seconds_text(double s) {
  if (s == 0) return "0";
  if (s >= 1) return fmt::format("{:.2f} s", s);
  if (s >= 1e-3) return fmt::format("{:.1f} ms", s * 1e3);
  return fmt::format("{:.0f} µs", s * 1e6);
}

std::string ns_text(double ns) {
  if (ns >= 1e9) return fmt::format("{:.2f} s", ns / 1e9);
  if (ns >= 1e6) return fmt::format("{:.2f} ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.2f} µs", ns / 1e3);
  return fmt::format("{:.1f} ns", ns);
}

// Two decimals, or two significant digits below 0.1x (a pool's start-up over a tiny input: 0.0012x).
std::string speedup_text(double x) { return x >= 0.1 || x == 0 ? fmt::format("{:.2f}x", x) : fmt::format("{:.2g}x", x); }

std::string workers_text(long long n) { return fmt::format("{} worker{}", n, n == 1 ? "" : "s"); }

std::string percent_text(double fraction) { return fmt::format("{:.0f}%", fraction * 100); }

std::string case_label(const Case& c) {
  return c.model == "sequential" ? c.model : fmt::format("{} ×{}", c.model, c.workers);
}

// The same model always gets the same colour, in every chart.
std::string model_colour(std::string_view model) {
  if (model == "sequential") return "#7f7f7f";
  if (model == "threads") return "#1f77b4";
  if (model == "threads-gil") return "#d62728";
  if (model == "processes") return "#2ca02c";
  if (model == "coroutines") return "#9467bd";
  if (model == "mpi") return "#8c564b";
  return "#17becf";
}

std::string slug(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return out;
}

// Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks over [0, top].
double tick_step(double top, int count) {
  if (top <= 0) return 1;
  double raw = top / count;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

// ---------------------------------------------------------------------------------------------
// Deriving.

const Case* sequential_case(const Program& p) {
  for (const Case& c : p.cases)
    if (c.model == "sequential") return &c;
  return nullptr;
}

const Case* find_case(const Program& p, std::string_view model) {
  for (const Case& c : p.cases)
    if (c.model == model) return &c;
  return nullptr;
}

std::vector<const Case*> by_median(const Program& p) {
  std::vector<const Case*> order;
  for (const Case& c : p.cases) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const Case* a, const Case* b) { return a->t.median < b->t.median; });
  return order;
}

// Fraction of the span [start, end] during which at least two lanes ran a task: parallel bars under
// threads and processes, ~0 under threads-gil and coroutines.
double overlap_fraction(const Timeline& t, double start, double end) {
  std::vector<std::pair<double, int>> edges;
  for (const auto& [tid, lane] : t.lanes)
    for (const Slice& s : lane.slices)
      if (!s.gil && s.dur > 0) {
        edges.emplace_back(s.ts, +1);
        edges.emplace_back(s.ts + s.dur, -1);
      }
  if (edges.empty() || end <= start) return 0;
  std::sort(edges.begin(), edges.end());
  double covered = 0, last = start;
  int running = 0;
  for (const auto& [at, delta] : edges) {
    if (running >= 2) covered += at - last;
    last = at;
    running += delta;
  }
  return covered / (end - start);
}

struct GilStats {
  std::size_t holds = 0, handoffs = 0;
  double median_hold_us = 0;
};

GilStats gil_stats(const Timeline& t) {
  std::vector<std::pair<double, long long>> holds;  // (ts, tid)
  std::vector<double> durations;
  for (const auto& [tid, lane] : t.lanes)
    for (const Slice& s : lane.slices)
      if (s.gil) {
        holds.emplace_back(s.ts, tid);
        durations.push_back(s.dur);
      }
  GilStats g;
  g.holds = holds.size();
  if (holds.empty()) return g;
  std::sort(holds.begin(), holds.end());
  for (std::size_t i = 1; i < holds.size(); ++i)
    if (holds[i].second != holds[i - 1].second) ++g.handoffs;
  std::sort(durations.begin(), durations.end());
  std::size_t n = durations.size();
  g.median_hold_us = n % 2 ? durations[n / 2] : (durations[n / 2 - 1] + durations[n / 2]) / 2;
  return g;
}

// tandem's counterpart of a CPython case: CPython's threads run under its GIL, so they compare with
// threads-gil; the others with the model of the same name.
std::string tandem_model_for_python(std::string_view model) {
  return model == "threads" || model == "thread" ? "threads-gil" : std::string(model);
}

// tandem's case, else its sweep entry, with CPython's worker count: a speedup is compared only at
// the same width (as lab/python_peers.cpp's compare_speedups does).
std::optional<Timing> tandem_timing(const Results& r, const PythonCase& pc) {
  std::string model = tandem_model_for_python(pc.model);
  for (const Program& p : r.programs) {
    if (p.name != pc.program) continue;
    for (const Case& c : p.cases)
      if (c.model == model && (c.workers == pc.workers || model == "sequential")) return c.t;
    for (const SweepPoint& s : p.sweep)
      if (s.model == model && s.workers == pc.workers) return s.t;
  }
  return std::nullopt;
}

constexpr double kAgreement = 0.15;  // the issue's "within ~15 %"
constexpr double kNoSpeedup = 1.10;  // the issue's "≤ 1.1x over sequential"

// ---------------------------------------------------------------------------------------------
// Drawing. Geometry constants are in SVG user units (CSS pixels at the default size).

constexpr double kChartWidth = 760, kLabelWidth = 150, kPlotRight = 680;

void draw_cases_chart(std::string& out, const Program& p) {
  const double row = 30, top = 10, plot = kPlotRight - kLabelWidth;
  double longest = 0;
  for (const Case& c : p.cases) longest = std::max({longest, c.t.max, c.t.median});
  if (longest <= 0) longest = 1;
  double step = tick_step(longest, 5);
  double scale_top = std::ceil(longest / step) * step;
  auto x = [&](double s) { return kLabelWidth + s / scale_top * plot; };
  double height = top + row * static_cast<double>(p.cases.size()) + 30;
  out += fmt::format(
      "<svg class=\"chart cases\" data-program=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"median time per model for {}\">\n",
      escape(p.name), kChartWidth, height, kChartWidth, height, escape(p.name));
  double axis_y = top + row * static_cast<double>(p.cases.size()) + 4;
  for (double t = 0; t <= scale_top + step / 2; t += step) {
    out += fmt::format("<line class=\"grid\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>", x(t), top - 4, axis_y);
    out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x(t), axis_y + 14, escape(seconds_text(t)));
  }
  for (std::size_t i = 0; i < p.cases.size(); ++i) {
    const Case& c = p.cases[i];
    double y = top + row * static_cast<double>(i);
    double mid = y + 9;
    out += fmt::format("<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>", kLabelWidth - 8, mid + 4, escape(case_label(c)));
    out += fmt::format(
        "<rect class=\"bar\" data-model=\"{}\" data-workers=\"{}\" data-median=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" "
        "width=\"{:.1f}\" height=\"18\" fill=\"{}\"><title>{}: median {} (min {}, max {}), {} runs</title></rect>",
        escape(c.model), c.workers, c.t.median, kLabelWidth, y, x(c.t.median) - kLabelWidth, model_colour(c.model),
        escape(case_label(c)), escape(seconds_text(c.t.median)), escape(seconds_text(c.t.min)),
        escape(seconds_text(c.t.max)), c.runs.size());
    out += fmt::format(
        "<g class=\"whisker\" data-model=\"{}\"><line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/><line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" "
        "y2=\"{:.1f}\"/></g>",
        escape(c.model), x(c.t.min), x(c.t.max), mid, mid, x(c.t.min), x(c.t.min), mid - 5, mid + 5, x(c.t.max),
        x(c.t.max), mid - 5, mid + 5);
    out += fmt::format("<text class=\"speedup\" data-model=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\">{} · {}</text>\n",
                       escape(c.model), std::max(x(c.t.max), x(c.t.median)) + 6, mid + 4,
                       escape(speedup_text(c.t.speedup)), escape(seconds_text(c.t.median)));
  }
  out += "</svg>\n";
}

void draw_sweep_chart(std::string& out, const Program& p) {
  const double left = 60, right = 560, top = 15, bottom = 235, width = 720, height = 270;
  long long max_workers = 1;
  double max_speedup = 1;
  std::vector<std::string> models;  // in order of first appearance
  for (const SweepPoint& s : p.sweep) {
    max_workers = std::max(max_workers, s.workers);
    max_speedup = std::max(max_speedup, s.t.speedup);
    if (std::find(models.begin(), models.end(), s.model) == models.end()) models.push_back(s.model);
  }
  double y_top = std::max(max_speedup, static_cast<double>(max_workers)) * 1.05;
  double min_workers = 1;
  auto x = [&](double w) {
    return max_workers == 1 ? (left + right) / 2 : left + (w - min_workers) / (max_workers - min_workers) * (right - left);
  };
  auto y = [&](double s) { return bottom - s / y_top * (bottom - top); };
  out += fmt::format(
      "<svg class=\"chart sweep\" data-program=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"speedup by workers for {}\">\n",
      escape(p.name), width, height, width, height, escape(p.name));
  double ystep = tick_step(y_top, 5);
  for (double s = 0; s <= y_top; s += ystep) {
    out += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", left, right, y(s), y(s));
    out += fmt::format("<text class=\"tick y\" x=\"{:.1f}\" y=\"{:.1f}\">{}x</text>\n", left - 6, y(s) + 4, s);
  }
  long long xstep = std::max<long long>(1, max_workers / 8);
  for (long long w = 1; w <= max_workers; w += xstep)
    out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>", x(static_cast<double>(w)), bottom + 16, w);
  out += fmt::format("<text class=\"axis-title\" x=\"{:.1f}\" y=\"{:.1f}\">workers</text>\n", (left + right) / 2, bottom + 32);
  out += fmt::format(
      "<line class=\"ideal\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"><title>ideal: speedup = "
      "workers</title></line>\n",
      x(1), y(1), x(static_cast<double>(max_workers)), y(static_cast<double>(max_workers)));
  double legend_y = top + 6;
  for (const std::string& model : models) {
    std::vector<const SweepPoint*> points;
    for (const SweepPoint& s : p.sweep)
      if (s.model == model) points.push_back(&s);
    std::stable_sort(points.begin(), points.end(), [](auto* a, auto* b) { return a->workers < b->workers; });
    std::string path;
    for (const SweepPoint* s : points)
      path += fmt::format("{:.1f},{:.1f} ", x(static_cast<double>(s->workers)), y(s->t.speedup));
    out += fmt::format("<g class=\"series\" data-model=\"{}\"><polyline class=\"line\" points=\"{}\" stroke=\"{}\"/>",
                       escape(model), path, model_colour(model));
    // The speedup's range from the entry's min…max: sequential's median is speedup × median.
    for (const SweepPoint* s : points)
      if (s->t.min > 0 && s->t.max > 0) {
        double reference = s->t.speedup * s->t.median;
        double px = x(static_cast<double>(s->workers));
        out += fmt::format("<line class=\"range\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>",
                           px, y(reference / s->t.max), y(reference / s->t.min), model_colour(model));
      }
    for (const SweepPoint* s : points)
      out += fmt::format(
          "<circle class=\"point\" data-model=\"{}\" data-workers=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" "
          "fill=\"{}\"><title>{} ×{}: {} ({}…{})</title></circle>",
          escape(model), s->workers, x(static_cast<double>(s->workers)), y(s->t.speedup), model_colour(model),
          escape(model), s->workers, escape(speedup_text(s->t.speedup)), escape(seconds_text(s->t.min)),
          escape(seconds_text(s->t.max)));
    out += "</g>\n";
    out += fmt::format(
        "<g class=\"legend\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1f}\" "
        "y=\"{:.1f}\">{}</text></g>\n",
        right + 20, legend_y - 10, model_colour(model), right + 38, legend_y, escape(model));
    legend_y += 18;
  }
  out += fmt::format(
      "<g class=\"legend\"><line class=\"ideal\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/><text "
      "x=\"{:.1f}\" y=\"{:.1f}\">ideal (linear)</text></g>\n",
      right + 20, right + 32, legend_y - 4, legend_y - 4, right + 38, legend_y);
  out += "</svg>\n";
}

// Task slices are coloured by their name (the task), so interleaved coroutine steps alternate.
std::string slice_colour(std::string_view name) {
  static constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948"};
  std::size_t h = 0;
  for (char c : name) h = h * 131 + static_cast<unsigned char>(c);
  return kPalette[h % std::size(kPalette)];
}

struct Drawn {
  double start, end;
  std::string name;  // empty when merged from several tasks
  std::size_t count;
};

// Slices narrower than a pixel would make a huge page of invisible rects: neighbours of the same
// task closer than half a pixel merge; if a lane still has too many, neighbours merge regardless of task.
std::vector<Drawn> coalesce(const std::vector<Slice>& slices, bool gil, double px_per_us) {
  constexpr std::size_t kMaxRects = 1500;
  auto pass = [&](bool by_task) {
    std::vector<Drawn> out;
    for (const Slice& s : slices) {
      if (s.gil != gil) continue;
      if (!out.empty() && (s.ts - out.back().end) * px_per_us < 0.5 && (!by_task || out.back().name == s.name)) {
        out.back().end = std::max(out.back().end, s.ts + s.dur);
        if (out.back().name != s.name) out.back().name.clear();
        ++out.back().count;
      } else {
        out.push_back({s.ts, s.ts + s.dur, s.name, 1});
      }
    }
    return out;
  };
  auto drawn = pass(true);
  return drawn.size() > kMaxRects ? pass(false) : drawn;
}

void draw_timeline(std::string& out, long long pid, const Timeline& t, const Case& c) {
  const double left = 120, right = 720, width = 760, lane_height = 26, top = 8;
  double start = 0, end = 0;
  bool any_gil = false;
  std::size_t tasks = 0;
  for (const auto& [tid, lane] : t.lanes)
    for (const Slice& s : lane.slices) {
      end = std::max(end, s.ts + s.dur);
      start = std::min(start, s.ts);
      any_gil = any_gil || s.gil;
      tasks += s.gil ? 0 : 1;
    }
  if (end <= start) end = start + 1;
  double px_per_us = (right - left) / (end - start);
  auto x = [&](double us) { return left + (us - start) * px_per_us; };
  double height = top + lane_height * static_cast<double>(t.lanes.size()) + 30;
  out += fmt::format(
      "<figure class=\"timeline-figure\"><figcaption>{} — {} lane{}, {} task slice{}",
      escape(t.name.empty() ? case_label(c) : t.name), t.lanes.size(), t.lanes.size() == 1 ? "" : "s", tasks,
      tasks == 1 ? "" : "s");
  if (t.lanes.size() > 1)
    out += fmt::format("; two or more lanes busy at once {} of the time",
                       escape(percent_text(overlap_fraction(t, start, end))));
  if (any_gil) {
    GilStats g = gil_stats(t);
    out += fmt::format("; the GIL changed hands {} times in {} holds (median hold {})", g.handoffs, g.holds,
                       escape(seconds_text(g.median_hold_us / 1e6)));
  }
  out += "</figcaption>\n";
  out += fmt::format(
      "<svg class=\"timeline\" data-pid=\"{}\" data-model=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"timeline of {}\">\n",
      pid, escape(c.model), width, height, width, height, escape(case_label(c)));
  double axis_y = top + lane_height * static_cast<double>(t.lanes.size()) + 2;
  double step = tick_step((end - start) / 1e6, 6);
  for (double s = 0; s * 1e6 <= end - start + 1e-9; s += step) {
    out += fmt::format("<line class=\"grid\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>",
                       x(start + s * 1e6), top - 4, axis_y);
    out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x(start + s * 1e6), axis_y + 14,
                       escape(seconds_text(s)));
  }
  std::size_t i = 0;
  for (const auto& [tid, lane] : t.lanes) {
    double y = top + lane_height * static_cast<double>(i++);
    std::string name = lane.name.empty() ? fmt::format("tid {}", tid) : lane.name;
    out += fmt::format("<g class=\"lane\" data-tid=\"{}\" data-slices=\"{}\">", tid, lane.slices.size());
    out += fmt::format("<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>", left - 8, y + 13, escape(name));
    double task_height = any_gil ? 14 : 18;
    for (const Drawn& d : coalesce(lane.slices, false, px_per_us)) {
      std::string title = d.count == 1 ? d.name : fmt::format("{} slices", d.count);
      out += fmt::format(
          "<rect class=\"slice task\" x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{}\" fill=\"{}\"><title>{}: "
          "{} at {}</title></rect>",
          x(d.start), y, std::max(0.5, (d.end - d.start) * px_per_us), task_height,
          d.name.empty() ? "#888" : slice_colour(d.name), escape(title), escape(seconds_text((d.end - d.start) / 1e6)),
          escape(seconds_text((d.start - start) / 1e6)));
    }
    if (any_gil)
      for (const Drawn& d : coalesce(lane.slices, true, px_per_us))
        out += fmt::format(
            "<rect class=\"slice gil\" x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"5\"><title>holds the GIL "
            "for {}</title></rect>",
            x(d.start), y + 16, std::max(0.5, (d.end - d.start) * px_per_us), escape(seconds_text((d.end - d.start) / 1e6)));
    out += "</g>\n";
  }
  out += "</svg></figure>\n";
}

// ---------------------------------------------------------------------------------------------
// The "which model when" summary: every sentence is computed from the numbers above it.

struct SummaryLine {
  std::string program;  // empty: about the whole run
  std::string kind;     // fastest | gil | coroutines | slower | sweep | python | machine | warnings | by-kind
  std::string text;
};

std::vector<SummaryLine> summarize(const Results& r, const std::map<long long, Timeline>& timelines) {
  std::vector<SummaryLine> lines;
  std::map<std::string, std::vector<std::string>> fastest_by_kind;  // kind → "model (program)"
  for (const Program& p : r.programs) {
    auto order = by_median(p);
    const Case* seq = sequential_case(p);
    if (order.empty()) {
      lines.push_back({p.name, "fastest", fmt::format("{}: no case was measured.", p.title)});
      continue;
    }
    const Case* best = order[0];
    std::string text = fmt::format("{}: {} was fastest, {} median", p.title, case_label(*best), seconds_text(best->t.median));
    if (seq && best != seq) text += fmt::format(", {} over sequential", speedup_text(best->t.speedup));
    if (order.size() > 1) {
      const Case* next = order[1];
      double ratio = best->t.median > 0 ? next->t.median / best->t.median : 1;
      text += fmt::format("; next {} at {} ({} slower)", case_label(*next), seconds_text(next->t.median),
                          ratio >= 2 ? fmt::format("{:.1f}x", ratio) : percent_text(ratio - 1));
      if (next->t.min <= best->t.max) text += " — their min…max ranges overlap, so this run cannot tell them apart";
    }
    lines.push_back({p.name, "fastest", text + "."});
    fastest_by_kind[p.kind].push_back(fmt::format("{} ({})", best->model, p.name));

    if (const Case* gil = find_case(p, "threads-gil"); gil && seq) {
      bool none = gil->t.speedup <= kNoSpeedup;
      std::string verdict;
      if (p.kind == "io")
        verdict = none ? fmt::format("threads-gil gave no speedup on {} ({}), although the GIL is released while waiting.",
                                     p.name, speedup_text(gil->t.speedup))
                       : fmt::format("threads-gil kept {}'s I/O concurrency ({} with {}): the GIL is released "
                                     "while a thread waits.",
                                     p.name, speedup_text(gil->t.speedup), workers_text(gil->workers));
      else
        verdict = none ? fmt::format("threads-gil gave no speedup on {} ({} with {}): one thread computes at a "
                                     "time, as under CPython's GIL.",
                                     p.name, speedup_text(gil->t.speedup), workers_text(gil->workers))
                       : fmt::format("threads-gil gave {} on {} with {}, more than the {} a GIL allows for "
                                     "CPU-bound work; see the warnings about load.",
                                     speedup_text(gil->t.speedup), p.name, workers_text(gil->workers), speedup_text(kNoSpeedup));
      lines.push_back({p.name, "gil", verdict});
      // The seed's picture of the GIL, counted from the trace: who held it, and for how long.
      auto traced = gil->trace_pid ? timelines.find(*gil->trace_pid) : timelines.end();
      if (traced != timelines.end())
        if (GilStats g = gil_stats(traced->second); g.holds > 0)
          lines.push_back({p.name, "gil-trace",
                           fmt::format("In its traced run of {} the GIL changed hands {} times in {} holds, a median "
                                       "hold of {}.",
                                       p.name, g.handoffs, g.holds, seconds_text(g.median_hold_us / 1e6))});
    }
    if (const Case* co = find_case(p, "coroutines"); co && seq && p.kind == "cpu" && co->t.speedup <= kNoSpeedup)
      lines.push_back({p.name, "coroutines",
                       fmt::format("coroutines gave no speedup on {} ({}): one event-loop thread runs CPU-bound steps one "
                                   "after another.",
                                   p.name, speedup_text(co->t.speedup))});
    if (seq)
      for (const Case& c : p.cases)
        if (&c != seq && c.t.speedup > 0 && c.t.speedup < 1 && c.model != "threads-gil" &&
            !(c.model == "coroutines" && p.kind == "cpu"))
          lines.push_back({p.name, "slower",
                           fmt::format("{} was slower than sequential on {} ({}): its overhead outweighed the work.",
                                       case_label(c), p.name, speedup_text(c.t.speedup))});

    std::vector<std::string> sweep_models;
    for (const SweepPoint& s : p.sweep)
      if (std::find(sweep_models.begin(), sweep_models.end(), s.model) == sweep_models.end()) sweep_models.push_back(s.model);
    for (const std::string& model : sweep_models) {
      const SweepPoint* top = nullptr;
      for (const SweepPoint& s : p.sweep)
        if (s.model == model && (!top || s.t.speedup > top->t.speedup)) top = &s;
      lines.push_back({p.name, "sweep",
                       fmt::format("{} on {} peaked at {} with {} ({} of linear).", model, p.name,
                                   speedup_text(top->t.speedup), workers_text(top->workers),
                                   percent_text(top->t.speedup / static_cast<double>(std::max(1LL, top->workers))))});
    }
  }
  for (const auto& [kind, winners] : fastest_by_kind) {
    std::string list;
    for (const auto& w : winners) list += (list.empty() ? "" : ", ") + w;
    lines.push_back({"", "by-kind",
                     fmt::format("{} work in this run: fastest was {}.", kind == "io" ? "I/O-bound" : kind == "cpu" ? "CPU-bound" : kind, list)});
  }
  if (r.python) {
    std::size_t compared = 0, agreed = 0;
    for (const PythonCase& pc : r.python->cases) {
      if (pc.model == "sequential") continue;
      auto t = tandem_timing(r, pc);
      if (!t || pc.t.speedup <= 0) continue;
      ++compared;
      double diff = t->speedup / pc.t.speedup - 1;
      bool agree = std::fabs(diff) <= kAgreement;
      agreed += agree ? 1 : 0;
      lines.push_back({pc.program, "python",
                       fmt::format("{} {} on CPython gave {}, tandem's {} {} ({:+.0f}%): {}.", pc.program, pc.model,
                                   speedup_text(pc.t.speedup), tandem_model_for_python(pc.model),
                                   speedup_text(t->speedup), diff * 100,
                                   agree ? "they agree within 15 %" : "they differ by more than 15 %")});
    }
    if (compared > 0)
      lines.push_back({"", "python",
                       fmt::format("The emulation agreed with CPython within 15 % on {} of {} comparisons.", agreed, compared)});
  }
  const Machine& m = r.machine;
  if (m.cores && ((m.load_start && *m.load_start > static_cast<double>(*m.cores)) ||
                  (m.load_end && *m.load_end > static_cast<double>(*m.cores))))
    lines.push_back({"", "machine",
                     fmt::format("The machine was loaded (load average {:.2f} → {:.2f} on {} cores): other programs "
                                 "competed, so treat the speedups as rough.",
                                 m.load_start.value_or(0), m.load_end.value_or(0), *m.cores)});
  std::size_t cases = 0, warned = 0;
  for (const Program& p : r.programs)
    for (const Case& c : p.cases) {
      ++cases;
      warned += c.warnings.empty() ? 0 : 1;
    }
  if (warned > 0)
    lines.push_back({"", "warnings",
                     fmt::format("{} of {} cases carried warnings (listed under their charts).", warned, cases)});
  return lines;
}

// ---------------------------------------------------------------------------------------------

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 980px;
       color: #222; background: #fff; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.meta { color: #555; font-size: 0.9em; }
svg { display: block; margin: 0.5em 0; font-size: 12px; }
svg text { fill: #333; } svg .label { text-anchor: end; } svg .tick { text-anchor: middle; fill: #666; font-size: 11px; }
svg .tick.y { text-anchor: end; } svg .axis-title { text-anchor: middle; fill: #666; }
svg .grid { stroke: #eee; } svg .whisker line { stroke: #222; stroke-width: 1.5; }
svg .line { fill: none; stroke-width: 2; } svg .ideal { stroke: #999; stroke-dasharray: 5 4; stroke-width: 1.5; }
svg .slice.gil { fill: #d62728; } svg .range { stroke-width: 1.5; opacity: 0.6; }
svg.latency-scale { display: inline; margin: 0; background: #f4f4f4; } .latency-bar { fill: #4e79a7; }
.seed-mark { stroke: #d62728; stroke-width: 2; } svg .speedup { font-weight: 600; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #444; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; } td { white-space: nowrap; } td:first-child { white-space: normal; } th:first-child, td:first-child { text-align: left; }
.warnings { color: #a15c00; font-size: 0.9em; } .agree { color: #2a7d2a; } .differ { color: #b22; }
.summary li { margin: 0.3em 0; } .note { color: #777; font-style: italic; }
)";

void render_header(std::string& out, const Results& r) {
  out += "<h1>tandem lab report</h1>\n<p class=\"meta\">";
  std::vector<std::string> parts;
  // As `tandem --version` prints it ("tandem 0.1.0"), or the bare number.
  if (!r.version.empty()) parts.push_back(escape(r.version.starts_with("tandem") ? r.version : "tandem " + r.version));
  if (!r.created.empty()) parts.push_back(escape(r.created));
  if (r.runs) parts.push_back(fmt::format("{} runs per case", *r.runs) + (r.warmup ? fmt::format(" after {} warmup", *r.warmup) : ""));
  if (r.quick) parts.push_back("quick run");
  const Machine& m = r.machine;
  if (m.cores) parts.push_back(fmt::format("{} cores", *m.cores));
  if (!m.cpu_model.empty()) parts.push_back(escape(m.cpu_model) + (m.cpu_mhz ? fmt::format(" at {:.0f} MHz", *m.cpu_mhz) : ""));
  if (m.load_start || m.load_end)
    parts.push_back(fmt::format("load average {:.2f} → {:.2f}", m.load_start.value_or(0), m.load_end.value_or(0)));
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? " · " : "") + parts[i];
  out += "</p>\n";
}

void render_warnings(std::string& out, const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  out += "<ul class=\"warnings\">";
  for (const std::string& w : warnings) out += fmt::format("<li>{}</li>", escape(w));
  out += "</ul>\n";
}

// One line per distinct warning, naming the cases it applies to; a warning about the whole run (the
// load average) is said once at the top, not under every case.
void render_case_warnings(std::string& out, const Program& p, const std::vector<std::string>& run_warnings) {
  std::vector<std::pair<std::string, std::string>> by_text;  // warning → the cases, in order of first appearance
  for (const Case& c : p.cases)
    for (const std::string& w : c.warnings) {
      if (std::find(run_warnings.begin(), run_warnings.end(), w) != run_warnings.end()) continue;
      auto it = std::find_if(by_text.begin(), by_text.end(), [&](const auto& e) { return e.first == w; });
      if (it == by_text.end())
        by_text.emplace_back(w, case_label(c));
      else
        it->second += ", " + case_label(c);
    }
  std::vector<std::string> lines;
  for (const auto& [text, cases] : by_text) lines.push_back(cases + ": " + text);
  render_warnings(out, lines);
}

void render_program(std::string& out, const Program& p, const std::map<long long, Timeline>& timelines,
                    const std::vector<std::string>& run_warnings) {
  out += fmt::format("<section class=\"program\" id=\"program-{}\" data-program=\"{}\" data-kind=\"{}\">\n<h2>{}</h2>\n",
                     slug(p.name), escape(p.name), escape(p.kind), escape(p.title));
  if (p.cases.empty()) {
    out += "<p class=\"note\">No case was measured.</p>\n</section>\n";
    return;
  }
  out += "<h3>Median time per model (bars), min…max (whiskers), speedup over sequential</h3>\n";
  draw_cases_chart(out, p);
  render_case_warnings(out, p, run_warnings);
  if (!p.sweep.empty()) {
    out += "<h3>Workers sweep: speedup over sequential, beside the ideal</h3>\n";
    draw_sweep_chart(out, p);
  }
  bool heading = false;
  for (const Case& c : p.cases) {
    if (!c.trace_pid) continue;
    if (!heading) out += "<h3>Timelines: one lane per worker thread, worker process or event loop</h3>\n";
    heading = true;
    auto it = timelines.find(*c.trace_pid);
    if (it == timelines.end() || it->second.lanes.empty())
      out += fmt::format("<p class=\"note\">{}: trace.json has no events for pid {}.</p>\n", escape(case_label(c)), *c.trace_pid);
    else
      draw_timeline(out, *c.trace_pid, it->second, c);
  }
  out += "</section>\n";
}

void open_table(std::string& out, const char* cls, std::initializer_list<const char*> columns) {
  out += fmt::format("<table class=\"{}\"><thead><tr>", cls);
  for (const char* c : columns) out += fmt::format("<th>{}</th>", escape(c));
  out += "</tr></thead><tbody>\n";
}

void render_latency(std::string& out, const Results& r) {
  out += "<section class=\"latency\" id=\"latency\">\n<h2>Latency numbers, measured on this machine</h2>\n";
  if (r.latency.empty()) {
    out += "<p class=\"note\">This run measured no latency rows.</p>\n</section>\n";
    return;
  }
  open_table(out, "latency",
             {"operation", "this machine", "min…max", "seed's figure", "this / seed", "instructions",
              "log scale, 1 ns…1 s"});
  for (const LatencyRow& row : r.latency) {
    out += fmt::format("<tr class=\"latency-row\"><td>{}</td><td>{}</td><td>{}…{}</td><td>{}</td><td>{}</td><td>{}</td>",
                       escape(row.name), escape(ns_text(row.median)), escape(ns_text(row.min)), escape(ns_text(row.max)),
                       row.seed ? escape(ns_text(*row.seed)) : "–",
                       row.seed ? fmt::format("{:.2g}x", row.median / *row.seed) : "–",
                       row.instructions ? fmt::format("{:.0f}", *row.instructions) : "–");
    // Nine decades, 1 ns to 1 s: the seed's table spans them, and a log scale is how it is read.
    constexpr double kScaleWidth = 160;
    auto at = [&](double ns) { return std::clamp(std::log10(std::max(ns, 1.0)) / 9.0, 0.0, 1.0) * kScaleWidth; };
    out += fmt::format("<td><svg class=\"latency-scale\" width=\"{0}\" height=\"14\" viewBox=\"0 0 {0} 14\">"
                       "<rect class=\"latency-bar\" x=\"0\" y=\"3\" width=\"{1:.1f}\" height=\"8\"/>",
                       kScaleWidth, std::max(1.0, at(row.median)));
    if (row.seed)
      out += fmt::format("<line class=\"seed-mark\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"0\" y2=\"14\"/>", at(*row.seed));
    out += "</svg></td></tr>\n";
  }
  out += "</tbody></table>\n<p class=\"meta\">Instructions: the median time × this CPU's clock, the seed's way of "
         "counting. The last column puts this machine's median (bar) beside the seed's figure (red mark) on one "
         "log scale.</p>\n";
  std::vector<std::string> latency_only;  // the run's own warnings are said at the top
  for (const std::string& w : r.latency_warnings)
    if (std::find(r.warnings.begin(), r.warnings.end(), w) == r.warnings.end()) latency_only.push_back(w);
  render_warnings(out, latency_only);
  out += "</section>\n";
}

void render_python(std::string& out, const Results& r) {
  if (!r.python) return;
  const Python& py = *r.python;
  out += "<section class=\"python\" id=\"python\">\n<h2>Checked against CPython</h2>\n";
  out += fmt::format("<p class=\"meta\">CPython {} ({}) ran the seeds' programs on the same machine. The emulated GIL "
                     "is credible only if tandem's speedups agree with CPython's within 15 %.</p>\n",
                     escape(py.version), escape(py.interpreter));
  if (py.cases.empty()) {
    out += "<p class=\"note\">No CPython case was run.</p>\n</section>\n";
    return;
  }
  open_table(out, "python", {"program", "CPython model", "workers", "CPython median", "CPython speedup", "tandem model",
                             "tandem speedup", "verdict"});
  for (const PythonCase& pc : py.cases) {
    auto t = tandem_timing(r, pc);
    std::string tandem_speedup = t ? speedup_text(t->speedup) : "not measured";
    std::string verdict = "–", cls;
    if (pc.model == "sequential") {
      verdict = "baseline";
    } else if (t && pc.t.speedup > 0) {
      double diff = t->speedup / pc.t.speedup - 1;
      bool agree = std::fabs(diff) <= kAgreement;
      verdict = fmt::format("{} ({:+.0f}%)", agree ? "agrees" : "differs", diff * 100);
      cls = agree ? "agree" : "differ";
    }
    out += fmt::format(
        "<tr class=\"python-row\" data-program=\"{}\" data-model=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
        escape(pc.program), escape(pc.model), escape(pc.program), escape(pc.model), pc.workers,
        escape(seconds_text(pc.t.median)), pc.t.speedup > 0 ? escape(speedup_text(pc.t.speedup)) : "–",
        escape(tandem_model_for_python(pc.model)),
        escape(tandem_speedup), cls, escape(verdict));
  }
  out += "</tbody></table>\n";
  std::vector<std::string> warnings;
  for (const PythonCase& pc : py.cases)
    for (const std::string& w : pc.warnings) warnings.push_back(fmt::format("CPython {} {}: {}", pc.program, pc.model, w));
  render_warnings(out, warnings);
  out += "</section>\n";
}

void render_summary(std::string& out, const Results& r, const std::map<long long, Timeline>& timelines) {
  out += "<section class=\"summary\" id=\"summary\">\n<h2>Which model when (from this run's numbers)</h2>\n<ul class=\"summary\">\n";
  auto lines = summarize(r, timelines);
  if (lines.empty()) out += "<li class=\"summary-line note\">This run measured nothing to compare.</li>\n";
  for (const SummaryLine& l : lines)
    out += fmt::format("<li class=\"summary-line\" data-kind=\"{}\" data-program=\"{}\">{}</li>\n", escape(l.kind),
                       escape(l.program), escape(l.text));
  out += "</ul>\n</section>\n";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ReportError(fmt::format("{}: cannot open it for reading", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ReportError(fmt::format("{}: read error", path.string()));
  return text.str();
}

}  // namespace

std::string render_report(std::string_view results_json, std::string_view trace_json) {
  Results r;
  std::map<long long, Timeline> timelines;
  try {
    r = parse_results(results_json);
    timelines = parse_trace(trace_json);
  } catch (const json::exception& e) {  // a type the Reader did not anticipate
    throw ReportError(fmt::format("report: unexpected JSON: {}", e.what()));
  }
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>tandem lab report</title>\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>";
  out += kStyle;
  out += "</style></head>\n<body>\n";
  render_header(out, r);
  render_warnings(out, r.warnings);
  out += "<nav class=\"meta\">";
  for (const Program& p : r.programs)
    out += fmt::format("<a href=\"#program-{}\">{}</a> · ", slug(p.name), escape(p.name));
  out += "<a href=\"#latency\">latency</a>";
  if (r.python) out += " · <a href=\"#python\">CPython</a>";
  out += " · <a href=\"#summary\">which model when</a></nav>\n";
  render_summary(out, r, timelines);
  for (const Program& p : r.programs) render_program(out, p, timelines, r.warnings);
  if (r.programs.empty()) out += "<p class=\"note\">results.json lists no programs.</p>\n";
  render_latency(out, r);
  render_python(out, r);
  out += "</body></html>\n";
  return out;
}

void write_report(const std::filesystem::path& results_json, const std::filesystem::path& trace_json,
                  const std::filesystem::path& html_out) {
  std::string results = read_file(results_json);
  std::string trace = read_file(trace_json);
  std::string html;
  try {
    html = render_report(results, trace);
  } catch (const ReportError& e) {
    // Name the files as given (the messages say results.json / trace.json).
    throw ReportError(fmt::format("{} ({}, {})", e.what(), results_json.string(), trace_json.string()));
  }
  std::ofstream out(html_out, std::ios::binary | std::ios::trunc);
  if (!out) throw ReportError(fmt::format("{}: cannot open it for writing", html_out.string()));
  out << html;
  out.flush();
  if (!out) throw ReportError(fmt::format("{}: write error", html_out.string()));
}

}  // namespace tandem::lab
